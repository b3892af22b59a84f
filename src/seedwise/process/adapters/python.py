"""Python's ``random`` module and hash seed."""

from __future__ import annotations

import os
import platform
import random

import numpy as np

from seedwise.process.settings import Setting, State

NAME = "python"


def available() -> bool:
    return True


def imported() -> bool:
    """Always: Python's ``random`` is seeded in every process."""
    return True


def version() -> str:
    return platform.python_version()


def seed(seed: int) -> list[Setting]:
    random.seed(seed)  # global-rng-ok: this function's job is the global state
    settings = [Setting(NAME, "random.seed", str(seed))]
    current = os.environ.get("PYTHONHASHSEED")
    if current is None or current == "random":
        settings.append(
            Setting(
                NAME,
                "PYTHONHASHSEED",
                str(current),
                ok=False,
                note="str/bytes hashing (set iteration order) is fixed at interpreter start; "
                "run with PYTHONHASHSEED=0 set in the environment to fix it",
            )
        )
    else:
        settings.append(Setting(NAME, "PYTHONHASHSEED", current, note="set at interpreter start"))
    return settings


def capture() -> State:
    version_, internal, gauss_next = random.getstate()
    return State(
        NAME,
        arrays={"mt": np.asarray(internal, dtype=np.uint32)},
        meta={"version": version_, "gauss_next": gauss_next},
    )


def restore(state: State) -> None:
    internal = tuple(int(v) for v in state.arrays["mt"])
    random.setstate((int(state.meta["version"]), internal, state.meta["gauss_next"]))  # global-rng-ok


def deterministic(enable: bool) -> list[Setting]:
    return []
