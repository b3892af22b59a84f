"""The global RNG states an audit captures, seeds and restores: those of the imported frameworks.

A private copy of "capture/seed/restore the global RNGs of the active adapters"; it moves
to the process-state package's shared API once that exists.
"""

from __future__ import annotations

import sys

from seedwise.frameworks import ADAPTERS, State, adapter

__all__ = ["active_adapters", "capture", "restore", "seed"]

# Which module must be imported for an adapter's global state to be in use.
_IMPORT_NAMES = {
    "python": "random",
    "numpy": "numpy",
    "torch": "torch",
    "tensorflow": "tensorflow",
    "jax": "jax",
    "pytensor": "pytensor",
}


def active_adapters() -> list[str]:
    """Adapters whose library is imported (a library not imported cannot have been drawn from)."""
    names = []
    for name in ADAPTERS:
        if _IMPORT_NAMES[name] not in sys.modules:
            continue
        try:
            module = adapter(name)
        except ImportError:  # an adapter this seedwise does not ship
            continue
        if module.available():
            names.append(name)
    return names


def capture(names: list[str]) -> dict[str, State]:
    """The global RNG states of the adapters ``names``."""
    return {name: adapter(name).capture() for name in names}


def restore(states: dict[str, State]) -> None:
    """Put back states from :func:`capture`."""
    for name, state in states.items():
        adapter(name).restore(state)


def seed(names: list[str], value: int) -> None:
    """Seed the global RNGs of the adapters ``names`` with ``value``."""
    for name in names:
        adapter(name).seed(value)
