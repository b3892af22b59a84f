"""The saved states of :class:`SeededSampler` and :class:`DataLoader`: markers, versions and checks.

A state is a JSON-ready dict. Besides the position, it records what the epoch's order
depends on -- the dataset length, ``shuffle`` and a digest of the order stream's key --
so that loading it into an object built differently fails with an error that names the
field, instead of resuming at the wrong samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seedwise._validate import check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds

__all__ = ["LOADER_FORMAT", "SAMPLER_FORMAT", "key_hex", "check_marker", "check_same", "read_int", "read_bool"]

#: Version of :meth:`SeededSampler.state_dict`.
SAMPLER_FORMAT = 1
#: Version of :meth:`DataLoader.state_dict`: 1 counted samples per rank at a fixed world
#: size; 2 adds the global position and the layout that make any world size resumable.
LOADER_FORMAT = 2


def key_hex(seeds: Seeds) -> str:
    """The order stream's key as 32 hex digits (the ``order_key`` field)."""
    return "".join(f"{int(w):016x}" for w in seeds.key)


def check_marker(state: object, marker: str, newest: int) -> int:
    """Check that ``state`` is a dict written by ``state_dict()`` of this kind; return its format version."""
    if not isinstance(state, Mapping):
        raise InvalidTypeError(f"state must be a dict from state_dict(), got {type(state).__name__}")
    version = state.get(marker)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidArgumentError(
            f"not a {marker} state (no {marker!r} format field); pass the dict state_dict() returned"
        )
    if version > newest:
        raise InvalidArgumentError(f"this state was written by a newer seedwise (format {version}); upgrade seedwise")
    return version


def check_same(state: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    """Raise, naming the field, where ``state`` was saved with another value than ``expected``."""
    for key, value in expected.items():
        if key not in state:
            raise InvalidArgumentError(f"state has no {key!r}; pass the dict state_dict() returned")
        if state[key] != value:
            what = "seeds" if key == "order_key" else key
            raise InvalidArgumentError(
                f"state was saved with a different {what} ({state[key]!r}, this one has {value!r}); "
                f"the saved position only means something for the same {what}: build the loader as it was"
            )


def read_int(state: Mapping[str, Any], key: str, *, low: int = 0, high: int | None = None) -> int:
    """``state[key]`` as a checked int, with errors that name the field."""
    if key not in state:
        raise InvalidArgumentError(f"state has no {key!r}; pass the dict state_dict() returned")
    return check_int(f"state[{key!r}]", state[key], low=low, high=high)


def read_bool(state: Mapping[str, Any], key: str) -> bool:
    """``state[key]`` as a checked bool."""
    value = state.get(key)
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"state[{key!r}] must be a bool, got {value!r}; pass the dict state_dict() returned")
    return value
