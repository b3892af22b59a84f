"""The TensorFlow global-state adapter, against the real TensorFlow (CPU) and Keras 3: seeding,
capture/restore, RNGState, keyed and deterministic mode; and, in fresh processes, that
seedwise neither imports torch into a TensorFlow process nor starts TensorFlow's runtime.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import seedwise as sw
from seedwise import Seeds
from seedwise.process.adapters import tensorflow as tfa


@pytest.fixture(scope="module")
def tf():
    if not tfa.available():
        pytest.skip("needs the tensorflow extra: pip install 'seedwise[tensorflow]'")
    tf = tfa._tf("the tests")  # the adapter's own import, keeping the global RNGs
    import keras  # noqa: F401  (Keras 3 ships with TensorFlow >= 2.16)

    tf.constant(0)  # starts the runtime, as any TensorFlow program has by the time it trains
    return tf


@pytest.fixture
def keep_tf_state(tf):
    """Put TensorFlow's global generator and op determinism back after a test."""
    from tensorflow.python.framework import config as tf_config

    state = tfa.capture()
    was_deterministic = tf_config.is_op_determinism_enabled()
    yield
    tfa.restore(state)
    if not was_deterministic:
        tf_config.disable_op_determinism()


def test_seed_repeats_global_generator_and_op_seeded_draws(tf, keep_tf_state):
    settings = tfa.seed(7)
    assert {s.name for s in settings} >= {"tf.random.set_seed", "tf.random.get_global_generator"}
    g = tf.random.get_global_generator()
    a = (g.normal([8]).numpy(), tf.random.uniform([8]).numpy())
    tfa.seed(7)
    b = (g.normal([8]).numpy(), tf.random.uniform([8]).numpy())
    tfa.seed(8)
    c = (g.normal([8]).numpy(), tf.random.uniform([8]).numpy())
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])
    tfa.seed(2**64 - 1)  # the full 64-bit range seed_everything may pass
    assert tf.random.get_global_generator().state.numpy().tolist() == [0, 0, -1]


def test_capture_restore_global_generator_and_keras(tf, keep_tf_state):
    import keras

    tfa.seed(3)
    keras.random.normal((2,))  # creates Keras's global SeedGenerator
    state = tfa.capture()
    assert state.meta["loaded"] is True
    assert set(state.arrays) == {"global_generator", "keras_seed_generator"}
    first = (tf.random.get_global_generator().normal([5]).numpy(), keras.random.normal((5,)).numpy())
    tf.random.get_global_generator().normal([100])
    tfa.restore(state)
    second = (tf.random.get_global_generator().normal([5]).numpy(), keras.random.normal((5,)).numpy())
    assert np.array_equal(first[0], second[0])
    assert np.array_equal(first[1], second[1])


def test_rngstate_round_trips_tensorflow(tf, keep_tf_state, tmp_path):
    tfa.seed(9)
    tf.random.get_global_generator().normal([3])
    state = sw.RNGState.capture(frameworks=["tensorflow"])
    expected = tf.random.get_global_generator().normal([6]).numpy()
    path = state.save(tmp_path / "rng.npz")
    tf.random.get_global_generator().normal([50])
    sw.RNGState.load(path).restore()
    assert np.array_equal(tf.random.get_global_generator().normal([6]).numpy(), expected)


def test_keyed_seeds_and_restores_tensorflow(tf, keep_tf_state):
    g = tf.random.get_global_generator()
    tfa.seed(1)
    before = tfa.capture()
    with sw.keyed(Seeds(4)["dropout"], 10):
        inside = g.normal([4]).numpy()
    after = g.normal([4]).numpy()
    tfa.restore(before)
    assert np.array_equal(g.normal([4]).numpy(), after)  # keyed left the global generator as it was
    with sw.keyed(Seeds(4)["dropout"], 10):
        assert np.array_equal(g.normal([4]).numpy(), inside)  # a pure function of (stream, step)
    with sw.keyed(Seeds(4)["dropout"], 11):
        assert not np.array_equal(g.normal([4]).numpy(), inside)


