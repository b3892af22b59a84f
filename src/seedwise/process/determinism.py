"""Deterministic kernels across frameworks, with a report of what could not be made so.

This changes process-wide state (that is its job): ``torch.use_deterministic_algorithms``,
cuDNN flags, ``CUBLAS_WORKSPACE_CONFIG``, TensorFlow's op determinism and JAX's XLA
flags. Some settings only take effect if made before a library initialises its device
backend; the report says which ones came too late and how to set them instead.

Like :func:`~seedwise.process.seeding.seed_everything`, it touches only the frameworks
already imported in the process (Python and NumPy have no switches), or exactly those
named in ``frameworks=``; it never imports a framework on its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from seedwise._validate import check_bool
from seedwise.process._environ import reporting_environment
from seedwise.process.adapters import adapter, resolve_frameworks, select
from seedwise.process.settings import Setting, SettingsReport

__all__ = ["DeterminismReport", "deterministic", "resolve_frameworks", "apply_determinism"]


class DeterminismReport(SettingsReport):
    """The determinism settings made, as :class:`~seedwise.process.settings.Setting` records."""


def apply_determinism(enable: bool, names: Iterable[str]) -> list[Setting]:
    """Switch deterministic kernels on or off in the adapters ``names`` (already selected)."""
    settings: list[Setting] = []
    for name in names:
        module = adapter(name)
        rows: list[Setting] = []
        with reporting_environment(module, rows):
            rows.extend(module.deterministic(enable))
        settings.extend(rows)
    return settings


def deterministic(enable: bool = True, *, frameworks: Iterable[str] | None = None) -> DeterminismReport:
    """Switch deterministic kernels on (or off) in every framework in use, or in those named.

    Process-wide; not a context manager, because several of these switches cannot be
    undone once a device backend has started. By default only frameworks already imported
    are touched; a framework that is installed but not imported, or named but not
    installed, is listed as skipped, with how to include it.
    """
    enable = check_bool("enable", enable)
    selection = select(frameworks)
    report = DeterminismReport(f"seedwise deterministic mode: {'on' if enable else 'off'}")
    report.settings.extend(selection.skipped.values())
    report.settings.extend(apply_determinism(enable, selection.names))
    return report
