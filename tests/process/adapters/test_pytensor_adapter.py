"""The PyTensor global-state adapter (no global RNG; NumPy's covers Theano-style code), against the real PyTensor."""

from __future__ import annotations

import numpy as np
import pytest

import seedwise as sw
from seedwise.process.adapters import pytensor as pa


@pytest.fixture(scope="module")
def pytensor():
    return pytest.importorskip("pytensor", reason="needs the pytensor extra: pip install 'seedwise[pytensor]'")


def test_no_global_state_and_numpy_seeded_theano_style(pytensor, tmp_path):
    settings = pa.seed(1)
    assert len(settings) == 1 and "no global random state" in settings[0].note
    assert pa.capture().arrays == {} and pa.deterministic(True) == []
    pa.restore(pa.capture())
    saved = sw.RNGState.capture(frameworks=["numpy"])
    try:
        report = sw.seed_everything(4, frameworks=["numpy", "pytensor"])
        assert {s.framework for s in report.settings} == {"numpy", "pytensor"}
        first = np.random.random(3)  # global-rng-ok: Theano code drew initial weights here
        sw.seed_everything(4, frameworks=["numpy", "pytensor"])
        assert np.array_equal(np.random.random(3), first)  # global-rng-ok
        path = sw.RNGState.capture(frameworks=["pytensor"]).save(tmp_path / "s.npz")
        assert sw.RNGState.load(path).frameworks == ["pytensor"]
    finally:
        saved.restore()


def test_version_listed_in_fingerprint(pytensor):
    assert pa.version() == pytensor.__version__
    assert sw.fingerprint()["versions"]["pytensor"] == pytensor.__version__
