"""PyTensor (Theano's successor): no global random state.

Each PyTensor random variable owns a shared NumPy ``Generator`` that a compiled function
advances; Theano users also seeded NumPy's global RNG for the initial weights, which the
``numpy`` adapter does. So :func:`seed`, :func:`capture`, :func:`restore` and
:func:`deterministic` change nothing (the first one says why); seeded random streams
come from ``Seeds.pytensor()`` and :mod:`seedwise.frameworks.pytensor`. Nothing here
imports PyTensor.
"""

from __future__ import annotations

import sys

from seedwise._optional import distribution_version, module_available
from seedwise.process.settings import Setting, State

__all__ = ["NAME", "available", "imported", "version", "seed", "capture", "restore", "deterministic"]

NAME = "pytensor"


def available() -> bool:
    return module_available("pytensor")


def imported() -> bool:
    return sys.modules.get("pytensor") is not None


def version() -> str | None:
    return distribution_version("pytensor") if available() else None


def seed(seed: int) -> list[Setting]:
    """PyTensor has no global RNG to seed; the returned setting says what to do instead."""
    return [
        Setting(
            NAME,
            "global RNG",
            "none",
            note="PyTensor has no global random state (NumPy's, which Theano code used for weights, is "
            "seeded by the numpy adapter); make random variables from Seeds.pytensor() or "
            "seedwise.frameworks.pytensor.shared_rng",
        )
    ]


def capture() -> State:
    """An empty state: PyTensor keeps no global random state."""
    return State(NAME)


def restore(state: State) -> None:
    """Nothing to restore (see :func:`capture`)."""


def deterministic(enable: bool) -> list[Setting]:
    """Nothing to switch: PyTensor's CPU kernels are deterministic."""
    return []
