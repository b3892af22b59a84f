"""seed_everything, deterministic mode and keyed()."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

import seedwise as sw
from seedwise import Seeds


@pytest.fixture
def restore_globals():
    """Put back the global RNGs and torch's determinism switches after a test."""
    state = sw.RNGState.capture(frameworks=["python", "numpy", "torch"])
    det = torch.are_deterministic_algorithms_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    yield
    state.restore()
    torch.use_deterministic_algorithms(det)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn


def _draws():
    return random.random(), np.random.random(), torch.rand(2)  # global-rng-ok: test of the global state


def test_same_numbers_as_the_libraries_own_seeding(restore_globals):
    sw.seed_everything(42)
    ours = _draws()
    random.seed(42)
    np.random.seed(42)
    torch.manual_seed(42)
    theirs = _draws()
    assert ours[0] == theirs[0] and ours[1] == theirs[1] and torch.equal(ours[2], theirs[2])


def test_seed_everything_repeats_and_differs(restore_globals):
    sw.seed_everything(Seeds(3)["x"])
    a = _draws()
    sw.seed_everything(Seeds(3)["x"])
    b = _draws()
    sw.seed_everything(Seeds(4)["x"])
    c = _draws()
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    assert a[0] != c[0] and not torch.equal(a[2], c[2])


def test_large_seeds_are_folded(restore_globals):
    sw.seed_everything(2**100)
    a = torch.rand(3)
    sw.seed_everything(2**100 + 1)
    assert not torch.equal(a, torch.rand(3))


def test_report_lists_settings_and_what_could_not_apply(restore_globals, monkeypatch):
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    report = sw.seed_everything(1)
    names = {(s.framework, s.name) for s in report}
    assert ("torch", "torch.manual_seed") in names and ("numpy", "np.random.seed") in names
    hashseed = [s for s in report if s.name == "PYTHONHASHSEED"]
    assert hashseed and not hashseed[0].ok and "PYTHONHASHSEED=0" in hashseed[0].note
    assert not report.ok
    text = str(report)
    assert "NOT APPLIED" in text and "torch.manual_seed" in text
    assert report.to_dict()["settings"]


def test_deterministic_mode(restore_globals, monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    report = sw.seed_everything(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    import os

    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    names = {s.name for s in report}
    assert {"torch.use_deterministic_algorithms", "CUBLAS_WORKSPACE_CONFIG"} <= names
    off = sw.deterministic(False)
    assert not torch.are_deterministic_algorithms_enabled()
    assert all(s.ok for s in off if s.framework == "torch")


def test_keyed_is_a_pure_function_of_stream_and_position(restore_globals):
    s = Seeds(0)["dropout"]
    drop = torch.nn.Dropout(0.5)
    x = torch.ones(100)
    with sw.keyed(s, 5):
        a = drop(x)
    with sw.keyed(s, 5):
        b = drop(x)
    with sw.keyed(s, 6):
        c = drop(x)
    with sw.keyed(Seeds(1)["dropout"], 5):
        d = drop(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c) and not torch.equal(a, d)


def test_keyed_restores_after_normal_exit(restore_globals):
    sw.seed_everything(7)
    before = sw.RNGState.capture(frameworks=["python", "numpy", "torch"])
    expected = _draws()
    before.restore()
    with sw.keyed(Seeds(1)["x"], (2, "a")) as child:
        _draws()
        assert child == Seeds(1)["x"][2]["a"]
    after = _draws()
    assert expected[0] == after[0] and expected[1] == after[1] and torch.equal(expected[2], after[2])


def test_keyed_restores_after_an_exception(restore_globals):
    sw.seed_everything(8)
    expected = _draws()
    sw.seed_everything(8)
    with pytest.raises(RuntimeError, match="boom"):
        with sw.keyed(Seeds(1)["x"], 0):
            _draws()
            raise RuntimeError("boom")
    after = _draws()
    assert expected[0] == after[0] and expected[1] == after[1] and torch.equal(expected[2], after[2])


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda: sw.seed_everything(-1), ValueError),
        (lambda: sw.seed_everything(1.0), TypeError),
        (lambda: sw.seed_everything("1"), TypeError),
        (lambda: sw.seed_everything(1, deterministic="yes"), TypeError),
        (lambda: sw.seed_everything(1, frameworks=["torhc"]), ValueError),
        (lambda: sw.deterministic(1), TypeError),
        (lambda: sw.keyed(5, 1).__enter__(), TypeError),
        (lambda: sw.keyed(Seeds(0), 1.5).__enter__(), TypeError),
        (lambda: sw.keyed(Seeds(0), -1).__enter__(), ValueError),
        (lambda: sw.keyed(Seeds(0), ()).__enter__(), TypeError),
    ],
)
def test_bad_arguments(call, exc, restore_globals):
    with pytest.raises(exc):
        call()


def test_keyed_errors_name_the_position():
    with pytest.raises(ValueError, match="^position: a child index must be >= 0"):
        sw.keyed(Seeds(0), -1).__enter__()


def test_unknown_framework_lists_valid_ones():
    with pytest.raises(ValueError, match="valid: python, numpy, torch"):
        sw.seed_everything(1, frameworks=["theano"])


# -- only the frameworks in use (issue 13 item 6, issue 19 item 3) -----------------------------

TORCH_ONLY = """
import os, sys
import torch
import seedwise as sw

modules, env = set(sys.modules), dict(os.environ)
report = sw.seed_everything(0, deterministic=True)
state = sw.RNGState.capture()
with sw.keyed(sw.Seeds(0)["dropout"], 1):
    pass
new = {m.split(".")[0] for m in set(sys.modules) - modules}
assert not new & {"tensorflow", "keras", "jax", "pytensor"}, sorted(new)
assert state.frameworks == ["python", "numpy", "torch"], state.frameworks
changed = {k for k in set(env) | set(os.environ) if env.get(k) != os.environ.get(k)}
assert changed and changed <= {s.name for s in report}, changed  # CUBLAS_WORKSPACE_CONFIG, listed

seeded = {s.framework for s in report if s.name != "imported"}
assert seeded == {"python", "numpy", "torch"}, seeded
installed = {n for n in ("tensorflow", "jax", "pytensor") if sw.frameworks.adapter(n).available()}
skipped = {s.framework: s for s in report if s.name == "imported"}
assert set(skipped) == installed, skipped
for name, row in skipped.items():
    assert row.ok and row.value == "no" and f"frameworks=[..., {name!r}]" in row.note, row
assert torch.are_deterministic_algorithms_enabled()
off = sw.deterministic(False)
assert {s.framework for s in off if s.name == "imported"} == installed
assert not torch.are_deterministic_algorithms_enabled()
print("ok")
"""


def test_torch_process_imports_no_other_framework_and_lists_what_it_skipped():
    env = {k: v for k, v in os.environ.items() if k != "CUBLAS_WORKSPACE_CONFIG"}  # the child sets it
    out = subprocess.run([sys.executable, "-c", TORCH_ONLY], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


NOTHING_IMPORTED = """
import sys
import seedwise as sw

report = sw.seed_everything(3)
assert [m for m in ("torch", "tensorflow", "jax", "pytensor") if m in sys.modules] == []
assert [s.framework for s in report if s.name != "imported"] == ["python", "python", "numpy"]
state = sw.RNGState.capture()
assert state.frameworks == ["python", "numpy"] and "torch" not in sys.modules
print("ok")
"""


def test_python_and_numpy_are_always_seeded_and_nothing_is_imported():
    out = subprocess.run([sys.executable, "-c", NOTHING_IMPORTED], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
