"""Audit a training step: prove it repeatable, name where two runs diverge, list global-RNG use.

Three tools, each returning a report with ``.ok``, ``.to_dict()`` (JSON-ready), a
readable ``repr``/``str`` and a rich table (``rich.print(report)``):

* :func:`repeatability` runs ``fn(seeds)`` several times and compares everything it
  returns bit for bit;
* :func:`first_divergence` runs ``fn(seeds)`` twice with hooks on every module of a model
  and names the first module, in execution order, whose input, output or gradient differs;
* :func:`global_rng_use` lists the global RNGs a call drew from.

**Fresh RNG states, and why they differ between runs.** The question an audit answers is
"is every random draw controlled by ``seeds``?". So before each run the global RNGs
(Python's ``random``, NumPy's legacy ``np.random``, torch's CPU and CUDA generators, and
TensorFlow's, JAX's or PyTensor's when imported) are seeded to a *different* state per run
(``global_rngs="vary"``, the default; the states derive from fixed seedwise streams, not
from OS entropy, so an audit is itself repeatable). Code that draws from a global RNG
(``nn.Dropout`` outside :func:`seedwise.keyed`, ``torch.rand`` without a generator,
``np.random.rand``) then shows up as a difference, although it would have looked
repeatable had both runs started from the same global state. With
``global_rngs="same"`` every run starts from the same global state instead, which isolates
the nondeterminism that no seed can fix (nondeterministic kernels, time, counters). In
both modes the caller's global RNG states are restored afterwards.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import struct
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from seedwise._validate import check_choice, check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.frameworks import ADAPTERS, State, adapter
from seedwise.seeds import SeedLike, Seeds, as_seeds

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "repeatability",
    "first_divergence",
    "global_rng_use",
    "RepeatabilityReport",
    "DivergenceReport",
    "GlobalRNGReport",
    "Difference",
    "Divergence",
    "RNGUse",
    "GLOBAL_RNG_MODES",
]

GlobalRNGMode = Literal["vary", "same"]
#: How the global RNGs start each run (see the module docstring).
GLOBAL_RNG_MODES = ("vary", "same")

# The streams the per-run global states are seeded from (fixed: an audit is repeatable).
_AUDIT_STREAM = Seeds(0)["seedwise.audit"]["global_rngs"]
# Which module must be imported for an adapter's global state to be in use.
_IMPORT_NAMES = {"python": "random", "numpy": "numpy", "torch": "torch", "tensorflow": "tensorflow", "jax": "jax", "pytensor": "pytensor"}  # fmt: skip
_MAX_SHOWN = 20


# -- global RNG states ----------------------------------------------------------------


def _active_adapters() -> list[str]:
    """Adapters whose library is imported (a library not imported cannot have been drawn from)."""
    names = []
    for name in ADAPTERS:
        if _IMPORT_NAMES[name] not in sys.modules:
            continue
        try:
            module = adapter(name)
        except ImportError:  # an adapter this seedwise does not ship
            continue
        if module.available():
            names.append(name)
    return names


def _capture(names: list[str]) -> dict[str, State]:
    return {name: adapter(name).capture() for name in names}


def _restore(states: dict[str, State]) -> None:
    for name, state in states.items():
        adapter(name).restore(state)


def _seed(names: list[str], value: int) -> None:
    for name in names:
        adapter(name).seed(value)


def _rng_label(framework: str, key: str | None) -> str:
    labels = {
        "python": "python random",
        "numpy": "numpy.random (legacy global)",
        "tensorflow": "tensorflow global generator",
        "jax": "jax",
        "pytensor": "pytensor",
    }
    if framework == "torch":
        return "torch (CPU)" if key in (None, "cpu") else f"torch ({key.replace('cuda', 'cuda:')})"
    return labels.get(framework, framework)


def _state_parts(state: State) -> dict[str, tuple[np.ndarray | None, Any]]:
    """A state split into the generators it holds: torch per device, others as one."""
    if state.framework == "torch":
        return {key: (array, None) for key, array in state.arrays.items()}
    return {"": (state.arrays, state.meta)}  # type: ignore[dict-item]


def _same_part(a: tuple, b: tuple) -> bool:
    (arr_a, meta_a), (arr_b, meta_b) = a, b
    if isinstance(arr_a, dict):
        if set(arr_a) != set(arr_b):
            return False
        if not all(np.array_equal(arr_a[k], arr_b[k], equal_nan=arr_a[k].dtype.kind == "f") for k in arr_a):
            return False
    elif not np.array_equal(arr_a, arr_b):
        return False
    return _same_meta(meta_a, meta_b)


def _same_meta(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return set(a) == set(b) and all(_same_meta(a[k], b[k]) for k in a)
    return a == b


@dataclass(frozen=True)
class RNGUse:
    """What one call did to one global RNG.

    Attributes:
        rng: which generator, e.g. ``"torch (CPU)"``, ``"numpy.random (legacy global)"``.
        status: ``"drawn from"`` (its state changed: drawn from or reseeded),
            ``"untouched"``, or ``"imported during the call"`` (no state before to compare).
    """

    rng: str
    status: str

    @property
    def used(self) -> bool:
        """True when the call changed this RNG's state."""
        return self.status == "drawn from"


