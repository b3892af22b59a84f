"""Which global RNGs a call drew from: :func:`global_rng_use` and its :class:`GlobalRNGReport`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seedwise._table import TableReport
from seedwise.errors import InvalidTypeError
from seedwise.process.global_rngs import capture_global_rngs
from seedwise.process.settings import State

__all__ = ["GlobalRNGReport", "RNGUse", "call_name", "check_fn", "compare_states", "global_rng_use"]


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


def _state_parts(state: State) -> dict[str, tuple[Any, Any]]:
    """A state split into the generators it holds: torch per device, others as one."""
    if state.framework == "torch":
        return {key: (array, None) for key, array in state.arrays.items()}
    return {"": (state.arrays, state.meta)}


def _same_part(a: tuple[Any, Any], b: tuple[Any, Any]) -> bool:
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
    return bool(a == b)


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


def compare_states(before: dict[str, State], after: dict[str, State]) -> list[RNGUse]:
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


@dataclass(repr=False)
class GlobalRNGReport(TableReport):
    """Which global RNGs one call drew from (see :func:`global_rng_use`)."""

    call: str
    rngs: list[RNGUse] = field(default_factory=list)

    _text_indent = "  "

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

    def _title(self) -> str:
        return f"global RNG use of {self.call}: {', '.join(self.used) or 'none'}"

    def _rich_title(self) -> str:
        used = "[green]none[/green]" if self.ok else "[red]" + ", ".join(self.used) + "[/red]"
        return f"global RNG use of {self.call}: {used}"

    def _rich_columns(self) -> tuple[str, ...]:
        return ("global RNG", "status")

    def _rows(self) -> list[tuple[str, ...]]:
        return [(r.rng, r.status) for r in self.rngs]

    def _rich_rows(self) -> list[tuple[str, ...]]:
        return [(r.rng, f"[red]{r.status}[/red]" if r.used else r.status) for r in self.rngs]

    def _repr_parts(self) -> list[str]:
        return [f"call={self.call}", f"used={self.used}"]


def call_name(fn: Callable[..., Any]) -> str:
    """How a report names ``fn``: its qualified name."""
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def check_fn(fn: object) -> None:
    """``fn`` must be callable."""
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
    check_fn(fn)
    before = capture_global_rngs()
    fn(*args, **kwargs)
    after = capture_global_rngs()
    return GlobalRNGReport(call_name(fn), compare_states(before, after))
