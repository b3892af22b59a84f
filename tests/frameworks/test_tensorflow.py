"""seedwise.frameworks.tensorflow: conversions and Keras initialisers, against the real
TensorFlow (CPU) and Keras 3. (The global-state adapter: tests/process/adapters/.)

TensorFlow is imported once, by the module-scoped ``tf`` fixture, so that only the tests
that need it pay for its import (5-25 s); the absence test runs without it.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from seedwise import Seeds
from seedwise._optional import import_keeping_global_rngs
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.frameworks import tensorflow as tfa
from seedwise.process.adapters import tensorflow as tf_adapter

# Whether this module's first import of TensorFlow (through the adapter) left Python's and
# NumPy's global RNGs as they were; None when TensorFlow was already imported.
_FIRST_IMPORT_KEPT_GLOBALS: bool | None = None


def _global_states():
    name, keys, pos, has_gauss, cached = np.random.get_state()  # global-rng-ok: compares the global state
    return random.getstate(), (name, keys.tobytes(), pos, has_gauss, cached)


@pytest.fixture(scope="module")
def tf():
    global _FIRST_IMPORT_KEPT_GLOBALS
    if not tf_adapter.available():
        pytest.skip("needs the tensorflow extra: pip install 'seedwise[tensorflow]'")
    first = "tensorflow" not in sys.modules
    before = _global_states()
    tf = import_keeping_global_rngs("tensorflow", "tensorflow", "the tests")  # as seedwise imports it
    if first:
        _FIRST_IMPORT_KEPT_GLOBALS = _global_states() == before
    import keras  # noqa: F401  (Keras 3 ships with TensorFlow >= 2.16)

    return tf


def test_first_import_keeps_python_and_numpy_global_rngs(tf):
    """Importing TensorFlow draws from random and np.random; seed_everything must not lose its seeds to it."""
    if _FIRST_IMPORT_KEPT_GLOBALS is None:
        pytest.skip("TensorFlow was imported before this module ran")
    assert _FIRST_IMPORT_KEPT_GLOBALS


@pytest.fixture
def keep_tf_state(tf):
    """Put TensorFlow's global generator and op determinism back after a test."""
    from tensorflow.python.framework import config as tf_config

    state = tf_adapter.capture()
    was_deterministic = tf_config.is_op_determinism_enabled()
    yield
    tf_adapter.restore(state)
    if not was_deterministic:
        tf_config.disable_op_determinism()


# -- conversions ----------------------------------------------------------------------


def test_generator_from_seeds_same_stream_same_draws(tf):
    a = Seeds(5)["noise"].tensorflow().normal([64]).numpy()
    b = Seeds(5)["noise"].tensorflow().normal([64]).numpy()
    c = Seeds(6)["noise"].tensorflow().normal([64]).numpy()
    d = Seeds(5)["other"].tensorflow().normal([64]).numpy()
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, d)


def test_generator_is_keyed_not_offset(tf):
    """Known answer: Philox, counter zero, key from the stream (not a counter offset like from_seed)."""
    g = Seeds(0).tensorflow()
    assert g.algorithm == tf.random.Algorithm.PHILOX.value
    assert g.state.numpy().tolist() == [0, 0, -392916990421885039]
    # Two seeds whose TF from_seed streams overlap one block apart do not overlap here.
    g1, g2 = Seeds(5).tensorflow(), Seeds(6).tensorflow()
    first = g1.uniform([8], dtype=tf.float32).numpy()
    second = g2.uniform([8], dtype=tf.float32).numpy()
    assert not np.isin(first, second).any()


def test_stateless_seed_pure_function_of_stream(tf):
    s = Seeds(11)["augment"]
    seed = tfa.stateless_seed(s[3])
    assert seed.dtype == tf.int64 and seed.shape == (2,)
    x = tf.random.stateless_uniform([16], seed=seed).numpy()
    y = tf.random.stateless_uniform([16], seed=tfa.stateless_seed(Seeds(11)["augment"][3])).numpy()
    z = tf.random.stateless_uniform([16], seed=tfa.stateless_seed(s[4])).numpy()
    assert np.array_equal(x, y)
    assert not np.array_equal(x, z)
    pair32 = tfa.stateless_seed(s[3], dtype="int32")
    assert pair32.dtype == tf.int32
    assert np.array_equal(
        tf.random.stateless_normal([4], seed=pair32).numpy(), tf.random.stateless_normal([4], seed=pair32).numpy()
    )
    with pytest.raises(InvalidArgumentError, match="'int64', 'int32'"):
        tfa.stateless_seed(s, dtype="float32")


def test_initializer_keyed_by_name(tf):
    s = Seeds(3)["init"]
    a = tfa.initializer(s, "dense/kernel", "glorot_uniform")((4, 5)).numpy()
    b = tfa.initializer(Seeds(3)["init"], "dense/kernel", "glorot_uniform")((4, 5)).numpy()
    c = tfa.initializer(s, "dense_1/kernel", "glorot_uniform")((4, 5)).numpy()
    d = tfa.initializer(Seeds(4)["init"], "dense/kernel", "glorot_uniform")((4, 5)).numpy()
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, d)
    assert tfa.initializer_seed(s, "dense/kernel") == tfa.initializer_seed(Seeds(3)["init"], "dense/kernel")
    scaled = tfa.initializer(s, "w", "variance_scaling", scale=2.0, mode="fan_in")
    assert scaled.get_config()["scale"] == 2.0
    assert scaled.get_config()["seed"] == tfa.initializer_seed(s, "w")


