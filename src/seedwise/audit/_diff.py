"""Bit-for-bit comparison of what two runs produced: flatten a result, diff tensors and arrays.

:func:`snapshot` flattens a result (tensors, arrays, numbers, strings, and containers,
dataclasses, models and optimisers of them) into ``{path: leaf}`` with CPU copies;
:func:`compare_leaf` and :func:`compare_snapshots` name each entry whose bits differ as a
:class:`Difference`. Floats compare by their bits: ``NaN`` equals the same ``NaN`` and
``0.0`` differs from ``-0.0``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise.errors import InvalidTypeError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["Difference", "compare_leaf", "compare_snapshots", "fmt", "snapshot"]


def snapshot(obj: Any, path: str, out: dict[str, Any]) -> None:
    """Flatten ``obj`` into ``out[path] = leaf``, copying tensors and arrays to the CPU."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        t = obj.detach()
        if t.layout != torch.strided:
            t = t.to_dense()
        out[path] = t.resolve_conj().resolve_neg().to("cpu", copy=True)
    elif isinstance(obj, np.ndarray):
        if obj.dtype == object:
            snapshot(obj.tolist(), path, out)
        else:
            out[path] = obj.copy()
    elif isinstance(obj, np.generic):
        out[path] = np.asarray(obj).copy()
    elif obj is None or isinstance(obj, (bool, numbers.Number, str, bytes)):
        out[path] = obj
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            snapshot(value, f"{path}[{key!r}]", out)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            snapshot(value, f"{path}[{i}]", out)
    elif torch is not None and isinstance(obj, torch.nn.Module):
        for name, value in obj.state_dict().items():
            snapshot(value, f"{path}.{name}", out)
    elif torch is not None and isinstance(obj, torch.Generator):
        snapshot(obj.get_state(), f"{path}.get_state()", out)
    elif isinstance(obj, np.random.Generator):
        snapshot(obj.bit_generator.state, f"{path}.bit_generator.state", out)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            snapshot(getattr(obj, f.name), f"{path}.{f.name}", out)
    elif callable(getattr(obj, "state_dict", None)):
        snapshot(obj.state_dict(), f"{path}.state_dict()", out)
    else:
        raise InvalidTypeError(
            f"cannot compare {path} of type {type(obj).__module__}.{type(obj).__qualname__}; return tensors, "
            "arrays, numbers, strings, models, or dicts/lists/tuples/dataclasses of them"
        )


@dataclass(frozen=True)
class Difference:
    """One entry that differs between two runs.

    Attributes:
        entry: where it is, e.g. ``result['loss']`` or ``result['model'].fc.weight``.
        run: the run that differs from run 0.
        kind: ``"value"``, ``"shape"``, ``"dtype"``, ``"type"``, ``"missing"`` (in this
            run, not in run 0) or ``"extra"`` (in this run only).
        max_abs_diff: the largest absolute difference (``inf`` where a NaN meets a number;
            ``0.0`` when only bits differ, as ``0.0`` and ``-0.0`` do; ``nan`` for arrays of
            strings); None unless ``kind`` is "value".
        n_diff: how many elements differ in their bits (None unless ``kind`` is "value").
        numel: how many elements the entry has.
        detail: a human-readable account.
    """

    entry: str
    run: int
    kind: str
    max_abs_diff: float | None = None
    n_diff: int | None = None
    numel: int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if out["max_abs_diff"] is not None and not math.isfinite(out["max_abs_diff"]):
            out["max_abs_diff"] = str(out["max_abs_diff"])  # JSON has no inf
        return out


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _tensor_diff(a: torch.Tensor, b: torch.Tensor) -> tuple[int, float]:
    """(elements whose bits differ, max absolute difference) of two same-shape same-dtype tensors."""
    import torch

    n = a.numel()
    if n == 0:
        return 0, 0.0
    try:
        size = a.element_size()
        bits_a = a.contiguous().reshape(-1).view(torch.uint8).reshape(n, size)
        bits_b = b.contiguous().reshape(-1).view(torch.uint8).reshape(n, size)
        mask = (bits_a != bits_b).any(dim=1)
    except RuntimeError:  # a dtype without a byte view
        mask = (a != b).reshape(-1)
    n_diff = int(mask.sum())
    if n_diff == 0:
        return 0, 0.0
    fa, fb = a.reshape(-1)[mask], b.reshape(-1)[mask]
    if fa.dtype == torch.bool:
        fa, fb = fa.to(torch.int8), fb.to(torch.int8)
    if fa.is_complex():
        d = (fa.to(torch.complex128) - fb.to(torch.complex128)).abs()
    elif fa.is_floating_point():
        d = (fa.double() - fb.double()).abs()
    else:
        d = (fa.to(torch.float64) - fb.to(torch.float64)).abs()
    d = torch.where(torch.isnan(d), torch.full_like(d, math.inf), d)
    return n_diff, float(d.max())


