"""The JAX global-state adapter (none to seed; XLA_FLAGS for determinism), against the real JAX (CPU)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import seedwise as sw
from seedwise import Seeds
from seedwise.process.adapters import jax as ja


@pytest.fixture(scope="module")
def jax():
    return pytest.importorskip("jax", reason="needs the jax extra: pip install 'seedwise[jax]'")


def _data(jax, key) -> np.ndarray:
    return np.asarray(jax.random.key_data(key))


# -- the adapter protocol ------------------------------------------------------------------


def test_no_global_state(jax, tmp_path):
    settings = ja.seed(5)
    assert len(settings) == 1 and "no global random state" in settings[0].note
    state = ja.capture()
    assert state.framework == "jax" and not state.arrays and not state.meta
    ja.restore(state)
    path = sw.RNGState.capture(frameworks=["jax"]).save(tmp_path / "s.npz")
    loaded = sw.RNGState.load(path)
    assert loaded.frameworks == ["jax"]
    loaded.restore()
    report = sw.seed_everything(5, frameworks=["jax"])
    assert [s.name for s in report.settings] == ["global RNG"]


def test_deterministic_after_backend_start_reports_too_late(jax, monkeypatch):
    import jax.numpy as jnp

    jnp.ones(1).block_until_ready()  # the backend has started
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    on = ja.deterministic(True)
    assert os.environ["XLA_FLAGS"] == ja.DETERMINISTIC_FLAG
    assert on[0].ok is False and "already initialised" in on[0].note
    assert ja.deterministic(True)[0].ok is False  # asking again does not make it effective
    off = ja.deterministic(False)
    assert "XLA_FLAGS" not in os.environ
    assert off[0].ok is True  # the backend read no flag at start: "off" is what it runs with


DETERMINISTIC_FIRST = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_cpu_enable_fast_math=false"
    import seedwise as sw
    report = sw.deterministic(True, frameworks=["jax"])
    [setting] = report.settings
    assert setting.ok and setting.value == "--xla_gpu_deterministic_ops=true", setting
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false --xla_gpu_deterministic_ops=true"
    import jax, jax.numpy as jnp
    assert float(jnp.ones(3).sum()) == 3.0  # XLA accepted the flags
    again = sw.deterministic(True, frameworks=["jax"]).settings[0]
    assert again.ok, again  # already in effect: set before the backend started
    from seedwise import Seeds
    print(jax.random.key_data(Seeds(7)["init"][3].jax()).tolist())
    """
)


def test_deterministic_before_backend_start_and_same_key_in_another_process(jax):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run(
        [sys.executable, "-c", DETERMINISTIC_FIRST], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    # The other process, with other XLA flags, derived the same key from the same stream.
    assert out.stdout.strip().splitlines()[-1] == str(_data(jax, Seeds(7)["init"][3].jax()).tolist())


def test_version_listed_in_fingerprint(jax):
    assert ja.version() == jax.__version__
    assert sw.fingerprint()["versions"]["jax"] == jax.__version__


JAX_ONLY = textwrap.dedent(
    """
    import os, sys
    import jax
    import seedwise as sw

    modules, env = set(sys.modules), dict(os.environ)
    report = sw.seed_everything(0, deterministic=True)
    new = {m.split(".")[0] for m in set(sys.modules) - modules}
    assert not new & {"torch", "tensorflow", "keras", "pytensor"}, sorted(new)
    changed = {k for k in set(env) | set(os.environ) if env.get(k) != os.environ.get(k)}
    assert changed == {"XLA_FLAGS"} and "XLA_FLAGS" in {s.name for s in report}, changed
    jax_rows = [s.name for s in report if s.framework == "jax"]
    assert jax_rows == ["global RNG", "XLA_FLAGS"], jax_rows
    assert {s.framework for s in report if s.name == "imported"} >= {"torch"}
    print("ok")
    """
)


def test_jax_process_gets_no_torch_or_tensorflow(jax):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", JAX_ONLY], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
