"""Where two runs of a step first differ: :func:`first_divergence` and its :class:`DivergenceReport`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seedwise._table import TableReport
from seedwise.audit._diff import Difference, compare_snapshots, fmt
from seedwise.audit._global_rng import RNGUse, call_name
from seedwise.audit._recorder import Divergence, Recorder
from seedwise.audit._runs import MAX_SHOWN, GlobalRNGMode, check_common, hint_for, run_fresh
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import SeedLike, Seeds

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["DivergenceReport", "first_divergence"]

_EXPLAIN = {
    "input": "its input differs although every module before it matched: the difference comes from outside "
    "the hooked modules (the data, or functional code in the parent's forward)",
    "output": "its forward pass is not repeatable (a global RNG, time, a counter or a nondeterministic kernel)",
    "output gradient": "the gradient arriving at its output differs although every later module's matched: "
    "look at the loss or the functional code after it",
    "input gradient": "its backward pass is not repeatable",
}


@dataclass(repr=False)
class DivergenceReport(TableReport):
    """Where two runs of a step first differ (see :func:`first_divergence`)."""

    call: str
    seeds: str
    global_rngs: str
    values: int
    divergences: list[Divergence] = field(default_factory=list)
    result_differences: list[Difference] = field(default_factory=list)
    global_rng_use: list[RNGUse] = field(default_factory=list)

    _text_indent = "  "

    @property
    def ok(self) -> bool:
        """True when every hooked value and the result matched bit for bit."""
        return not self.divergences and not self.result_differences

    @property
    def first(self) -> Divergence | None:
        """The first differing value in execution order, or None."""
        return self.divergences[0] if self.divergences else None

    @property
    def module(self) -> str | None:
        """The qualified name of the first module whose input, output or gradient differs."""
        return self.first.module if self.first else None

    @property
    def hint(self) -> str:
        return hint_for(self.ok, self.global_rng_use)

    @property
    def headline(self) -> str:
        first = self.first
        if first is None:
            if self.result_differences:
                return (
                    f"{self.call}: every module's inputs, outputs and gradients matched, but the result differs "
                    f"({self.result_differences[0].entry}): the difference is outside the model"
                )
            return f"{self.call} is repeatable: all {self.values} hooked values bit-identical"
        where = f"{first.module} ({first.module_type}), call {first.call}"
        if first.max_abs_diff is None:
            return f"{self.call} first diverges at {where}: {first.detail}"
        return (
            f"{self.call} first diverges at the {first.kind} of {where}: {first.detail}. "
            f"{_EXPLAIN[first.kind][0].upper()}{_EXPLAIN[first.kind][1:]}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "seeds": self.seeds,
            "global_rngs": self.global_rngs,
            "ok": self.ok,
            "values": self.values,
            "module": self.module,
            "first": self.first.to_dict() if self.first else None,
            "divergences": [d.to_dict() for d in self.divergences],
            "result_differences": [d.to_dict() for d in self.result_differences],
            "global_rng_use": [dataclasses.asdict(u) for u in self.global_rng_use],
            "headline": self.headline,
            "hint": self.hint,
        }

    # -- rendering (TableReport): text lists each divergence on one line; rich tabulates them

    def _title(self) -> str:
        return self.headline

    def _rows(self) -> list[tuple[str, ...]]:
        rows: list[tuple[str, ...]] = [
            (f"#{d.position} {d.module} ({d.module_type}) call {d.call}, {d.kind}: {d.detail}",)
            for d in self.divergences[:MAX_SHOWN]
        ]
        if len(self.divergences) > MAX_SHOWN:
            rows.append((f"... {len(self.divergences) - MAX_SHOWN} more",))
        if self.hint:
            rows.append((f"hint: {self.hint}",))
        return rows

    def _all_clear(self) -> str | None:
        return self.headline if self.ok else None

    def _rich_title(self) -> str:
        return f"[red]{self.headline}[/red]"

    def _rich_columns(self) -> tuple[str, ...]:
        return ("#", "module", "type", "call", "kind", "max |diff|", "elements differing")

    def _rich_rows(self) -> list[tuple[str, ...]]:
        rows: list[tuple[str, ...]] = []
        for d in self.divergences[:MAX_SHOWN]:
            count = f"{d.n_diff} of {d.numel}" if d.n_diff is not None else d.detail
            row = (str(d.position), d.module, d.module_type, str(d.call), d.kind, fmt(d.max_abs_diff), count)
            rows.append(row)
        if len(self.divergences) > MAX_SHOWN:
            rows.append(("", f"... {len(self.divergences) - MAX_SHOWN} more", "", "", "", "", ""))
        return rows

    def _rich_row_style(self, index: int) -> str | None:
        return "bold" if index == 0 else None  # the first difference: the culprit

    def _rich_caption(self) -> str | None:
        return self.hint or None

    def _repr_parts(self) -> list[str]:
        if self.ok:
            return ["repeatable", f"call={self.call}", f"values={self.values}"]
        first = self.first
        where = (
            f"module={first.module!r}, kind={first.kind!r}, max_abs_diff={fmt(first.max_abs_diff)}"
            if first
            else "result only"
        )
        return ["diverges", f"call={self.call}", where, f"differing={len(self.divergences)}"]


def first_divergence(
    fn: Callable[[Seeds], Any],
    model: torch.nn.Module,
    *,
    seeds: SeedLike = 0,
    global_rngs: GlobalRNGMode = "vary",
) -> DivergenceReport:
    """Run ``fn(seeds)`` twice with hooks on every module of ``model``; name the first difference.

    Every module's inputs and outputs (each tensor, per call) are recorded in execution
    order, and so are the gradients reaching them when ``fn`` calls ``backward``. The
    first value, in that order, whose bits differ between the two runs names the culprit:
    a differing *output* whose inputs matched means the module's forward is not repeatable;
    a differing *input* whose producers matched points at code between modules; a
    differing *input gradient* whose output gradient matched means its backward is not.

    ``model`` is reset to its state before each run (its ``state_dict`` is copied once,
    and its ``.grad`` cleared), and left as it was found; anything else ``fn`` mutates
    (an optimiser created outside it) must be reset by ``fn``. Global RNG states are
    handled as in :func:`repeatability`. The recorded values are CPU copies: memory
    grows with the activations of one step.

    Returns:
        A :class:`DivergenceReport`: ``.module`` (the first differing module's qualified
        name), ``.first`` (kind, call, max absolute difference...), every differing value,
        and how the results of ``fn`` differ.
    """
    import torch

    seeds = check_common(fn, seeds, global_rngs)
    if not isinstance(model, torch.nn.Module):
        raise InvalidTypeError(f"model must be the torch.nn.Module that fn runs, got {type(model).__name__}")

    tensors = model.state_dict(keep_vars=True)
    saved = {k: v.detach().clone() for k, v in tensors.items()}
    grads = {id(p): p.grad for p in model.parameters()}
    recorder = Recorder(model)

    def reset(run: int) -> None:
        with torch.no_grad():
            for k, v in tensors.items():
                v.copy_(saved[k])
        for p in model.parameters():
            p.grad = None
        recorder.start_run(compare=run > 0)

    try:
        with recorder:
            snapshots, used = run_fresh(fn, seeds, 2, global_rngs, before_run=reset)
            recorder.finish()
    finally:
        with torch.no_grad():
            for k, v in tensors.items():
                v.copy_(saved[k])
        for p in model.parameters():
            p.grad = grads[id(p)]
    if not recorder.reference:
        raise InvalidArgumentError(
            f"no module of the given model ran during {call_name(fn)}: pass the model that fn calls "
            "(first_divergence hooks its modules)"
        )
    return DivergenceReport(
        call_name(fn),
        repr(seeds),
        global_rngs,
        len(recorder.reference),
        recorder.divergences,
        compare_snapshots(snapshots[0], snapshots[1], 1),
        used,
    )