def test_seed_everything_and_determinism_report(tf, keep_tf_state):
    report = sw.seed_everything(12, deterministic=True, frameworks=["tensorflow"])
    names = {s.name for s in report.settings if s.framework == "tensorflow"}
    assert "tf.random.set_seed" in names
    assert "tf.config.experimental.enable_op_determinism" in names
    from tensorflow.python.framework import config as tf_config

    assert tf_config.is_op_determinism_enabled()
    g = tf.random.get_global_generator()
    a = g.normal([4]).numpy()
    sw.seed_everything(12, frameworks=["tensorflow"])
    assert np.array_equal(g.normal([4]).numpy(), a)
    off = tfa.deterministic(False)
    assert off[0].value == "False" and not tf_config.is_op_determinism_enabled()


def test_version_listed_in_fingerprint(tf):
    assert tfa.available()
    assert tfa.version() == tf.__version__
    assert sw.fingerprint()["versions"]["tensorflow"] == tf.__version__


# -- in a fresh process: no torch, no runtime start --------------------------------------

TF_ONLY = textwrap.dedent(
    """
    import os, sys
    import tensorflow as tf
    import seedwise as sw

    modules, env = set(sys.modules), dict(os.environ)
    report = sw.seed_everything(0, deterministic=True)
    state = sw.RNGState.capture()
    with sw.keyed(sw.Seeds(0)["dropout"], 3):
        pass
    new = {m.split(".")[0] for m in set(sys.modules) - modules}
    assert "torch" not in sys.modules, sorted(new)
    assert not new & {"jax", "keras", "pytensor"}, sorted(new)
    assert "tensorflow" in state.frameworks and "torch" not in state.frameworks, state
    changed = {k for k in set(env) | set(os.environ) if env.get(k) != os.environ.get(k)}
    assert changed <= {s.name for s in report}, changed

    rows = {(s.framework, s.name): s for s in report}
    assert rows["torch", "imported"].note.startswith("not imported"), rows["torch", "imported"]
    assert rows["tensorflow", "tf.random.set_seed"].ok
    assert rows["tensorflow", "tf.config.experimental.enable_op_determinism"].ok
    generator = rows["tensorflow", "tf.random.get_global_generator"]
    assert not generator.ok and generator.value == "not created" and "Seeds.tensorflow()" in generator.note

    # TensorFlow's runtime has not started: threads and devices can still be configured.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    assert tf.config.threading.get_intra_op_parallelism_threads() == 1

    sw.seed_everything(0, deterministic=True)  # (keyed() left its own op seed: TF cannot restore that)
    a = tf.random.uniform([4]).numpy()  # op-seeded: repeats after seeding again
    again = sw.seed_everything(0, deterministic=True)  # the runtime runs now: the generator is made
    assert again.ok or all(s.name == "PYTHONHASHSEED" for s in again.not_applied), again
    assert (tf.random.uniform([4]).numpy() == a).all()
    g = tf.random.get_global_generator().normal([3]).numpy()
    sw.seed_everything(0)
    assert (tf.random.get_global_generator().normal([3]).numpy() == g).all()
    print("ok")
    """
)


@pytest.mark.slow
def test_tensorflow_process_gets_no_torch_and_keeps_its_runtime_configurable(tf):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, "-c", TF_ONLY], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


NAMED = textwrap.dedent(
    """
    import os, sys
    import torch
    import seedwise as sw

    env = dict(os.environ)
    report = sw.seed_everything(5, frameworks=["python", "numpy", "torch", "tensorflow"])
    assert "tensorflow" in sys.modules  # named: imported and seeded
    changed = {k for k in set(env) | set(os.environ) if env.get(k) != os.environ.get(k)}
    assert changed, "importing TensorFlow changes the environment"
    listed = {s.name: s for s in report if s.framework == "tensorflow"}
    assert changed <= set(listed), changed - set(listed)
    assert all("set by importing tensorflow" in listed[k].note for k in changed), [listed[k] for k in changed]
    assert listed["tf.random.set_seed"].value == "5"

    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)  # the import did not start the runtime
    print("ok")
    """
)


@pytest.mark.slow
def test_named_framework_is_imported_and_its_environment_changes_reported(tf):
    # A clean environment: this process imported TensorFlow, which set variables a child inherits.
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "PYTHONHASHSEED")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, "-c", NAMED], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
