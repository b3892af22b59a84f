"""The global RNGs of this process, captured, seeded and restored together.

The one place that walks the adapters for "every global RNG in use": by default the
adapters whose library is imported (Python's and NumPy's always are; a framework that is
not imported cannot have been drawn from, and touching it would import it). :func:`keyed
<seedwise.process.seeding.keyed>` is built on these; use them for any code that must put
the global RNGs back exactly as it found them::

    states = capture_global_rngs()
    try:
        seed_global_rngs(value)
        ...
    finally:
        restore_global_rngs(states)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from seedwise.process.adapters import ADAPTERS, adapter, select
from seedwise.process.settings import Setting, State

__all__ = ["active_frameworks", "capture_global_rngs", "seed_global_rngs", "restore_global_rngs"]


def active_frameworks() -> list[str]:
    """The adapters whose library is imported in this process (and installed), in seeding order."""
    names = []
    for name in ADAPTERS:
        module = adapter(name)
        if module.imported() and module.available():  # imported() first: it is a dict lookup
            names.append(name)
    return names


def _names(frameworks: Iterable[str] | None) -> list[str]:
    if frameworks is None:
        return active_frameworks()
    return list(select(frameworks).names)


def capture_global_rngs(frameworks: Iterable[str] | None = None) -> dict[str, State]:
    """The global RNG state of each active adapter (or of each one named that is installed)."""
    return {name: adapter(name).capture() for name in _names(frameworks)}


def seed_global_rngs(seed: int, frameworks: Iterable[str] | None = None) -> list[Setting]:
    """Seed each active adapter's global RNGs (or each named one's) from a 64-bit int."""
    settings: list[Setting] = []
    for name in _names(frameworks):
        settings.extend(adapter(name).seed(seed))
    return settings


def restore_global_rngs(states: Mapping[str, State]) -> None:
    """Put back states from :func:`capture_global_rngs`, in seeding order."""
    for name, state in states.items():
        adapter(name).restore(state)
