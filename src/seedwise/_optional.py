"""Optional dependencies: whether one is installed, its version, and importing it.

Finding out never imports the package (``importlib.util.find_spec`` and package metadata
only), so asking about TensorFlow costs microseconds, not seconds. :func:`require` imports
it or raises :class:`~seedwise.errors.MissingDependencyError` naming the extra to install.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import random
import sys
from types import ModuleType
from typing import Any

import numpy as np

from seedwise.errors import MissingDependencyError

__all__ = ["compiled", "distribution_version", "import_keeping_global_rngs", "module_available", "require"]


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


def compiled(module: str, name: str) -> Any:
    """``module.name``, one of seedwise's numba-compiled loops, or None when it cannot be
    imported (numba missing, or built against another NumPy); the callers then use their
    NumPy or torch forms, which give the same bits."""
    try:
        return getattr(importlib.import_module(module), name)
    except Exception:  # ImportError, or numba failing to load against this NumPy
        return None


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``, or raise :class:`~seedwise.errors.MissingDependencyError` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(module, extra, feature) from None


def import_keeping_global_rngs(module: str, extra: str, feature: str) -> ModuleType:
    """:func:`require` ``module``, then put Python's and NumPy's global RNG states back.

    Importing TensorFlow (and Keras) draws from both; undoing that here means a
    ``seed_everything`` that seeded them before the import, or an ``RNGState.restore`` that
    restored them first, is not undone by the import. An already imported module is
    returned as it is.
    """
    loaded = sys.modules.get(module)
    if loaded is not None:
        return loaded
    python_state = random.getstate()
    numpy_state = np.random.get_state()  # noqa: NPY002  (global-rng-ok: saved to undo the import's draws)
    try:
        return require(module, extra, feature)
    finally:
        random.setstate(python_state)  # global-rng-ok: undoes the import's draws
        np.random.set_state(numpy_state)  # noqa: NPY002  (global-rng-ok: see above)
