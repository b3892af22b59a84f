"""Running the audited step: each run from a fresh global RNG state, the caller's restored after.

See :mod:`seedwise.audit` for why the runs start from *different* global states by
default (``global_rngs="vary"``) and what ``"same"`` isolates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from seedwise._validate import check_choice
from seedwise.audit._diff import snapshot
from seedwise.audit._global_rng import RNGUse, check_fn, compare_states
from seedwise.process.global_rngs import active_frameworks, capture_global_rngs, restore_global_rngs, seed_global_rngs
from seedwise.seeds import SeedLike, Seeds, as_seeds

__all__ = ["GLOBAL_RNG_MODES", "MAX_SHOWN", "GlobalRNGMode", "check_common", "hint_for", "run_fresh"]

GlobalRNGMode = Literal["vary", "same"]
#: How the global RNGs start each run (see the module docstring of :mod:`seedwise.audit`).
GLOBAL_RNG_MODES = ("vary", "same")
#: Rows a report shows before "... N more".
MAX_SHOWN = 20

# The streams the per-run global states are seeded from (fixed: an audit is repeatable).
_AUDIT_STREAM = Seeds(0)["seedwise.audit"]["global_rngs"]


def run_fresh(
    fn: Callable[[Seeds], Any],
    seeds: Seeds,
    runs: int,
    mode: str,
    before_run: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, Any]], list[RNGUse]]:
    """Call ``fn(seeds)`` ``runs`` times, each from a fresh global RNG state; restore the caller's.

    Returns each run's flattened snapshot of the result, and each global RNG's use
    ("drawn from" when any run drew from it).
    """
    caller = capture_global_rngs()
    snapshots: list[dict[str, Any]] = []
    used: dict[str, RNGUse] = {}
    try:
        for run in range(runs):
            names = active_frameworks()
            seed_global_rngs(int(_AUDIT_STREAM[run if mode == "vary" else 0]), names)
            if before_run is not None:
                before_run(run)
            before = capture_global_rngs(names)
            result = fn(seeds)
            snap: dict[str, Any] = {}
            snapshot(result, "result", snap)
            snapshots.append(snap)
            for use in compare_states(before, capture_global_rngs()):
                if use.rng not in used or use.used:
                    used[use.rng] = use
    finally:
        restore_global_rngs(caller)
    return snapshots, list(used.values())


def check_common(fn: object, seeds: SeedLike, mode: object) -> Seeds:
    """Validate what every audit takes: a callable, a mode; return the seeds as a :class:`Seeds`."""
    check_fn(fn)
    check_choice("global_rngs", mode, GLOBAL_RNG_MODES)
    return as_seeds(seeds)


def hint_for(ok: bool, used: list[RNGUse]) -> str:
    """Where to look when a step is not repeatable ("" when it is)."""
    if ok:
        return ""
    if any(u.status == "drawn from" for u in used):
        names = ", ".join(u.rng for u in used if u.status == "drawn from")
        return (
            f"it drew from global RNGs ({names}), which seeds does not control: wrap that code in "
            "`with seedwise.keyed(seeds['<name>'], step):` or pass it a generator from seeds"
        )
    return (
        "no global RNG was drawn from: look for nondeterministic kernels, time, counters or other state kept "
        "between runs"
    )
