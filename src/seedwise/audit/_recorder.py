"""The forward and gradient hooks of :func:`~seedwise.audit.first_divergence`.

:class:`Recorder` hooks every module of a model: in run 0 it records each module's
inputs and outputs (each tensor, per call) and the gradients reaching them, in execution
order; in run 1 it compares each value with run 0's at the same position and records a
:class:`Divergence` for every one whose bits differ, or for the first change in what ran.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seedwise.audit._diff import compare_leaf

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["Divergence", "Recorder"]


@dataclass(frozen=True)
class Divergence:
    """One hooked value that differs between the two runs of :func:`first_divergence`.

    Attributes:
        module: the module's qualified name (``"<model>"`` for the model itself).
        module_type: its class name.
        call: which call of that module (0 for its first call in the step).
        kind: ``"input"``, ``"output"``, ``"output gradient"`` or ``"input gradient"``.
        index: which tensor of that input/output (its position when flattened).
        position: the value's position in execution order.
        max_abs_diff, n_diff, numel: as in :class:`Difference`.
        detail: a human-readable account.
    """

    module: str
    module_type: str
    call: int
    kind: str
    index: int
    position: int
    max_abs_diff: float | None = None
    n_diff: int | None = None
    numel: int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if out["max_abs_diff"] is not None and not math.isfinite(out["max_abs_diff"]):
            out["max_abs_diff"] = str(out["max_abs_diff"])
        return out


def _tensors(obj: Any) -> list[Any]:
    torch = sys.modules["torch"]
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, Mapping):
        return [t for v in obj.values() for t in _tensors(v)]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _tensors(v)]
    return []


class Recorder:
    """Forward and gradient hooks on every module; records (run 0) or compares (run 1)."""

    def __init__(self, model: torch.nn.Module):
        self.names = {id(m): (name or "<model>", type(m).__name__) for name, m in model.named_modules()}
        self.modules = [m for _, m in model.named_modules()]
        self.reference: list[tuple[tuple[int, int, str, int], Any]] = []
        self.compare = False
        self.count = 0
        self.divergences: list[Divergence] = []
        self.structure: str | None = None
        self.calls: dict[int, int] = {}
        self.stack: dict[int, list[int]] = {}
        # id(tensor) -> (tensor, labels): the tensor is kept so that its id is not reused
        self.grad_labels: dict[int, tuple[Any, list[tuple[int, int, str, int]]]] = {}
        self.handles: list[Any] = []

    def __enter__(self) -> Recorder:
        for m in self.modules:
            self.handles.append(m.register_forward_pre_hook(self._pre, with_kwargs=True))
            self.handles.append(m.register_forward_hook(self._post, with_kwargs=True))
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()

    def start_run(self, compare: bool) -> None:
        self.compare, self.count, self.calls, self.stack = compare, 0, {}, {}
        self.grad_labels = {}

    def _record(self, module_id: int, call: int, kind: str, index: int, tensor: Any) -> None:
        key = (module_id, call, kind, index)
        value = tensor.detach().resolve_conj().resolve_neg().to("cpu", copy=True)
        position = self.count
        self.count += 1
        if not self.compare:
            self.reference.append((key, value))
            return
        if self.structure is not None:
            return
        name, type_name = self.names[module_id]
        if position >= len(self.reference):
            self.structure = f"run 1 recorded more values than run 0, from the {kind} of {name} (call {call})"
            self.divergences.append(Divergence(name, type_name, call, kind, index, position, detail=self.structure))
            return
        ref_key, ref = self.reference[position]
        if ref_key != key:
            ref_name = self.names[ref_key[0]][0]
            self.structure = (
                f"execution differs: run 0 recorded the {ref_key[2]} of {ref_name} (call {ref_key[1]}) where run 1 "
                f"recorded the {kind} of {name} (call {call})"
            )
            self.divergences.append(Divergence(name, type_name, call, kind, index, position, detail=self.structure))
            return
        diff = compare_leaf(ref, value, "", 1)
        if diff is not None:
            self.divergences.append(
                Divergence(
                    name,
                    type_name,
                    call,
                    kind,
                    index,
                    position,
                    diff.max_abs_diff,
                    diff.n_diff,
                    diff.numel,
                    diff.detail,
                )
            )

    def _watch_grad(self, tensor: Any, module_id: int, call: int, kind: str, index: int) -> None:
        """Record the gradient reaching ``tensor`` under this label when backward computes it.

        One hook per tensor: a tensor that is the output of W and the input of X is
        recorded as X's input gradient first, then W's output gradient, so that a
        difference born in X's backward is attributed to X (its consumer), not to W.
        """
        entry = self.grad_labels.get(id(tensor))
        if entry is None or entry[0] is not tensor:
            labels: list[tuple[int, int, str, int]] = []
            self.grad_labels[id(tensor)] = (tensor, labels)

            def hook(grad: Any, labels: list[tuple[int, int, str, int]] = labels) -> None:
                ordered = [lb for lb in labels if lb[2] == "input gradient"] + [
                    lb for lb in labels if lb[2] != "input gradient"
                ]
                for mid, c, k, i in ordered:
                    self._record(mid, c, k, i, grad)

            tensor.register_hook(hook)
            entry = self.grad_labels[id(tensor)]
        entry[1].append((module_id, call, kind, index))

    def _pre(self, module: Any, args: Any, kwargs: Any) -> None:
        mid = id(module)
        call = self.calls.get(mid, 0)
        self.calls[mid] = call + 1
        self.stack.setdefault(mid, []).append(call)
        for i, t in enumerate(_tensors((args, kwargs))):
            self._record(mid, call, "input", i, t)
            if t.requires_grad:
                self._watch_grad(t, mid, call, "input gradient", i)

    def _post(self, module: Any, args: Any, kwargs: Any, output: Any) -> None:
        mid = id(module)
        call = self.stack[mid].pop()
        for i, t in enumerate(_tensors(output)):
            self._record(mid, call, "output", i, t)
            if t.requires_grad:
                self._watch_grad(t, mid, call, "output gradient", i)

    def finish(self) -> None:
        if self.structure is None and self.count < len(self.reference):
            (mid, call, kind, index), _ = self.reference[self.count]
            name, type_name = self.names[mid]
            self.structure = (
                f"run 1 recorded fewer values than run 0; the first missing is the {kind} of {name} (call {call})"
            )
            self.divergences.append(Divergence(name, type_name, call, kind, index, self.count, detail=self.structure))
