"""NumPy's legacy global RNG (``np.random.seed`` / ``np.random.rand``)."""

from __future__ import annotations

import numpy as np

from seedwise.process.settings import Setting, State

NAME = "numpy"


def available() -> bool:
    return True


def imported() -> bool:
    """Always: seedwise itself imports NumPy."""
    return True


def version() -> str:
    return np.__version__


def seed(seed: int) -> list[Setting]:
    # The legacy global RandomState takes a 32-bit seed: fold the 64 bits in.
    folded = (seed ^ (seed >> 32)) & 0xFFFFFFFF
    np.random.seed(folded)  # noqa: NPY002  (global-rng-ok: this function's job is the global state)
    return [Setting(NAME, "np.random.seed", str(folded), note="legacy global RandomState (32-bit seed)")]


def capture() -> State:
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002  (global-rng-ok)
    return State(
        NAME,
        arrays={"keys": np.asarray(keys, dtype=np.uint32)},
        meta={"name": name, "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
    )


def restore(state: State) -> None:
    m = state.meta
    np.random.set_state(  # noqa: NPY002  (global-rng-ok)
        (m["name"], np.asarray(state.arrays["keys"], dtype=np.uint32), m["pos"], m["has_gauss"], m["cached_gaussian"])
    )


def deterministic(enable: bool) -> list[Setting]:
    return []