def _array_diff(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """As :func:`_tensor_diff`, for NumPy arrays (``nan`` max difference for non-numeric dtypes)."""
    if a.size == 0:
        return 0, 0.0
    bits_a = np.ascontiguousarray(a).reshape(-1).view(np.uint8).reshape(a.size, -1)
    bits_b = np.ascontiguousarray(b).reshape(-1).view(np.uint8).reshape(b.size, -1)
    mask = (bits_a != bits_b).any(axis=1)
    n_diff = int(mask.sum())
    if n_diff == 0:
        return 0, 0.0
    if a.dtype.kind not in "biufc":
        return n_diff, math.nan
    wide = np.complex128 if a.dtype.kind == "c" else np.float64
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(a.reshape(-1)[mask].astype(wide) - b.reshape(-1)[mask].astype(wide))
    d = np.where(np.isnan(d), math.inf, d)
    return n_diff, float(d.max())


def compare_leaf(a: Any, b: Any, entry: str, run: int) -> Difference | None:
    torch = sys.modules.get("torch")
    if type(a) is not type(b) and not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return Difference(entry, run, "type", detail=f"{type(a).__name__} in run 0, {type(b).__name__} in run {run}")
    if torch is not None and isinstance(a, torch.Tensor):
        if a.dtype != b.dtype:
            return Difference(
                entry, run, "dtype", numel=a.numel(), detail=f"{a.dtype} in run 0, {b.dtype} in run {run}"
            )
        if a.shape != b.shape:
            return Difference(
                entry, run, "shape", numel=a.numel(), detail=f"{tuple(a.shape)} in run 0, {tuple(b.shape)} in run {run}"
            )
        n_diff, max_diff = _tensor_diff(a, b)
    elif isinstance(a, np.ndarray):
        if a.dtype != b.dtype:
            return Difference(entry, run, "dtype", numel=a.size, detail=f"{a.dtype} in run 0, {b.dtype} in run {run}")
        if a.shape != b.shape:
            return Difference(entry, run, "shape", numel=a.size, detail=f"{a.shape} in run 0, {b.shape} in run {run}")
        n_diff, max_diff = _array_diff(a, b)
    elif isinstance(a, float) or isinstance(a, complex):
        same = struct.pack("<2d", a.real, a.imag) == struct.pack("<2d", b.real, b.imag)
        d = abs(a - b)
        n_diff, max_diff = (0, 0.0) if same else (1, math.inf if math.isnan(d) else d)
    elif isinstance(a, numbers.Number) and not isinstance(a, bool):
        n_diff, max_diff = (0, 0.0) if a == b else (1, float(abs(a - b)))
    else:  # str, bytes, bool, None
        if a == b:
            return None
        return Difference(entry, run, "value", n_diff=1, numel=1, detail=f"{a!r} in run 0, {b!r} in run {run}")
    if n_diff == 0:
        return None
    numel = a.numel() if torch is not None and isinstance(a, torch.Tensor) else int(np.size(a))
    return Difference(
        entry, run, "value", max_abs_diff=max_diff, n_diff=n_diff, numel=numel,
        detail=f"{n_diff} of {numel} elements differ, max |diff| {fmt(max_diff)}",
    )  # fmt: skip


def compare_snapshots(a: dict[str, Any], b: dict[str, Any], run: int) -> list[Difference]:
    diffs = []
    for entry, value in a.items():
        if entry not in b:
            diffs.append(Difference(entry, run, "missing", detail=f"returned by run 0, not by run {run}"))
            continue
        diff = compare_leaf(value, b[entry], entry, run)
        if diff is not None:
            diffs.append(diff)
    for entry in b:
        if entry not in a:
            diffs.append(Difference(entry, run, "extra", detail=f"returned by run {run}, not by run 0"))
    return diffs
