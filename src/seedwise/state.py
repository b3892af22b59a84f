"""``RNGState``: capture, restore, save and load the global RNG states (never pickled).

File format (version 1): one NumPy ``.npz`` archive, read with ``allow_pickle=False``.
Array ``"<framework>/<name>"`` holds a framework's state arrays and ``"__meta__"`` a
UTF-8 JSON document (as uint8) with the format version, every framework's metadata,
the named extra generators' states and a SHA-256 digest over all of it, so a truncated
or edited file is refused instead of silently restoring wrong state.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from seedwise.errors import InvalidArgumentError, InvalidTypeError, StateFileError
from seedwise.frameworks import ADAPTERS, State, adapter

__all__ = ["RNGState", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_META = "__meta__"


def _generator_state(name: str, gen: Any) -> dict[str, Any]:
    """JSON-ready state of a torch / NumPy / Python generator."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
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


def _digest(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(arr.dtype).encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    h.update(json.dumps(meta, sort_keys=True).encode())
    return h.hexdigest()


class RNGState:
    """A snapshot of the global RNGs of every installed framework, plus named generators.

    >>> state = RNGState.capture()          # doctest: +SKIP
    >>> ...                                 # draw, train, crash
    >>> state.save("rng.npz"); RNGState.load("rng.npz").restore()

    ``capture(generators={"loader": g})`` also records the state of your own
    ``torch.Generator`` / NumPy ``Generator`` / ``random.Random`` objects; ``restore()``
    puts it back into them (or into the objects you pass after :meth:`load`).
    """

    def __init__(self, states: Mapping[str, State], generators: Mapping[str, dict] | None = None):
        self._states = dict(states)
        self._generators = dict(generators or {})
        self._objects: dict[str, Any] = {}

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
        """Snapshot the global RNG state of every installed framework (or those named)."""
        from seedwise.determinism import resolve_frameworks

        names = resolve_frameworks(frameworks) if frameworks is not None else list(ADAPTERS)
        states: dict[str, State] = {}
        for name in names:
            module = adapter(name)
            if module.available():
                states[name] = module.capture()
        saved_gens: dict[str, dict] = {}
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
            for name, state in self._states.items():
                adapter(name).restore(state)
            for gname, gen in targets.items():
                _set_generator_state(gname, gen, self._generators[gname])
        except Exception:
            for name, state in backup._states.items():
                adapter(name).restore(state)
            for gname, gen in targets.items():
                _set_generator_state(gname, gen, backup._generators[gname])
            raise

    # -- files ----------------------------------------------------------------------

    def _payload(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays: dict[str, np.ndarray] = {}
        frameworks: dict[str, Any] = {}
        for name, state in self._states.items():
            frameworks[name] = {"meta": state.meta, "arrays": sorted(state.arrays)}
            for key, arr in state.arrays.items():
                arrays[f"{name}/{key}"] = np.asarray(arr)
        meta = {
            "format": "seedwise.RNGState",
            "version": FORMAT_VERSION,
            "frameworks": frameworks,
            "generators": self._generators,
        }
        return arrays, meta

    def save(self, path: str | os.PathLike) -> Path:
        """Write the snapshot to ``path`` (an ``.npz`` file), atomically."""
        path = Path(path)
        arrays, meta = self._payload()
        meta["sha256"] = _digest(arrays, meta)
        blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays, **{_META: blob})
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> RNGState:
        """Read a snapshot written by :meth:`save`; refuses anything else with :class:`StateFileError`."""
        path = Path(path)
        if not path.exists():
            raise StateFileError(f"RNG state file {str(path)!r} does not exist")
        if not zipfile.is_zipfile(path):
            raise StateFileError(
                f"{str(path)!r} is not a readable seedwise RNG state file (not a complete .npz archive: "
                "truncated, or another kind of file); give the path RNGState.save wrote"
            )
        try:
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
                contents = {key: npz[key] for key in npz.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise StateFileError(f"{str(path)!r} is not a readable seedwise RNG state file ({exc})") from None
        if not all(isinstance(v, np.ndarray) for v in contents.values()):
            raise StateFileError(
                f"{str(path)!r} is not a readable seedwise RNG state file (an entry is not a NumPy array)"
            )
        if _META not in contents:
            raise StateFileError(f"{str(path)!r} is not a seedwise RNG state file (no {_META} entry)")
        try:
            meta = json.loads(contents.pop(_META).tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StateFileError(f"{str(path)!r}: its metadata is corrupt ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != "seedwise.RNGState":
            raise StateFileError(f"{str(path)!r} is not a seedwise RNG state file")
        version = meta.get("version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise StateFileError(
                f"{str(path)!r} was written in RNG state format {version!r}, newer than this seedwise "
                f"reads ({FORMAT_VERSION}); upgrade seedwise"
            )
        digest = meta.pop("sha256", None)
        if digest != _digest(contents, meta):
            raise StateFileError(f"{str(path)!r} failed its integrity check: it was truncated or modified")
        states: dict[str, State] = {}
        for name, info in meta["frameworks"].items():
            if name not in ADAPTERS:
                raise StateFileError(f"{str(path)!r} holds state for unknown framework {name!r}")
            arrays = {key: contents[f"{name}/{key}"] for key in info["arrays"]}
            states[name] = State(name, arrays=arrays, meta=info["meta"])
        return cls(states, meta.get("generators", {}))
