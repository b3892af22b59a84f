"""Input validation shared by the statistics functions.

Every public function validates at its boundary and raises
:class:`~seedwise.errors.InvalidArgumentError` (a ``ValueError``) or
:class:`~seedwise.errors.InvalidTypeError` (a ``TypeError``) naming the argument, what
was expected and how to fix it. Failed runs may be passed as NaN: :func:`describe`
counts them, the other functions reject them unless ``nan_policy="omit"``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

from seedwise._validate import check_choice
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds, as_seeds

NanPolicy = Literal["raise", "omit"]
NAN_POLICIES = ("raise", "omit")
ALTERNATIVES = ("two-sided", "greater", "less")


def values_1d(name: str, values: Any) -> np.ndarray:
    """``values`` as a 1-D float64 array (NaN kept); rejects strings, bools, inf and bad shapes."""
    if values is None:
        raise InvalidTypeError(f"{name} is required: pass a 1-D sequence of numbers (one per run)")
    if isinstance(values, (str, bytes)):
        raise InvalidTypeError(f"{name} must be a 1-D sequence of numbers, got a string {values!r}")
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(f"{name} must be a 1-D sequence of numbers: {exc}") from None
    if array.dtype == bool:
        raise InvalidTypeError(f"{name} must hold numbers, got booleans; convert them with .astype(float) if meant")
    if array.dtype.kind not in "iuf":
        if array.dtype == object:
            try:
                array = array.astype(np.float64)
            except (TypeError, ValueError):
                raise InvalidTypeError(
                    f"{name} must hold numbers (failed runs as NaN), got {array.dtype} values such as {array.flat[0]!r}"
                ) from None
        else:
            raise InvalidTypeError(f"{name} must hold numbers (failed runs as NaN), got dtype {array.dtype}")
    if array.ndim != 1:
        raise InvalidArgumentError(
            f"{name} must be 1-D (one value per run), got shape {array.shape}; flatten it, or pass one array per group"
        )
    array = array.astype(np.float64)
    if np.isinf(array).any():
        raise InvalidArgumentError(
            f"{name} contains inf at index {int(np.flatnonzero(np.isinf(array))[0])}; "
            "record a failed run as NaN, not inf"
        )
    return array


def finite(name: str, values: Any, *, min_n: int, nan_policy: str = "raise", why: str = "") -> np.ndarray:
    """A 1-D array of at least ``min_n`` finite values; NaN raises or is dropped per ``nan_policy``."""
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    array = values_1d(name, values)
    nan = np.isnan(array)
    if nan.any():
        if nan_policy == "raise":
            raise InvalidArgumentError(
                f"{name} contains {int(nan.sum())} NaN value(s) (failed runs?); drop them, "
                "or pass nan_policy='omit' to analyse the finished runs only"
            )
        array = array[~nan]
    if array.size < min_n:
        raise InvalidArgumentError(
            f"{name} needs at least {min_n} finite values{why}, got {array.size}; run more seeds"
        )
    return array


def magnitude_scale(*arrays: np.ndarray) -> float:
    """A power of two that brings values of extreme magnitude near 1 (1.0 for ordinary values).

    Variances square the values: above about 1e150 they overflow, below 1e-150 they
    underflow to 0. Multiplying by a power of two is exact, and tests, ranks and
    standardised effects do not depend on it, so statistics that would overflow are
    computed on the scaled values and locations are scaled back.
    """
    finite_values = np.concatenate([a[np.isfinite(a)] for a in arrays])
    nonzero = np.abs(finite_values[finite_values != 0])
    if nonzero.size == 0:
        return 1.0
    big, small = float(np.max(nonzero)), float(np.min(nonzero))
    if big < 2.0**480 and small > 2.0**-480:
        return 1.0
    return float(2.0 ** -math.frexp(big)[1])


def confidence_level(value: object, name: str = "confidence") -> float:
    """A confidence level strictly between 0 and 1 (0.95 means a 95% interval)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be a float in (0, 1) such as 0.95, got {type(value).__name__} {value!r}")
    value = float(value)
    if not 0.0 < value < 1.0:
        hint = f"; did you mean {value / 100:g}?" if 1.0 < value < 100.0 else ""
        raise InvalidArgumentError(f"{name} must be in (0, 1) such as 0.95, got {value:g}{hint}")
    return value


def open_unit(name: str, value: object, example: str) -> float:
    """A float strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(
            f"{name} must be a float in (0, 1) such as {example}, got {type(value).__name__} {value!r}"
        )
    value = float(value)
    if not 0.0 < value < 1.0:
        raise InvalidArgumentError(f"{name} must be in (0, 1) such as {example}, got {value:g}")
    return value


def positive(name: str, value: object) -> float:
    """A finite float > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be a positive number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"{name} must be a finite number > 0, got {value:g}")
    return value


def check_resamples(value: object, name: str = "n_resamples", low: int = 100) -> int:
    """A number of resamples, an int >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"{name} must be an int (e.g. 9999), got {type(value).__name__} {value!r}")
    if int(value) < low:
        raise InvalidArgumentError(f"{name} must be at least {low} for a usable interval, got {int(value)}")
    return int(value)


def seeds_arg(seeds: object, function: str) -> Seeds:
    """The required ``seeds`` of a resampling function (a Seeds, or an int seed)."""
    if seeds is None:
        raise InvalidTypeError(
            f"{function}() resamples and needs explicit seeds: pass seeds=seedwise.Seeds(0) "
            "(or a child such as seeds['stats']); seedwise never draws from a global RNG"
        )
    return as_seeds(seeds, "seeds")  # type: ignore[arg-type]  # a bad type is as_seeds' error to give


@contextmanager
def collect_warnings(notes: list[str]) -> Iterator[None]:
    """Turn warnings raised by scipy inside the block into notes on the result."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for item in caught:
        text = str(item.message).splitlines()[0]
        if text not in notes:
            notes.append(text)


def quiet(notes: list[str], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with :func:`collect_warnings`."""
    with collect_warnings(notes):
        return fn(*args, **kwargs)
