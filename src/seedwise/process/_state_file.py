"""The :class:`~seedwise.process.state.RNGState` file: written atomically, read without pickle.

Format (version 1): one NumPy ``.npz`` archive, read with ``allow_pickle=False``. Array
``"<framework>/<name>"`` holds a framework's state arrays and ``"__meta__"`` a UTF-8 JSON
document (as uint8) with the format version, every framework's metadata and array names,
the named extra generators' states and a SHA-256 digest over all of it.

Reading refuses anything else with :class:`~seedwise.errors.StateFileError` and nothing
but it: a truncated, damaged, edited or forged file, whatever part of it is wrong (the zip
structure, a ``.npy`` header, the JSON, the digest, or an entry that names an array the
file does not hold), so a resume guard needs to catch one exception type.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from seedwise.errors import StateFileError
from seedwise.process.adapters import ADAPTERS
from seedwise.process.settings import State

__all__ = ["FORMAT_VERSION", "GENERATOR_KINDS", "read_state_file", "write_state_file"]

FORMAT_VERSION = 1
#: The kinds of extra generator a state file can hold.
GENERATOR_KINDS = ("torch", "numpy", "python")
_META = "__meta__"
_FORMAT = "seedwise.RNGState"


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


def write_state_file(path: str | os.PathLike[str], states: Mapping[str, State], generators: Mapping[str, Any]) -> Path:
    """Write ``states`` and the extra ``generators`` states to ``path``, atomically."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    frameworks: dict[str, Any] = {}
    for name, state in states.items():
        frameworks[name] = {"meta": state.meta, "arrays": sorted(state.arrays)}
        for key, arr in state.arrays.items():
            arrays[f"{name}/{key}"] = np.asarray(arr)
    meta: dict[str, Any] = {
        "format": _FORMAT,
        "version": FORMAT_VERSION,
        "frameworks": frameworks,
        "generators": dict(generators),
    }
    meta["sha256"] = _digest(arrays, meta)
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            entries: dict[str, Any] = {**arrays, _META: blob}
            np.savez(fh, **entries)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read_state_file(path: str | os.PathLike[str]) -> tuple[dict[str, State], dict[str, Any]]:
    """The framework states and extra generator states in a file :func:`write_state_file` wrote.

    Raises :class:`StateFileError` (only) for a file that is missing, not such a file,
    damaged, newer than this seedwise reads, or inconsistent.
    """
    path = Path(path)
    where = repr(str(path))
    if not path.exists():
        raise StateFileError(f"RNG state file {where} does not exist")
    contents = _read_arrays(path, where)
    if _META not in contents:
        raise StateFileError(f"{where} is not a seedwise RNG state file (no {_META} entry)")
    meta = _read_meta(contents.pop(_META), where)
    digest = meta.pop("sha256", None)
    if digest != _digest(contents, meta):
        raise StateFileError(f"{where} failed its integrity check: it was truncated or modified")
    return _states(meta, contents, where), _generators(meta, where)


def _read_arrays(path: Path, where: str) -> dict[str, np.ndarray]:
    unreadable = f"{where} is not a readable seedwise RNG state file"
    if not zipfile.is_zipfile(path):
        raise StateFileError(
            f"{unreadable} (not a complete .npz archive: truncated, or another kind of file); "
            "give the path RNGState.save wrote"
        )
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            contents = {key: npz[key] for key in npz.files}
    except Exception as exc:  # a damaged archive fails in zipfile, NumPy's header parser, ...: all mean the same
        raise StateFileError(f"{unreadable} ({type(exc).__name__}: {exc})") from None
    if not all(isinstance(v, np.ndarray) for v in contents.values()):
        raise StateFileError(f"{unreadable} (an entry is not a NumPy array)")
    return contents


def _read_meta(blob: np.ndarray, where: str) -> dict[str, Any]:
    try:
        meta = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise StateFileError(f"{where}: its metadata is corrupt ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise StateFileError(f"{where} is not a seedwise RNG state file")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise StateFileError(f"{where}: its metadata is corrupt (format version {version!r})")
    if version > FORMAT_VERSION:
        raise StateFileError(
            f"{where} was written in RNG state format {version!r}, newer than this seedwise "
            f"reads ({FORMAT_VERSION}); upgrade seedwise"
        )
    return meta


def _inconsistent(where: str, what: str) -> NoReturn:
    raise StateFileError(f"{where} is not a consistent seedwise RNG state file: {what}; it was damaged or forged")


def _states(meta: dict[str, Any], contents: dict[str, np.ndarray], where: str) -> dict[str, State]:
    frameworks = meta.get("frameworks")
    if not isinstance(frameworks, dict):
        _inconsistent(where, "its 'frameworks' entry is not a mapping")
    states: dict[str, State] = {}
    listed: set[str] = set()
    for name, info in frameworks.items():
        if name not in ADAPTERS:
            raise StateFileError(f"{where} holds state for unknown framework {name!r}")
        if (
            not isinstance(info, dict)
            or not isinstance(info.get("meta"), dict)
            or not isinstance(info.get("arrays"), list)
        ):
            _inconsistent(where, f"the entry of {name!r} is not {{'meta': {{...}}, 'arrays': [...]}}")
        keys = info["arrays"]
        if not all(isinstance(key, str) for key in keys):
            _inconsistent(where, f"the array names of {name!r} are not all strings")
        missing = [key for key in keys if f"{name}/{key}" not in contents]
        if missing:
            _inconsistent(where, f"it names array(s) {missing} of {name!r} that it does not hold")
        listed.update(f"{name}/{key}" for key in keys)
        states[name] = State(name, arrays={key: contents[f"{name}/{key}"] for key in keys}, meta=info["meta"])
    unlisted = sorted(set(contents) - listed)
    if unlisted:
        _inconsistent(where, f"it holds array(s) {unlisted} that no framework lists")
    return states


def _generators(meta: dict[str, Any], where: str) -> dict[str, Any]:
    generators = meta.get("generators", {})
    if not isinstance(generators, dict):
        _inconsistent(where, "its 'generators' entry is not a mapping")
    for name, saved in generators.items():
        if not isinstance(saved, dict) or saved.get("kind") not in GENERATOR_KINDS or "state" not in saved:
            _inconsistent(where, f"the entry of generator {name!r} is not {{'kind': ..., 'state': ...}}")
    return generators
