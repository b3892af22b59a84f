"""swtf.initialize: every Keras weight keyed by its stable path, against real Keras 3."""

from __future__ import annotations

import numpy as np
import pytest

from seedwise import Seeds
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.frameworks import tensorflow as swtf
from seedwise.frameworks.tensorflow import _paths

pytestmark = pytest.mark.usefixtures("tf")


def _cnn(keras, *, extra: bool = False):
    layers = [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, name="conv")]
    if extra:  # an edit: a new layer of another class, before the others
        layers.append(keras.layers.LayerNormalization())
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(6, activation="relu"),  # left unnamed: Keras names it from a process-wide counter
        keras.layers.BatchNormalization(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(3, name="head"),
    ]
    return keras.Sequential(layers)


def _weights(model) -> dict[str, np.ndarray]:
    return {p.path: p.obj.numpy() for p in _paths.variables(model)}


def test_paths_do_not_depend_on_how_many_models_the_process_built(keras):
    first, second = _cnn(keras), _cnn(keras)
    assert first.layers[2].name != second.layers[2].name  # Keras's own names differ...
    paths = [p.path for p in _paths.variables(first)]
    assert paths == [p.path for p in _paths.variables(second)]  # ...seedwise's do not
    assert paths[:4] == ["conv/kernel", "conv/bias", "dense/kernel", "dense/bias"]
    assert "batch_normalization/moving_variance" in paths
    assert [p.path for p in _paths.seed_generators(first)] == ["dropout/seed_generator"]


def test_same_seeds_same_weights_in_one_process(keras):
    a, b = _cnn(keras), _cnn(keras)
    report = swtf.initialize(a, Seeds(1)["init"])
    swtf.initialize(b, Seeds(1)["init"])
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    c = _cnn(keras)
    swtf.initialize(c, Seeds(2)["init"])
    assert not np.array_equal(wa["conv/kernel"], _weights(c)["conv/kernel"])
    assert report["conv/kernel"].scheme == "GlorotUniform"
    assert report["conv/kernel"].stream == repr(Seeds(1)["init"]["conv/kernel"])
    assert report["conv/bias"].stream is None  # zeros draw nothing
    assert report["batch_normalization/moving_mean"].kind == "buffer"
    assert np.array_equal(wa["batch_normalization/moving_variance"], np.ones(6, "float32"))


def test_editing_one_layer_leaves_the_others(keras):
    plain, edited = _cnn(keras), _cnn(keras, extra=True)
    swtf.initialize(plain, Seeds(3)["init"])
    swtf.initialize(edited, Seeds(3)["init"])
    wp, we = _weights(plain), _weights(edited)
    assert set(we) - set(wp) == {"layer_normalization/gamma", "layer_normalization/beta"}
    assert all(np.array_equal(wp[k], we[k]) for k in wp)


def test_a_variable_equals_the_keyed_initializer(keras):
    model = _cnn(keras)
    swtf.initialize(model, Seeds(4)["init"])
    expected = swtf.initializer(Seeds(4)["init"], "head/kernel")((6, 3)).numpy()
    assert np.array_equal(model.get_layer("head").kernel.numpy(), expected)


def test_rules_and_keep(keras):
    model = _cnn(keras)
    before = model.get_layer("head").kernel.numpy().copy()
    report = swtf.initialize(model, Seeds(5), rules={"head/kernel": "keep", "conv/*": "he_normal"})
    assert np.array_equal(model.get_layer("head").kernel.numpy(), before)
    assert report["head/kernel"].scheme == "kept"
    assert report["conv/bias"].scheme == "HeNormal"
    with pytest.raises(InvalidArgumentError, match="not a Keras initialiser"):
        swtf.initialize(model, Seeds(5), rules={"conv/kernel": "no_such_init"})


def test_lstm_keeps_its_forget_bias_of_ones(keras):
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4, name="lstm")])
    swtf.initialize(model, Seeds(6))
    bias = model.get_layer("lstm").cell.bias.numpy()
    assert np.array_equal(bias, np.concatenate([np.zeros(4), np.ones(4), np.zeros(8)]).astype("float32"))
    assert {p.path for p in _paths.variables(model)} == {
        "lstm/lstm_cell/kernel",
        "lstm/lstm_cell/recurrent_kernel",
        "lstm/lstm_cell/bias",
    }


def test_bad_input(keras):
    with pytest.raises(InvalidTypeError, match="Keras model"):
        swtf.initialize(object(), Seeds(0))
    unbuilt = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(InvalidArgumentError, match="not built"):
        swtf.initialize(unbuilt, Seeds(0))

    class Bare(keras.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(2,), initializer="zeros", name="w")

    bare = keras.Sequential([keras.Input((2,)), Bare(name="bare")])
    with pytest.raises(InvalidArgumentError, match="'bare/w'.*rules="):
        swtf.initialize(bare, Seeds(0))
    swtf.initialize(bare, Seeds(0), rules={"bare/w": "ones"})
    assert np.array_equal(bare.get_layer("bare").w.numpy(), np.ones(2, "float32"))