def test_known_answers_need_no_tensorflow():
    """The seeds handed to TF and Keras are fixed functions of the stream (users' seeds keep their meaning)."""
    assert tfa.initializer_seed(Seeds(0), "dense/kernel") == 3460779518
    assert tfa.initializer_seed(Seeds(0)["init"], "dense/kernel") != 3460779518


def test_stateless_seed_known_answer(tf):
    assert tfa.stateless_seed(Seeds(0)).numpy().tolist() == [6672462878429085434, 1985074328226743541]


def test_initializer_rejects_bad_input():
    with pytest.raises(InvalidArgumentError, match="glorot_uniform"):
        tfa.initializer(Seeds(0), "dense/kernel", "glorot")
    with pytest.raises(InvalidArgumentError, match="name"):
        tfa.initializer_seed(Seeds(0), "")
    with pytest.raises(InvalidTypeError):
        tfa.initializer_seed(1.5, "w")


def _model(tf, seeds: Seeds, *, extra_first: bool):
    import keras

    def dense(units, name, activation=None):
        return keras.layers.Dense(
            units,
            name=name,
            activation=activation,
            kernel_initializer=tfa.initializer(seeds, f"{name}/kernel"),
            bias_initializer="zeros",
        )

    layers = [keras.Input((6,))]
    if extra_first:  # a new layer, built before the others, must not shift their weights
        layers.append(dense(6, "adapter", "relu"))
    layers += [dense(8, "hidden", "tanh"), dense(3, "head")]
    return keras.Sequential(layers)


def test_keras_initial_weights_independent_of_construction_order(tf):
    s = Seeds(21)["init"]
    plain = _model(tf, s, extra_first=False)
    edited = _model(tf, s, extra_first=True)
    for name in ("hidden", "head"):
        assert np.array_equal(plain.get_layer(name).kernel.numpy(), edited.get_layer(name).kernel.numpy())
    assert not np.array_equal(
        plain.get_layer("hidden").kernel.numpy(),
        _model(tf, Seeds(22)["init"], extra_first=False).get_layer("hidden").kernel.numpy(),
    )


def _train(tf, seed: int):
    """Tiny Keras classifier: init keyed by name, data from Seeds, a few fit steps."""
    import keras

    seeds = Seeds(seed)
    tf_adapter.seed(int(seeds["globals"]))  # fit's internals may read the global op seed
    model = _model(tf, seeds["init"], extra_first=False)
    rng = Seeds(0)["data"].numpy()  # same data for every seed: only init varies
    x = rng.normal(size=(64, 6)).astype("float32")
    y = rng.integers(0, 3, size=64)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return [w.numpy() for w in model.weights], history.history["loss"]


def test_keras_fit_bitwise_repeatable_with_op_determinism(tf, keep_tf_state):
    settings = tf_adapter.deterministic(True)
    assert settings[0].name == "tf.config.experimental.enable_op_determinism" and settings[0].ok
    w1, loss1 = _train(tf, 1)
    w2, loss2 = _train(tf, 1)
    w3, loss3 = _train(tf, 2)
    assert len(w1) == 4
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2, strict=True))
    assert loss1 == loss2
    assert not np.array_equal(w1[0], w3[0])
    assert loss1 != loss3


# -- absence ------------------------------------------------------------------------------

ABSENT = textwrap.dedent(
    """
    import sys
    sys.modules["tensorflow"] = None  # as if the extra were not installed
    sys.modules["keras"] = None
    import seedwise as sw
    from seedwise import Seeds
    from seedwise.errors import MissingDependencyError
    from seedwise.frameworks import tensorflow as tfa
    from seedwise.process.adapters import tensorflow as tf_adapter

    assert not tf_adapter.available() and tf_adapter.version() is None
    for call in (lambda: Seeds(0).tensorflow(), lambda: tfa.stateless_seed(Seeds(0)),
                 lambda: tfa.initializer(Seeds(0), "dense/kernel")):
        try:
            call()
        except MissingDependencyError as exc:
            assert "seedwise[tensorflow]" in str(exc), exc
        else:
            raise AssertionError("no MissingDependencyError")
    light = ["python", "numpy", "tensorflow", "jax", "pytensor"]  # torch's import would only cost time here
    report = sw.seed_everything(0, deterministic=True, frameworks=light)
    assert any(s.framework == "tensorflow" and "not installed" in s.note for s in report.settings)
    assert "tensorflow" not in sw.RNGState.capture(frameworks=light).frameworks
    assert "tensorflow" not in sw.frameworks.installed()
    assert Seeds(0).numpy().random() >= 0  # everything else still works
    print("ok")
    """
)


def test_without_tensorflow_everything_else_works():
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, "-c", ABSENT], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
