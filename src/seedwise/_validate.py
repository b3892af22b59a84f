"""The argument validators every package shares: one place, one wording.

Each checker names the argument, says what was expected and, where it helps, how to fix
it; it raises :class:`~seedwise.errors.InvalidTypeError` (a ``TypeError``) for a value
of the wrong type and :class:`~seedwise.errors.InvalidArgumentError` (a ``ValueError``)
for a value out of range. Checkers return the value converted to its plain Python type.
Domain-specific checks (augmentation ranges, statistics inputs) build on these in their
own packages.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["check_bool", "check_choice", "check_int", "check_probability", "check_real"]


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """Validate that ``value`` is an integer (not a bool) in ``[low, high)`` and return it as int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    out = int(value)
    if low is not None and out < low:
        raise InvalidArgumentError(f"{name} must be >= {low}, got {out}")
    if high is not None and out >= high:
        raise InvalidArgumentError(f"{name} must be < {high}, got {out}")
    return out


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """Validate that ``value`` is one of ``choices``; the error lists the valid ones."""
    if not isinstance(value, str) or value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise InvalidArgumentError(f"{name} must be one of {valid}; got {value!r}")
    return value


def check_probability(name: str, value: object) -> float:
    """Validate a probability in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be a float in [0, 1], got {type(value).__name__} {value!r}")
    out = float(value)
    if not 0.0 <= out <= 1.0:
        raise InvalidArgumentError(f"{name} must be in [0, 1], got {out}")
    return out


def check_bool(name: str, value: object) -> bool:
    """Validate a flag: ``True`` or ``False`` (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise InvalidTypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    strict: bool = False,
    positive: bool = False,
    what: str = "a number",
) -> float:
    """A finite real number (bools rejected), optionally bounded.

    ``low``/``high`` are inclusive bounds, exclusive with ``strict=True`` (``low=0,
    strict=True`` means positive). ``positive=True`` also requires a value > 0, worded
    "a finite positive number" (``strict`` then still applies to ``low``/``high``).
    ``what`` names the expected kind in the errors (``"a float"``: "must be a float",
    "must be a finite float > 0").
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise InvalidArgumentError(f"{name} must be finite, got {out}")
    too_low = (positive and out <= 0) or (low is not None and (out < low or (strict and out == low)))
    too_high = high is not None and (out > high or (strict and out == high))
    if too_low or too_high:
        lo = "" if low is None else f"{'>' if strict else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if strict else '<='} {high:g}"
        bound = " and ".join(b for b in (lo, hi) if b)
        noun = what.split(" ", 1)[1] if what.startswith(("a ", "an ")) else what
        kind = f"a finite positive {noun}" if positive else f"a finite {noun}"
        raise InvalidArgumentError(f"{name} must be {kind}{' ' + bound if bound else ''}, got {out}")
    return out
