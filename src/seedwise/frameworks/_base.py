"""The protocol every framework adapter follows, and the records it returns."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Setting", "State", "module_available", "distribution_version", "require"]


@dataclass(frozen=True)
class Setting:
    """One thing seedwise did (or could not do) to a framework's global state.

    Attributes:
        framework: the adapter's name.
        name: what was set, e.g. ``"torch.manual_seed"`` or ``"CUBLAS_WORKSPACE_CONFIG"``.
        value: the value it now has, as text.
        ok: False when the setting could not take effect.
        note: why not, and how to fix it; or a remark.
    """

    framework: str
    name: str
    value: str
    ok: bool = True
    note: str = ""


@dataclass
class State:
    """A framework's captured RNG state: arrays plus JSON-ready metadata (never pickled)."""

    framework: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def module_available(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def distribution_version(dist: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def require(module: str, extra: str, feature: str) -> Any:
    """Import ``module``, or raise :class:`~seedwise.errors.MissingDependencyError` naming ``extra``."""
    import importlib

    from seedwise.errors import MissingDependencyError

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(module, extra, feature) from None
