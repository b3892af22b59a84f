"""Deterministic kernels across frameworks, with a report of what could not be made so.

This changes process-wide state (that is its job): ``torch.use_deterministic_algorithms``,
cuDNN flags, ``CUBLAS_WORKSPACE_CONFIG``, TensorFlow's op determinism and JAX's XLA
flags. Some settings only take effect if made before a library initialises its device
backend; the report says which ones came too late and how to set them instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from seedwise._report import SettingsReport
from seedwise.frameworks import ADAPTERS, adapter

__all__ = ["DeterminismReport", "deterministic", "resolve_frameworks"]


class DeterminismReport(SettingsReport):
    """The determinism settings made, as :class:`~seedwise.frameworks.Setting` records."""


def resolve_frameworks(frameworks: Iterable[str] | None) -> list[str]:
    """Validate a list of adapter names; None means every adapter."""
    if frameworks is None:
        return list(ADAPTERS)
    if isinstance(frameworks, str):
        frameworks = [frameworks]
    names = list(frameworks)
    for name in names:
        adapter(name)  # raises InvalidArgumentError listing the valid names
    return names


def deterministic(enable: bool = True, *, frameworks: Iterable[str] | None = None) -> DeterminismReport:
    """Switch deterministic kernels on (or off) in every installed framework.

    Process-wide; not a context manager, because several of these switches cannot be
    undone once a device backend has started. Frameworks that are not installed are
    listed as skipped.
    """
    if not isinstance(enable, bool):
        from seedwise.errors import InvalidTypeError

        raise InvalidTypeError(f"enable must be True or False, got {enable!r}")
    report = DeterminismReport(f"seedwise deterministic mode: {'on' if enable else 'off'}")
    for name in resolve_frameworks(frameworks):
        module = adapter(name)
        if not module.available():
            continue
        report.settings.extend(module.deterministic(enable))
    return report
