"""One adapter module per library whose global RNG seedwise seeds, captures and restores.

Every adapter module has the same small protocol (:class:`Adapter`):

``NAME``                      short name ("python", "numpy", "torch", "tensorflow", "jax", "pytensor")
``available() -> bool``       whether the library can be imported (never imports it to find out)
``imported() -> bool``        whether it is imported in this process (only then can its global state be in use)
``version() -> str | None``   its version, None when absent
``seed(seed: int) -> list[Setting]``         seed its global RNG(s) from a 64-bit int
``capture() -> State``                        its global RNG state as arrays + JSON metadata
``restore(state: State) -> None``             put a captured state back
``deterministic(enable: bool) -> list[Setting]``  switch deterministic kernels on/off

Which adapters a call touches is decided once, by :func:`select`: by default those whose
library is imported (Python's and NumPy's always are), so seedwise never imports a
framework on its own; a caller that names frameworks gets exactly those.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, cast

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.process.settings import Setting, State

__all__ = ["ADAPTERS", "Adapter", "Selection", "adapter", "installed", "resolve_frameworks", "select"]

#: Adapter names, in the order seedwise seeds them.
ADAPTERS = ("python", "numpy", "torch", "tensorflow", "jax", "pytensor")


class Adapter(Protocol):
    """The global-state protocol of one framework (see the module docstring)."""

    NAME: str

    def available(self) -> bool: ...
    def imported(self) -> bool: ...
    def version(self) -> str | None: ...
    def seed(self, seed: int) -> list[Setting]: ...
    def capture(self) -> State: ...
    def restore(self, state: State) -> None: ...
    def deterministic(self, enable: bool) -> list[Setting]: ...


def adapter(name: str) -> Adapter:
    """The adapter module for ``name`` (one of :data:`ADAPTERS`)."""
    if name not in ADAPTERS:
        raise InvalidArgumentError(f"unknown framework {name!r}; valid: {', '.join(ADAPTERS)}")
    return cast(Adapter, importlib.import_module(f"seedwise.process.adapters.{name}"))


def installed() -> list[str]:
    """The adapters whose library is installed."""
    return [name for name in ADAPTERS if adapter(name).available()]


def resolve_frameworks(frameworks: Iterable[str] | None) -> list[str]:
    """Validate a list of adapter names (a single str is one name); None means every adapter."""
    if frameworks is None:
        return list(ADAPTERS)
    if isinstance(frameworks, str):
        frameworks = [frameworks]
    try:
        names = list(frameworks)
    except TypeError:
        raise InvalidTypeError(
            f"frameworks must be a list of framework names (e.g. ['torch', 'tensorflow']) or None, "
            f"got {type(frameworks).__name__}"
        ) from None
    for name in names:
        adapter(name)  # raises InvalidArgumentError listing the valid names
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Selection:
    """The adapters a call considers, in order; those it skips map to a :class:`Setting` saying why."""

    order: tuple[str, ...]
    skipped: dict[str, Setting]

    @property
    def names(self) -> tuple[str, ...]:
        """The adapters to touch."""
        return tuple(name for name in self.order if name not in self.skipped)


def _not_installed(name: str) -> Setting:
    return Setting(name, "installed", "no", note=f"not installed: skipped (pip install 'seedwise[{name}]')")


def _not_imported(name: str) -> Setting:
    return Setting(
        name,
        "imported",
        "no",
        note=f"not imported: skipped (seedwise imports no framework itself); import {name} first, "
        f"or name it: frameworks=[..., {name!r}]",
    )


def select(frameworks: Iterable[str] | None) -> Selection:
    """Decide which adapters to touch: the named ones, or by default every imported one.

    A named framework that is not installed, and by default one that is installed but not
    imported, is skipped with a :class:`Setting` that says so and how to include it.
    """
    order = resolve_frameworks(frameworks)
    skipped: dict[str, Setting] = {}
    for name in order:
        module = adapter(name)
        if frameworks is None and module.imported() and module.available():
            continue  # in use (imported() first: a dict lookup, where available() searches sys.path)
        if not module.available():
            skipped[name] = _not_installed(name)
        elif frameworks is None:
            skipped[name] = _not_imported(name)
    return Selection(tuple(order), skipped)
