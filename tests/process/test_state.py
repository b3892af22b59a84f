"""RNGState: capture/restore, save/load without pickle, and refusal of bad files."""

from __future__ import annotations

import json
import random
import zipfile

import numpy as np
import pytest
import torch

import seedwise as sw
from seedwise import RNGState, Seeds

FW = ["python", "numpy", "torch"]


def _draws():
    return [random.random(), float(np.random.random()), torch.rand(3)]  # global-rng-ok: tests the global state


def _same(a, b):
    return a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])


@pytest.fixture(autouse=True)
def keep_globals():
    state = RNGState.capture(frameworks=FW)
    yield
    state.restore()


def test_capture_restore_round_trip():
    state = RNGState.capture()
    first = _draws()
    state.restore()
    assert _same(first, _draws())


def test_save_load_round_trip(tmp_path):
    sw.seed_everything(3, frameworks=FW)
    random.gauss(0, 1)  # leaves a cached gaussian in Python's state
    np.random.standard_normal()  # and in NumPy's
    state = RNGState.capture()
    first = _draws()
    path = state.save(tmp_path / "rng.npz")
    _draws()
    RNGState.load(path).restore()
    assert _same(first, _draws())


def test_extra_generators_round_trip(tmp_path):
    g_t = Seeds(1).torch()
    g_n = Seeds(2).numpy()
    g_p = Seeds(3).python()
    state = RNGState.capture(generators={"t": g_t, "n": g_n, "p": g_p})
    expect = (torch.rand(4, generator=g_t), g_n.random(4), g_p.random())
    state.save(tmp_path / "s.npz")
    state.restore()
    assert torch.equal(torch.rand(4, generator=g_t), expect[0])
    fresh = (torch.Generator(), np.random.default_rng(99), random.Random(5))
    RNGState.load(tmp_path / "s.npz").restore(generators=dict(zip("tnp", fresh)))
    assert torch.equal(torch.rand(4, generator=fresh[0]), expect[0])
    assert np.array_equal(fresh[1].random(4), expect[1])
    assert fresh[2].random() == expect[2]


def test_not_pickle(tmp_path):
    path = RNGState.capture().save(tmp_path / "s.npz")
    with np.load(path, allow_pickle=False) as npz:
        assert "__meta__" in npz.files
        meta = json.loads(npz["__meta__"].tobytes())
    assert meta["version"] == 1 and meta["format"] == "seedwise.RNGState"


def _assert_refused_and_untouched(path, match):
    sw.seed_everything(11, frameworks=FW)
    probe = RNGState.capture()
    with pytest.raises(sw.StateFileError, match=match):
        RNGState.load(path).restore()
    after = _draws()
    probe.restore()
    assert _same(after, _draws())


def test_missing_file(tmp_path):
    _assert_refused_and_untouched(tmp_path / "nope.npz", "does not exist")


def test_truncated_file(tmp_path):
    path = RNGState.capture().save(tmp_path / "s.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _assert_refused_and_untouched(path, "not a readable")


def test_garbage_file(tmp_path):
    path = tmp_path / "g.npz"
    path.write_bytes(b"this is not a zip archive at all")
    _assert_refused_and_untouched(path, "not a readable")
    with pytest.raises(sw.StateFileError) as info:
        RNGState.load(path)
    assert "pickle" not in str(info.value)  # not NumPy's "load it unsafely with allow_pickle" advice


def test_tampered_state(tmp_path):
    path = RNGState.capture().save(tmp_path / "s.npz")
    with np.load(path, allow_pickle=False) as npz:
        contents = {k: npz[k] for k in npz.files}
    contents["torch/cpu"] = contents["torch/cpu"].copy()
    contents["torch/cpu"][100] ^= 1
    np.savez(path, **contents)
    _assert_refused_and_untouched(path, "integrity check")


def test_newer_format(tmp_path):
    path = RNGState.capture().save(tmp_path / "s.npz")
    with np.load(path, allow_pickle=False) as npz:
        contents = {k: npz[k] for k in npz.files}
    meta = json.loads(contents["__meta__"].tobytes())
    meta["version"] = 99
    contents["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **contents)
    _assert_refused_and_untouched(path, "newer")


def test_other_npz(tmp_path):
    path = tmp_path / "o.npz"
    np.savez(path, a=np.arange(3))
    _assert_refused_and_untouched(path, "not a seedwise")


def test_pickled_npz_is_refused(tmp_path):
    path = tmp_path / "p.npz"
    np.savez(path, __meta__=np.array([{"x": 1}], dtype=object))
    _assert_refused_and_untouched(path, "not a readable")


def test_zip_without_npy(tmp_path):
    path = tmp_path / "z.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__meta__.npy", b"garbage")
    _assert_refused_and_untouched(path, "not a readable")


def test_restore_is_all_or_nothing():
    state = RNGState.capture(generators={"g": torch.Generator()})
    sw.seed_everything(5, frameworks=FW)
    probe = RNGState.capture()
    with pytest.raises(TypeError):
        state.restore(generators={"g": "not a generator"})
    after = _draws()
    probe.restore()
    assert _same(after, _draws())


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda: RNGState.capture(generators={"a/b": torch.Generator()}), ValueError),
        (lambda: RNGState.capture(generators={"a": 3}), TypeError),
        (lambda: RNGState.capture(frameworks=["nope"]), ValueError),
        (lambda: RNGState.capture().restore(generators={"missing": torch.Generator()}), ValueError),
        (
            lambda: RNGState.capture(generators={"g": torch.Generator()}).restore(
                generators={"g": np.random.default_rng()}
            ),
            ValueError,
        ),
    ],
)
def test_bad_arguments(call, exc):
    with pytest.raises(exc):
        call()
