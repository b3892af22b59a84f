"""Is a step repeatable bit for bit? :func:`repeatability` and its :class:`RepeatabilityReport`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from seedwise._table import TableReport
from seedwise._validate import check_int
from seedwise.audit._diff import Difference, compare_snapshots, fmt
from seedwise.audit._global_rng import GlobalRNGReport, RNGUse, call_name
from seedwise.audit._runs import MAX_SHOWN, GlobalRNGMode, check_common, hint_for, run_fresh
from seedwise.seeds import SeedLike, Seeds

__all__ = ["RepeatabilityReport", "repeatability"]


@dataclass(repr=False)
class RepeatabilityReport(TableReport):
    """Whether ``fn(seeds)`` returned the same bits in every run (see :func:`repeatability`)."""

    call: str
    seeds: str
    runs: int
    global_rngs: str
    entries: int
    differences: list[Difference] = field(default_factory=list)
    global_rng_use: list[RNGUse] = field(default_factory=list)

    _text_indent = "  "

    @property
    def ok(self) -> bool:
        """True when every run returned bit-identical results."""
        return not self.differences

    @property
    def hint(self) -> str:
        """Where to look, when not repeatable."""
        return hint_for(self.ok, self.global_rng_use)

    @property
    def global_rng(self) -> GlobalRNGReport:
        """The global RNGs the runs drew from, as a :class:`GlobalRNGReport`."""
        return GlobalRNGReport(self.call, list(self.global_rng_use))

    def __iter__(self) -> Iterator[Difference]:
        return iter(self.differences)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "seeds": self.seeds,
            "runs": self.runs,
            "global_rngs": self.global_rngs,
            "ok": self.ok,
            "entries": self.entries,
            "differences": [d.to_dict() for d in self.differences],
            "global_rng_use": [dataclasses.asdict(u) for u in self.global_rng_use],
            "hint": self.hint,
        }

    @property
    def headline(self) -> str:
        if self.ok:
            return f"{self.call} is repeatable: {self.entries} entries bit-identical over {self.runs} runs"
        entries = len({d.entry for d in self.differences})
        return f"{self.call} is NOT repeatable: {entries} of {self.entries} entries differ between {self.runs} runs"

    # -- rendering (TableReport): text lists each difference on one line; rich tabulates them

    def _title(self) -> str:
        return self.headline

    def _rows(self) -> list[tuple[str, ...]]:
        rows: list[tuple[str, ...]] = [
            (f"{d.entry} (run {d.run}): {d.kind}: {d.detail}",) for d in self.differences[:MAX_SHOWN]
        ]
        if len(self.differences) > MAX_SHOWN:
            rows.append((f"... {len(self.differences) - MAX_SHOWN} more",))
        if self.hint:
            rows.append((f"hint: {self.hint}",))
        return rows

    def _all_clear(self) -> str | None:
        return self.headline if self.ok else None

    def _rich_title(self) -> str:
        return f"[red]{self.headline}[/red]"

    def _rich_columns(self) -> tuple[str, ...]:
        return ("entry", "run", "kind", "max |diff|", "elements differing")

    def _rich_rows(self) -> list[tuple[str, ...]]:
        rows: list[tuple[str, ...]] = []
        for d in self.differences[:MAX_SHOWN]:
            count = f"{d.n_diff} of {d.numel}" if d.n_diff is not None else d.detail
            rows.append((d.entry, str(d.run), d.kind, fmt(d.max_abs_diff), count))
        if len(self.differences) > MAX_SHOWN:
            rows.append((f"... {len(self.differences) - MAX_SHOWN} more", "", "", "", ""))
        return rows

    def _rich_caption(self) -> str | None:
        return self.hint or None

    def _repr_parts(self) -> list[str]:
        if self.ok:
            return ["repeatable", f"call={self.call}", f"runs={self.runs}", f"entries={self.entries}"]
        shown = ", ".join(f"{d.entry}: {d.detail}" for d in self.differences[:3])
        more = f", ... {len(self.differences) - 3} more" if len(self.differences) > 3 else ""
        return ["NOT repeatable", f"call={self.call}", f"runs={self.runs}", f"differences=[{shown}{more}]"]


def repeatability(
    fn: Callable[[Seeds], Any],
    runs: int = 2,
    *,
    seeds: SeedLike = 0,
    global_rngs: GlobalRNGMode = "vary",
) -> RepeatabilityReport:
    """Call ``fn(seeds)`` ``runs`` times in fresh global RNG states and compare the results bit for bit.

    Args:
        fn: the step to audit; it must build or reset what it mutates (a model it trains
            from scratch, its optimiser), so that runs are comparable.
        runs: how many runs (>= 2); runs 1.. are compared with run 0.
        seeds: the :class:`Seeds` (or int) passed to every run.
        global_rngs: ``"vary"`` (default) starts each run from a different global RNG
            state, so code drawing from global RNGs shows up; ``"same"`` starts every run
            from the same one (see the module docstring). The caller's states are restored.

    Everything ``fn`` returns is compared: tensors (any device, copied to the CPU), arrays,
    numbers, strings, and dicts, lists, tuples, dataclasses, models (their
    ``state_dict``) and optimisers of them. Floats compare by their bits (``NaN`` equals
    the same ``NaN``; ``0.0`` differs from ``-0.0``).

    Returns:
        A :class:`RepeatabilityReport`: ``.ok``, and per differing entry its maximum
        absolute difference and how many elements differ; also which global RNGs ``fn``
        drew from.
    """
    seeds = check_common(fn, seeds, global_rngs)
    runs = check_int("runs", runs, low=2)
    snapshots, used = run_fresh(fn, seeds, runs, global_rngs)
    differences = [d for run in range(1, runs) for d in compare_snapshots(snapshots[0], snapshots[run], run)]
    return RepeatabilityReport(call_name(fn), repr(seeds), runs, global_rngs, len(snapshots[0]), differences, used)