def _compare_states(before: dict[str, State], after: dict[str, State]) -> list[RNGUse]:
    out: list[RNGUse] = []
    for name, state_after in after.items():
        if not state_after.arrays:
            continue  # no global RNG state to compare (JAX has none; TensorFlow not loaded)
        parts_after = _state_parts(state_after)
        parts_before = _state_parts(before[name]) if name in before else {}
        for key, part in parts_after.items():
            label = _rng_label(name, key or None)
            if key not in parts_before:
                out.append(
                    RNGUse(label, "imported during the call" if name not in before else "initialised during the call")
                )
            elif _same_part(parts_before[key], part):
                out.append(RNGUse(label, "untouched"))
            else:
                out.append(RNGUse(label, "drawn from"))
    return out


@dataclass
class GlobalRNGReport:
    """Which global RNGs one call drew from (see :func:`global_rng_use`)."""

    call: str
    rngs: list[RNGUse] = field(default_factory=list)

    @property
    def used(self) -> list[str]:
        """The global RNGs whose state the call changed."""
        return [r.rng for r in self.rngs if r.used]

    @property
    def ok(self) -> bool:
        """True when the call left every global RNG untouched."""
        return not self.used

    def __iter__(self) -> Iterator[RNGUse]:
        return iter(self.rngs)

    def to_dict(self) -> dict[str, Any]:
        return {"call": self.call, "ok": self.ok, "used": self.used, "rngs": [dataclasses.asdict(r) for r in self.rngs]}

    def __rich__(self):
        from rich.table import Table

        title = f"global RNG use of {self.call}: " + (
            "[green]none[/green]" if self.ok else "[red]" + ", ".join(self.used) + "[/red]"
        )
        table = Table(title=title)
        table.add_column("global RNG")
        table.add_column("status")
        for r in self.rngs:
            table.add_row(r.rng, f"[red]{r.status}[/red]" if r.used else r.status)
        return table

    def __str__(self) -> str:
        width = max([len(r.rng) for r in self.rngs] + [10])
        lines = [f"global RNG use of {self.call}: {', '.join(self.used) or 'none'}"]
        lines += [f"  {r.rng.ljust(width)}  {r.status}" for r in self.rngs]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"GlobalRNGReport(call={self.call}, used={self.used})"


def _call_name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _check_fn(fn: object) -> None:
    if not callable(fn):
        raise InvalidTypeError(f"fn must be a callable taking the seeds, got {type(fn).__name__} {fn!r}")


