"""``RNGState``: capture, restore, save and load the global RNG states (never pickled).

A snapshot holds the global RNG state of each framework in use (as
:func:`~seedwise.process.global_rngs.capture_global_rngs` finds them: Python's and
NumPy's, plus each framework already imported) and, on request, the state of named
generator objects. The file format is described in :mod:`seedwise.process._state_file`:
a truncated, damaged or forged file is refused with :class:`~seedwise.errors.StateFileError`
instead of silently restoring wrong state.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from seedwise.errors import InvalidArgumentError, InvalidTypeError, SeedwiseError, StateFileError
from seedwise.process._state_file import FORMAT_VERSION, read_state_file, write_state_file
from seedwise.process.adapters import adapter
from seedwise.process.global_rngs import capture_global_rngs, restore_global_rngs
from seedwise.process.settings import State

__all__ = ["RNGState", "FORMAT_VERSION"]


def _generator_state(name: str, gen: Any) -> dict[str, Any]:
    """JSON-ready state of a torch / NumPy / Python generator."""
    torch = _torch_if_imported()
    if torch is not None and isinstance(gen, torch.Generator):
        return {"kind": "torch", "device": str(gen.device), "state": gen.get_state().tolist()}
    if isinstance(gen, np.random.Generator):
        gen = gen.bit_generator
    if isinstance(gen, np.random.BitGenerator):
        return {"kind": "numpy", "state": _jsonable(gen.state)}
    if isinstance(gen, random.Random):
        version, internal, gauss = gen.getstate()
        return {"kind": "python", "state": [version, list(internal), gauss]}
    raise InvalidTypeError(
        f"extra generator {name!r} must be a torch.Generator, numpy Generator/BitGenerator or random.Random, "
        f"got {type(gen).__name__}"
    )


def _torch_if_imported() -> Any:
    """torch, if this process imported it (a torch.Generator cannot exist otherwise)."""
    import sys

    return sys.modules.get("torch")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=value["dtype"])
        return {k: _from_jsonable(v) for k, v in value.items()}
    return value


def _set_generator_state(name: str, gen: Any, saved: Mapping[str, Any]) -> None:
    kind = saved["kind"]
    current = _generator_state(name, gen)["kind"]
    if current != kind:
        raise InvalidArgumentError(
            f"extra generator {name!r} was captured from a {kind} generator, got a {current} one"
        )
    if kind == "torch":
        import torch

        gen.set_state(torch.tensor(saved["state"], dtype=torch.uint8))
    elif kind == "numpy":
        bitgen = gen.bit_generator if isinstance(gen, np.random.Generator) else gen
        bitgen.state = _from_jsonable(saved["state"])
    else:
        version, internal, gauss = saved["state"]
        gen.setstate((version, tuple(internal), gauss))


class RNGState:
    """A snapshot of the global RNGs of every framework in use, plus named generators.

    >>> state = RNGState.capture()          # doctest: +SKIP
    >>> ...                                 # draw, train, crash
    >>> state.save("rng.npz"); RNGState.load("rng.npz").restore()

    ``capture(generators={"loader": g})`` also records the state of your own
    ``torch.Generator`` / NumPy ``Generator`` / ``random.Random`` objects; ``restore()``
    puts it back into them (or into the objects you pass after :meth:`load`).
    """

    def __init__(self, states: Mapping[str, State], generators: Mapping[str, dict[str, Any]] | None = None):
        self._states = dict(states)
        self._generators = dict(generators or {})
        self._objects: dict[str, Any] = {}
        self._origin: str | None = None  # the file it was loaded from

    @property
    def frameworks(self) -> list[str]:
        """The frameworks whose state this snapshot holds."""
        return list(self._states)

    @property
    def generators(self) -> list[str]:
        """The names of the extra generators this snapshot holds."""
        return list(self._generators)

    def __repr__(self) -> str:
        return f"RNGState(frameworks={self.frameworks}, generators={self.generators})"

    @classmethod
    def capture(
        cls,
        *,
        frameworks: Iterable[str] | None = None,
        generators: Mapping[str, Any] | None = None,
    ) -> RNGState:
        """Snapshot the global RNG state of every framework in use (or of those named).

        By default: Python's and NumPy's, plus each of torch, TensorFlow, JAX and PyTensor
        that this process has imported (one it has not imported holds no state to save,
        and seedwise does not import it to find out). Named frameworks that are installed
        are captured whether imported or not.
        """
        states = capture_global_rngs(frameworks)
        saved_gens: dict[str, dict[str, Any]] = {}
        objects: dict[str, Any] = {}
        for gname, gen in (generators or {}).items():
            if not isinstance(gname, str) or not gname or "/" in gname:
                raise InvalidArgumentError(f"generator names must be non-empty strings without '/', got {gname!r}")
            saved_gens[gname] = _generator_state(gname, gen)
            objects[gname] = gen
        out = cls(states, saved_gens)
        out._objects = objects
        return out

    def restore(self, *, generators: Mapping[str, Any] | None = None) -> None:
        """Put every captured state back. All-or-nothing: on any error nothing changes."""
        targets = dict(self._objects)
        targets.update(generators or {})
        unknown = set(generators or {}) - set(self._generators)
        if unknown:
            raise InvalidArgumentError(
                f"no saved state for generator(s) {sorted(unknown)}; this snapshot holds {self.generators}"
            )
        for name in self._states:
            if not adapter(name).available():
                raise StateFileError(f"this RNG state holds {name} state but {name} is not installed here")
        for gname, gen in targets.items():  # type-check targets before changing anything
            _generator_state(gname, gen)
        backup = RNGState.capture(frameworks=list(self._states), generators=targets)
        try:
            restore_global_rngs(self._states)
            for gname, gen in targets.items():
                _set_generator_state(gname, gen, self._generators[gname])
        except Exception as exc:
            restore_global_rngs(backup._states)
            for gname, gen in targets.items():
                _set_generator_state(gname, gen, backup._generators[gname])
            if self._origin is not None and not isinstance(exc, SeedwiseError):
                raise StateFileError(
                    f"{self._origin} holds a state that cannot be restored ({type(exc).__name__}: {exc}); "
                    "it was damaged or forged. Nothing was changed"
                ) from exc
            raise

    # -- files ----------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the snapshot to ``path`` (an ``.npz`` file), atomically."""
        return write_state_file(path, self._states, self._generators)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RNGState:
        """Read a snapshot written by :meth:`save`.

        Refuses anything else -- a missing, truncated, damaged, edited or forged file, or
        one from a newer seedwise -- with :class:`~seedwise.errors.StateFileError`, and with
        no other exception; so does :meth:`restore` of a loaded state that turns out not to
        fit the framework it names.
        """
        states, generators = read_state_file(path)
        out = cls(states, generators)
        out._origin = repr(str(Path(path)))
        return out
