"""Every refusal of a damaged RNGState file is a StateFileError (so a resume guard catches
one type): exhaustive single-byte flips and truncations of a small saved state, and forged
files whose digest is valid but whose contents do not fit together.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile

import numpy as np
import pytest

import seedwise as sw
from seedwise import RNGState, Seeds

# Every single-bit flip of a byte, and its complement.
MASKS = (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small state file -- torch's CPU state (an array large enough that NumPy parses its
    header before zipfile checks its CRC) and a generator in the JSON -- and its snapshot."""
    state = RNGState.capture(frameworks=["torch"], generators={"g": Seeds(1).numpy()})
    path = state.save(tmp_path_factory.mktemp("state") / "small.npz")
    return path.read_bytes(), RNGState.load(path)


def _payload(data: bytes) -> set[int]:
    """The offsets of the array data in the archive (after each member's .npy header)."""
    inside = set()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            header_len = int.from_bytes(data[start + 8 : start + 10], "little")  # .npy format 1.0
            inside.update(range(start + 10 + header_len, start + info.file_size))
    return inside


def _same(a: RNGState, b: RNGState) -> bool:
    return (
        a.frameworks == b.frameworks
        and a._generators == b._generators
        and all(
            np.array_equal(a._states[n].arrays[k], b._states[n].arrays[k]) and a._states[n].meta == b._states[n].meta
            for n in a.frameworks
            for k in a._states[n].arrays
        )
    )


def _check(path, original) -> str | None:
    """None if ``path`` is refused with StateFileError or loads as ``original``; else what went wrong."""
    try:
        loaded = RNGState.load(path)
    except sw.StateFileError:
        return None
    except Exception as exc:  # the defect: any other type escapes a resume guard
        return f"{type(exc).__name__}: {exc}"
    return None if _same(loaded, original) else "loaded different contents without complaint"


def test_every_single_byte_flip_is_refused_with_state_file_error(small, tmp_path):
    """Every byte flipped: zip structure and .npy headers with every single-bit flip and the
    complement; array data (where any change meets the same CRC and digest) with the complement."""
    data, original = small
    payload = _payload(data)
    assert 5000 < len(payload) < len(data)
    path = tmp_path / "flipped.npz"
    path.write_bytes(data)
    wrong = {}
    with open(path, "r+b", buffering=0) as fh:  # patched in place: rewriting the file is 10x slower
        for i in range(len(data)):
            for mask in (0xFF,) if i in payload else MASKS:
                fh.seek(i)
                fh.write(bytes([data[i] ^ mask]))
                problem = _check(path, original)
                if problem is not None:
                    wrong[(i, mask)] = problem
            fh.seek(i)
            fh.write(data[i : i + 1])
    assert not wrong, f"{len(wrong)} flips: {dict(list(wrong.items())[:10])}"


def test_every_truncation_is_refused_with_state_file_error(small, tmp_path):
    data, _ = small
    path = tmp_path / "cut.npz"
    path.write_bytes(data)
    wrong = {}
    with open(path, "r+b", buffering=0) as fh:
        for n in reversed(range(len(data))):
            fh.truncate(n)
            try:
                RNGState.load(path)
            except sw.StateFileError:
                continue
            except Exception as exc:
                wrong[n] = f"{type(exc).__name__}: {exc}"
            else:
                wrong[n] = "loaded"
    assert not wrong, f"{len(wrong)} of {len(data)} truncations: {dict(list(wrong.items())[:10])}"


def _forge(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write a file with a valid digest over ``arrays`` and ``meta`` (as RNGState.save computes it)."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(arr.dtype).encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    h.update(json.dumps(meta, sort_keys=True).encode())
    blob = json.dumps(dict(meta, sha256=h.hexdigest()), sort_keys=True).encode()
    np.savez(path, **arrays, __meta__=np.frombuffer(blob, dtype=np.uint8))


def _python_state() -> tuple[dict[str, np.ndarray], dict]:
    version, internal, gauss = random.getstate()
    arrays = {"python/mt": np.asarray(internal, dtype=np.uint32)}
    frameworks = {"python": {"meta": {"version": version, "gauss_next": gauss}, "arrays": ["mt"]}}
    return arrays, {"format": "seedwise.RNGState", "version": 1, "frameworks": frameworks, "generators": {}}


def test_a_forged_file_as_save_writes_it_loads(tmp_path):
    """The forging helper is faithful: its file is accepted (so the refusals below are about content)."""
    arrays, meta = _python_state()
    _forge(tmp_path / "ok.npz", arrays, meta)
    assert RNGState.load(tmp_path / "ok.npz").frameworks == ["python"]


def _edit(edit):
    def forged(arrays, meta):
        edit(arrays, meta)
        return arrays, meta

    return forged


FORGERIES = {
    "names a missing array": _edit(lambda a, m: m["frameworks"]["python"]["arrays"].append("missing")),
    "holds an unlisted array": _edit(lambda a, m: a.update({"python/extra": np.zeros(2, np.uint32)})),
    "frameworks not a mapping": _edit(lambda a, m: m.update(frameworks=["python"])),
    "framework entry not a mapping": _edit(lambda a, m: m["frameworks"].update(python="mt")),
    "array names not strings": _edit(lambda a, m: m["frameworks"]["python"].update(arrays=[1])),
    "framework meta missing": _edit(lambda a, m: m["frameworks"]["python"].pop("meta")),
    "generators not a mapping": _edit(lambda a, m: m.update(generators=[1])),
    "generator of unknown kind": _edit(lambda a, m: m.update(generators={"g": {"kind": "cupy", "state": 1}})),
    "version not an int": _edit(lambda a, m: m.update(version="1")),
    "version zero": _edit(lambda a, m: m.update(version=0)),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_forged_files_are_refused_at_load(forgery, tmp_path):
    arrays, meta = FORGERIES[forgery](*_python_state())
    _forge(tmp_path / "f.npz", arrays, meta)
    with pytest.raises(sw.StateFileError):
        RNGState.load(tmp_path / "f.npz")


RESTORE_FORGERIES = {
    "array of the wrong length": _edit(lambda a, m: a.update({"python/mt": np.zeros(3, np.uint32)})),
    "framework meta without its keys": _edit(lambda a, m: m["frameworks"]["python"].update(meta={})),
    "generator state malformed": _edit(lambda a, m: m.update(generators={"g": {"kind": "python", "state": [1]}})),
}


@pytest.mark.parametrize("forgery", sorted(RESTORE_FORGERIES))
def test_forged_states_are_refused_at_restore_and_change_nothing(forgery, tmp_path):
    arrays, meta = RESTORE_FORGERIES[forgery](*_python_state())
    _forge(tmp_path / "f.npz", arrays, meta)
    before = random.getstate()
    generators = {"g": random.Random(3)} if meta["generators"] else {}
    with pytest.raises(sw.StateFileError, match="cannot be restored"):
        RNGState.load(tmp_path / "f.npz").restore(generators=generators)
    assert random.getstate() == before
