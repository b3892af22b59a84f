"""Validation of transform arguments: ranges, probabilities, sizes.

Every checker names the argument, says what was expected and how to fix it, and raises
:class:`~seedwise.errors.InvalidArgumentError` (a ``ValueError``) or
:class:`~seedwise.errors.InvalidTypeError` (a ``TypeError``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sized

from seedwise._validate import check_probability
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "check_probability",
    "elements",
    "real",
    "value_range",
    "symmetric_range",
    "factor_range",
    "size_hw",
    "odd_kernel",
]


def elements(value: object, lengths: tuple[int, ...] = (2,)) -> tuple[object, ...] | None:
    """The items of a list-like ``value`` whose length is one of ``lengths`` (a string is not list-like), else None."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sized) or not isinstance(value, Iterable):
        return None
    return tuple(value) if len(value) in lengths else None


def real(name: str, value: object) -> float:
    """A finite real number (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise InvalidArgumentError(f"{name} must be finite, got {out}")
    return out


def value_range(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
) -> tuple[float, float]:
    """A ``(low, high)`` pair with ``low <= high`` inside ``[low, high]`` bounds."""
    pair = elements(value)
    if pair is None:
        raise InvalidTypeError(f"{name} must be a (low, high) pair of numbers, got {value!r}")
    lo, hi = (real(f"{name}[{i}]", v) for i, v in enumerate(pair))
    if lo > hi:
        raise InvalidArgumentError(
            f"{name} is reversed: got ({lo}, {hi}); pass (low, high) with low <= high, e.g. ({hi}, {lo})"
        )
    bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
    if low is not None and (lo < low or (open_low and lo <= low)):
        raise InvalidArgumentError(
            f"{name} must lie in {bounds}{' excluding the low end' if open_low else ''}, got ({lo}, {hi})"
        )
    if high is not None and hi > high:
        raise InvalidArgumentError(f"{name} must lie in {bounds}, got ({lo}, {hi})")
    return lo, hi


def symmetric_range(name: str, value: object, *, limit: float | None = None) -> tuple[float, float]:
    """A number ``x >= 0`` means ``(-x, x)``; a pair means itself (checked)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        x = real(name, value)
        if x < 0:
            raise InvalidArgumentError(
                f"{name} must be >= 0 (it means the range (-{name}, {name})), got {x}; "
                "for an asymmetric range pass (low, high)"
            )
        value = (-x, x)
    return value_range(name, value, low=-limit if limit is not None else None, high=limit)


def factor_range(name: str, value: object) -> tuple[float, float]:
    """A jitter strength ``x >= 0`` means factors ``(max(0, 1 - x), 1 + x)``; a pair means itself."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        x = real(name, value)
        if x < 0:
            raise InvalidArgumentError(
                f"{name} must be >= 0 (a jitter strength), got {x}; or pass a (low, high) factor range"
            )
        value = (max(0.0, 1.0 - x), 1.0 + x)
    return value_range(name, value, low=0.0)


def size_hw(name: str, value: object) -> tuple[int, int]:
    """An output size: an int ``s`` (square) or an ``(height, width)`` pair of positive ints."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    pair = elements(value)
    if pair is None:
        raise InvalidTypeError(f"{name} must be an int or a (height, width) pair of ints, got {value!r}")
    out = []
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise InvalidTypeError(f"{name} must hold ints, got {type(v).__name__} {v!r}")
        if v <= 0:
            raise InvalidArgumentError(f"{name} must be positive, got {pair}")
        out.append(int(v))
    return out[0], out[1]


def odd_kernel(name: str, value: object) -> int:
    """A Gaussian kernel size: an odd int >= 3."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"{name} must be an odd int >= 3, got {type(value).__name__} {value!r}")
    if value < 3 or value % 2 == 0:
        raise InvalidArgumentError(f"{name} must be an odd int >= 3 (the kernel is centred on the pixel), got {value}")
    return int(value)
