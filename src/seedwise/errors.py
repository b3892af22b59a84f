"""The exceptions seedwise raises.

Every error a user can cause is a subclass of both :class:`SeedwiseError` and the
built-in exception a Python user would expect (``ValueError`` or ``TypeError``), so
``except ValueError`` keeps working and ``except seedwise.SeedwiseError`` catches all
of ours. Messages say what was wrong, what was expected and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "SeedwiseError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "MissingDependencyError",
    "StateFileError",
    "StoreError",
]


class SeedwiseError(Exception):
    """Base class of every error seedwise raises on purpose."""


class InvalidArgumentError(SeedwiseError, ValueError):
    """An argument has the right type but a value seedwise cannot use."""


class InvalidTypeError(SeedwiseError, TypeError):
    """An argument has a type seedwise cannot use."""


class MissingDependencyError(SeedwiseError, ImportError):
    """An optional dependency is needed and not installed; the message names the extra."""

    def __init__(self, package: str, extra: str, feature: str):
        self.package, self.extra, self.feature = package, extra, feature
        super().__init__(
            f"{feature} needs the optional package {package!r}, which is not installed; "
            f"install it with: pip install 'seedwise[{extra}]'"
        )


class StateFileError(SeedwiseError, ValueError):
    """A saved RNG state file is missing, truncated, tampered with or from a newer format."""


class StoreError(SeedwiseError, ValueError):
    """A study store cannot be used (corrupt, newer schema, conflicting study)."""


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """Validate that ``value`` is an integer (not a bool) in ``[low, high)`` and return it as int."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise InvalidArgumentError(f"{name} must be >= {low}, got {value}")
    if high is not None and value >= high:
        raise InvalidArgumentError(f"{name} must be < {high}, got {value}")
    return value


def check_choice(name: str, value: object, choices: tuple[str, ...] | list[str]) -> str:
    """Validate that ``value`` is one of ``choices``; the error lists the valid ones."""
    if not isinstance(value, str) or value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise InvalidArgumentError(f"{name} must be one of {valid}; got {value!r}")
    return value


def check_probability(name: str, value: object) -> float:
    """Validate a probability in [0, 1]."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be a float in [0, 1], got {type(value).__name__} {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise InvalidArgumentError(f"{name} must be in [0, 1], got {value}")
    return value