def global_rng_use(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> GlobalRNGReport:
    """Call ``fn(*args, **kwargs)`` once and report which global RNGs it drew from.

    The states of Python's ``random``, NumPy's legacy global RNG, torch's CPU and (when
    initialised) CUDA generators, and TensorFlow's, JAX's and PyTensor's when imported,
    are captured before and after and compared. A changed state means the call drew
    from it (or reseeded it): randomness that escapes your seeded streams. The states are
    left as the call left them (this function only observes); a call that restores what it
    drew (``seedwise.keyed``, ``torch.random.fork_rng``) shows as untouched, rightly, since
    it changes nothing for the code that follows.
    """
    _check_fn(fn)
    before = _capture(_active_adapters())
    fn(*args, **kwargs)
    after = _capture(_active_adapters())
    return GlobalRNGReport(_call_name(fn), _compare_states(before, after))


# -- snapshots and bit-for-bit comparison -------------------------------------------------


def _snapshot(obj: Any, path: str, out: dict[str, Any]) -> None:
    """Flatten ``obj`` into ``out[path] = leaf``, copying tensors and arrays to the CPU."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        t = obj.detach()
        if t.layout != torch.strided:
            t = t.to_dense()
        out[path] = t.resolve_conj().resolve_neg().to("cpu", copy=True)
    elif isinstance(obj, np.ndarray):
        if obj.dtype == object:
            _snapshot(obj.tolist(), path, out)
        else:
            out[path] = obj.copy()
    elif isinstance(obj, np.generic):
        out[path] = np.asarray(obj).copy()
    elif obj is None or isinstance(obj, (bool, numbers.Number, str, bytes)):
        out[path] = obj
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            _snapshot(value, f"{path}[{key!r}]", out)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _snapshot(value, f"{path}[{i}]", out)
    elif torch is not None and isinstance(obj, torch.nn.Module):
        for name, value in obj.state_dict().items():
            _snapshot(value, f"{path}.{name}", out)
    elif torch is not None and isinstance(obj, torch.Generator):
        _snapshot(obj.get_state(), f"{path}.get_state()", out)
    elif isinstance(obj, np.random.Generator):
        _snapshot(obj.bit_generator.state, f"{path}.bit_generator.state", out)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            _snapshot(getattr(obj, f.name), f"{path}.{f.name}", out)
    elif callable(getattr(obj, "state_dict", None)):
        _snapshot(obj.state_dict(), f"{path}.state_dict()", out)
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


def _fmt(x: float | None) -> str:
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


def _compare_leaf(a: Any, b: Any, entry: str, run: int) -> Difference | None:
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
        detail=f"{n_diff} of {numel} elements differ, max |diff| {_fmt(max_diff)}",
    )  # fmt: skip


def _compare_snapshots(a: dict[str, Any], b: dict[str, Any], run: int) -> list[Difference]:
    diffs = []
    for entry, value in a.items():
        if entry not in b:
            diffs.append(Difference(entry, run, "missing", detail=f"returned by run 0, not by run {run}"))
            continue
        diff = _compare_leaf(value, b[entry], entry, run)
        if diff is not None:
            diffs.append(diff)
    for entry in b:
        if entry not in a:
            diffs.append(Difference(entry, run, "extra", detail=f"returned by run {run}, not by run 0"))
    return diffs


# -- running fn in fresh global states --------------------------------------------------


def _runs(
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
    caller = _capture(_active_adapters())
    snapshots: list[dict[str, Any]] = []
    used: dict[str, RNGUse] = {}
    try:
        for run in range(runs):
            names = _active_adapters()
            _seed(names, int(_AUDIT_STREAM[run if mode == "vary" else 0]))
            if before_run is not None:
                before_run(run)
            before = _capture(names)
            result = fn(seeds)
            snap: dict[str, Any] = {}
            _snapshot(result, "result", snap)
            snapshots.append(snap)
            for use in _compare_states(before, _capture(_active_adapters())):
                if use.rng not in used or use.used:
                    used[use.rng] = use
    finally:
        _restore(caller)
    return snapshots, list(used.values())


def _check_common(fn: object, seeds: SeedLike, mode: object) -> Seeds:
    _check_fn(fn)
    check_choice("global_rngs", mode, GLOBAL_RNG_MODES)
    return as_seeds(seeds)


def _hint(ok: bool, used: list[RNGUse]) -> str:
    if ok:
        return ""
    if any(u.status == "drawn from" for u in used):
        names = ", ".join(u.rng for u in used if u.status == "drawn from")
        return (
            f"it drew from global RNGs ({names}), which seeds does not control: wrap that code in "
            "`with seedwise.keyed(seeds['<name>'], step):` or pass it a generator from seeds"
        )
    return "no global RNG was drawn from: look for nondeterministic kernels, time, counters or other state kept between runs"


# -- repeatability ----------------------------------------------------------------------------


@dataclass
class RepeatabilityReport:
    """Whether ``fn(seeds)`` returned the same bits in every run (see :func:`repeatability`)."""

    call: str
    seeds: str
    runs: int
    global_rngs: str
    entries: int
    differences: list[Difference] = field(default_factory=list)
    global_rng_use: list[RNGUse] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every run returned bit-identical results."""
        return not self.differences

    @property
    def hint(self) -> str:
        """Where to look, when not repeatable."""
        return _hint(self.ok, self.global_rng_use)

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

    def __rich__(self):
        from rich.table import Table

        if self.ok:
            from rich.text import Text

            return Text(self.headline, style="green")
        table = Table(title=f"[red]{self.headline}[/red]", caption=self.hint or None)
        for column in ("entry", "run", "kind", "max |diff|", "elements differing"):
            table.add_column(column, overflow="fold")
        for d in self.differences[:_MAX_SHOWN]:
            count = f"{d.n_diff} of {d.numel}" if d.n_diff is not None else d.detail
            table.add_row(d.entry, str(d.run), d.kind, _fmt(d.max_abs_diff), count)
        if len(self.differences) > _MAX_SHOWN:
            table.add_row(f"... {len(self.differences) - _MAX_SHOWN} more", "", "", "", "")
        return table

    def __str__(self) -> str:
        lines = [self.headline]
        for d in self.differences[:_MAX_SHOWN]:
            lines.append(f"  {d.entry} (run {d.run}): {d.kind}: {d.detail}")
        if len(self.differences) > _MAX_SHOWN:
            lines.append(f"  ... {len(self.differences) - _MAX_SHOWN} more")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        if self.ok:
            return f"RepeatabilityReport(repeatable, call={self.call}, runs={self.runs}, entries={self.entries})"
        shown = ", ".join(f"{d.entry}: {d.detail}" for d in self.differences[:3])
        more = f", ... {len(self.differences) - 3} more" if len(self.differences) > 3 else ""
        return f"RepeatabilityReport(NOT repeatable, call={self.call}, runs={self.runs}, differences=[{shown}{more}])"


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
    seeds = _check_common(fn, seeds, global_rngs)
    runs = check_int("runs", runs, low=2)
    snapshots, used = _runs(fn, seeds, runs, global_rngs)
    differences = [d for run in range(1, runs) for d in _compare_snapshots(snapshots[0], snapshots[run], run)]
    return RepeatabilityReport(_call_name(fn), repr(seeds), runs, global_rngs, len(snapshots[0]), differences, used)


# -- first divergence ------------------------------------------------------------------------

_KINDS = ("input", "output", "output gradient", "input gradient")
_EXPLAIN = {
    "input": "its input differs although every module before it matched: the difference comes from outside "
    "the hooked modules (the data, or functional code in the parent's forward)",
    "output": "its forward pass is not repeatable (a global RNG, time, a counter or a nondeterministic kernel)",
    "output gradient": "the gradient arriving at its output differs although every later module's matched: "
    "look at the loss or the functional code after it",
    "input gradient": "its backward pass is not repeatable",
}


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


class _Recorder:
    """Forward and gradient hooks on every module; records (run 0) or compares (run 1)."""

    def __init__(self, model: torch.nn.Module):
        self.names = {id(m): (name or "<model>", type(m).__name__) for name, m in model.named_modules()}
        self.modules = [m for _, m in model.named_modules()]
        self.reference: list[tuple[tuple, Any]] = []
        self.compare = False
        self.count = 0
        self.divergences: list[Divergence] = []
        self.structure: str | None = None
        self.calls: dict[int, int] = {}
        self.stack: dict[int, list[int]] = {}
        # id(tensor) -> (tensor, labels): the tensor is kept so that its id is not reused
        self.grad_labels: dict[int, tuple[Any, list[tuple[int, int, str, int]]]] = {}
        self.handles: list[Any] = []

    def __enter__(self) -> _Recorder:
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
        diff = _compare_leaf(ref, value, "", 1)
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

            def hook(grad, labels=labels):
                ordered = [lb for lb in labels if lb[2] == "input gradient"] + [
                    lb for lb in labels if lb[2] != "input gradient"
                ]
                for mid, c, k, i in ordered:
                    self._record(mid, c, k, i, grad)

            tensor.register_hook(hook)
            entry = self.grad_labels[id(tensor)]
        entry[1].append((module_id, call, kind, index))

    def _pre(self, module, args, kwargs):
        mid = id(module)
        call = self.calls.get(mid, 0)
        self.calls[mid] = call + 1
        self.stack.setdefault(mid, []).append(call)
        for i, t in enumerate(_tensors((args, kwargs))):
            self._record(mid, call, "input", i, t)
            if t.requires_grad:
                self._watch_grad(t, mid, call, "input gradient", i)

    def _post(self, module, args, kwargs, output):
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


@dataclass
class DivergenceReport:
    """Where two runs of a step first differ (see :func:`first_divergence`)."""

    call: str
    seeds: str
    global_rngs: str
    values: int
    divergences: list[Divergence] = field(default_factory=list)
    result_differences: list[Difference] = field(default_factory=list)
    global_rng_use: list[RNGUse] = field(default_factory=list)

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
        return _hint(self.ok, self.global_rng_use)

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

    def __rich__(self):
        from rich.table import Table

        if self.ok:
            from rich.text import Text

            return Text(self.headline, style="green")
        table = Table(title=f"[red]{self.headline}[/red]", caption=self.hint or None)
        for column in ("#", "module", "type", "call", "kind", "max |diff|", "elements differing"):
            table.add_column(column, overflow="fold")
        for i, d in enumerate(self.divergences[:_MAX_SHOWN]):
            count = f"{d.n_diff} of {d.numel}" if d.n_diff is not None else d.detail
            style = "bold" if i == 0 else None
            table.add_row(
                str(d.position), d.module, d.module_type, str(d.call), d.kind, _fmt(d.max_abs_diff), count, style=style
            )
        if len(self.divergences) > _MAX_SHOWN:
            table.add_row("", f"... {len(self.divergences) - _MAX_SHOWN} more", "", "", "", "", "")
        return table

    def __str__(self) -> str:
        lines = [self.headline]
        for d in self.divergences[:_MAX_SHOWN]:
            lines.append(f"  #{d.position} {d.module} ({d.module_type}) call {d.call}, {d.kind}: {d.detail}")
        if len(self.divergences) > _MAX_SHOWN:
            lines.append(f"  ... {len(self.divergences) - _MAX_SHOWN} more")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        if self.ok:
            return f"DivergenceReport(repeatable, call={self.call}, values={self.values})"
        first = self.first
        where = (
            f"module={first.module!r}, kind={first.kind!r}, max_abs_diff={_fmt(first.max_abs_diff)}"
            if first
            else "result only"
        )
        return f"DivergenceReport(diverges, call={self.call}, {where}, differing={len(self.divergences)})"


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

    seeds = _check_common(fn, seeds, global_rngs)
    if not isinstance(model, torch.nn.Module):
        raise InvalidTypeError(f"model must be the torch.nn.Module that fn runs, got {type(model).__name__}")

    tensors = model.state_dict(keep_vars=True)
    saved = {k: v.detach().clone() for k, v in tensors.items()}
    grads = {id(p): p.grad for p in model.parameters()}
    recorder = _Recorder(model)

    def reset(run: int) -> None:
        with torch.no_grad():
            for k, v in tensors.items():
                v.copy_(saved[k])
        for p in model.parameters():
            p.grad = None
        recorder.start_run(compare=run > 0)

    try:
        with recorder:
            snapshots, used = _runs(fn, seeds, 2, global_rngs, before_run=reset)
            recorder.finish()
    finally:
        with torch.no_grad():
            for k, v in tensors.items():
                v.copy_(saved[k])
        for p in model.parameters():
            p.grad = grads[id(p)]
    if not recorder.reference:
        raise InvalidArgumentError(
            f"no module of the given model ran during {_call_name(fn)}: pass the model that fn calls "
            "(first_divergence hooks its modules)"
        )
    return DivergenceReport(
        _call_name(fn),
        repr(seeds),
        global_rngs,
        len(recorder.reference),
        recorder.divergences,
        _compare_snapshots(snapshots[0], snapshots[1], 1),
        used,
    )
