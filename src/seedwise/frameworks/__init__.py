"""One adapter module per library whose global RNG seedwise seeds, captures and restores.

Every adapter module has the same small protocol (see :mod:`seedwise.frameworks._base`):

``NAME``                      short name ("python", "numpy", "torch", "tensorflow", "jax", "pytensor")
``available() -> bool``       whether the library can be imported (never imports it to find out)
``version() -> str | None``   its version, None when absent
``seed(seed: int) -> list[Setting]``         seed its global RNG(s) from a 64-bit int
``capture() -> State``                        its global RNG state as arrays + JSON metadata
``restore(state: State) -> None``             put a captured state back
``deterministic(enable: bool) -> list[Setting]``  switch deterministic kernels on/off

Adapters are imported lazily; a library that is not installed is skipped by
:func:`seedwise.seed_everything` and reported as such.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from seedwise.frameworks._base import Setting, State

__all__ = ["ADAPTERS", "Setting", "State", "adapter", "installed"]

#: Adapter names, in the order seedwise seeds them.
ADAPTERS = ("python", "numpy", "torch", "tensorflow", "jax", "pytensor")


def adapter(name: str) -> ModuleType:
    """The adapter module for ``name`` (one of :data:`ADAPTERS`)."""
    if name not in ADAPTERS:
        from seedwise.errors import InvalidArgumentError

        raise InvalidArgumentError(f"unknown framework {name!r}; valid: {', '.join(ADAPTERS)}")
    return importlib.import_module(f"seedwise.frameworks.{name}")


def installed() -> list[str]:
    """The adapters whose library is installed."""
    return [name for name in ADAPTERS if adapter(name).available()]
