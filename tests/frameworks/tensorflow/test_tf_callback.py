"""swtf.SeedCallback with the real model.fit: dropout keyed by step, two runs identical, override(init=)
changes only init, and resumes through BackupAndRestore (mid-epoch, and at an epoch's last batch).

The SIGKILL + fresh-process resume is examples/keras_walkthrough.py (test_keras_walkthrough.py);
here a run is interrupted by an exception in the same process, which is much faster.
"""

from __future__ import annotations

import numpy as np
import pytest

from seedwise import Seeds
from seedwise import augment as A
from seedwise.errors import InvalidArgumentError
from seedwise.frameworks import tensorflow as swtf

pytestmark = pytest.mark.usefixtures("tf")

N, BATCH = 44, 8  # 6 batches an epoch, the last one short


class Interrupted(Exception):
    pass


def _data():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, size=(N, 6, 6, 1), dtype=np.uint8), rng.integers(0, 3, size=N)


def _run(keras, seeds, tmp_path, *, epochs=2, stop_at=None, save_freq=2, name="backup", extra=()):
    """Train a tiny CNN with dropout on augmented data; ``stop_at`` raises after that global step."""
    callbacks = list(extra)

    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if stop_at is not None and int(self.model.optimizer.iterations.numpy()) == stop_at:
                raise Interrupted

    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(3, 3, activation="relu", name="conv"),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(3, name="head"),
        ]
    )
    swtf.initialize(model, seeds["init"])
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    pipe = A.Compose([A.HorizontalFlip(0.5), A.Affine(degrees=10)], seeds=seeds["augment"])
    data = swtf.SeededDataset(_data(), seeds=seeds, batch_size=BATCH, augment=pipe)
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / name), save_freq=save_freq)
    callbacks = [backup, swtf.SeedCallback(seeds, data=data), *callbacks, Stop()]
    try:
        history = model.fit(data.dataset(), epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
    except Interrupted:
        return None, None
    return model.get_weights(), history


def _same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_two_runs_identical_and_override_init_changes_only_init(keras, tmp_path):
    seeds = Seeds(10)
    w1, _ = _run(keras, seeds, tmp_path, name="a")
    w2, _ = _run(keras, seeds, tmp_path, name="b")
    assert _same(w1, w2)
    w3, _ = _run(keras, seeds.override(init=3), tmp_path, name="c")
    assert not _same(w1, w3)
    # init is the only thing the override touched: the same order, augmentation and dropout keys
    other = seeds.override(init=3)
    assert np.array_equal(
        swtf.SeededDataset(_data(), seeds=other, batch_size=BATCH).indices(1),
        swtf.SeededDataset(_data(), seeds=seeds, batch_size=BATCH).indices(1),
    )
    assert np.array_equal(
        swtf.generator_state(other["dropout"], "dropout/seed_generator", 5),
        swtf.generator_state(seeds["dropout"], "dropout/seed_generator", 5),
    )


def test_dropout_state_is_keyed_by_path_and_step(keras, tmp_path):
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            layer = next(layer for layer in self.model.layers if isinstance(layer, keras.layers.Dropout))
            seen.append((int(self.model.optimizer.iterations.numpy()), layer.seed_generator.state.numpy().copy()))

    _run(keras, Seeds(2), tmp_path, epochs=1, extra=[Record()])
    assert [step for step, _ in seen] == list(range(6))
    for step, state in seen:
        assert np.array_equal(state, swtf.generator_state(Seeds(2)["dropout"], "dropout/seed_generator", step))
    assert len({tuple(s) for _, s in seen}) == 6


@pytest.mark.parametrize(
    ("stop_at", "save_freq"),
    [
        (9, 2),  # killed mid-epoch 1; the last backup is at step 8 (epoch 1, batch 2)
        pytest.param(7, 3, marks=pytest.mark.slow),  # the last backup is at step 6: epoch 0's last batch,
        # saved as "epoch 0" by Keras
    ],
)
def test_resume_through_backup_and_restore_is_bit_identical(keras, tmp_path, stop_at, save_freq):
    seeds = Seeds(4)
    reference, _ = _run(keras, seeds, tmp_path, epochs=3, save_freq=save_freq, name="ref")
    assert _run(keras, seeds, tmp_path, epochs=3, stop_at=stop_at, save_freq=save_freq)[0] is None
    resumed, history = _run(keras, seeds, tmp_path, epochs=3, save_freq=save_freq)
    assert _same(reference, resumed)
    assert len(history.history["loss"]) == 2  # epochs 1 and 2: the resume starts in epoch 1


def test_plain_keras_dropout_does_not_survive_a_resume(keras, tmp_path):
    """Why the callback exists: without it the same resume draws other dropout masks."""
    seeds = Seeds(4)

    def run(stop_at=None, name="plain"):
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dropout(0.5, seed=1), keras.layers.Dense(2, name="head")]
        )
        swtf.initialize(model, seeds["init"])
        model.compile(keras.optimizers.SGD(0.1), "mse")
        x = np.linspace(0, 1, 64, dtype="float32").reshape(16, 4)

        class Stop(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if stop_at is not None and int(self.model.optimizer.iterations.numpy()) == stop_at:
                    raise Interrupted

        backup = keras.callbacks.BackupAndRestore(str(tmp_path / name), save_freq="epoch")
        try:
            model.fit(x, x[:, :2], batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[backup, Stop()])
        except Interrupted:
            return None
        return model.get_weights()

    reference = run(name="ref")
    assert run(stop_at=6) is None
    assert not _same(reference, run())


def test_refusals_name_the_fix(keras, tmp_path):
    seeds = Seeds(1)
    weights, _ = _run(keras, seeds, tmp_path, epochs=1, name="once")
    assert weights is not None
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.compile(keras.optimizers.SGD(0.1), "mse", steps_per_execution=2)
    data = swtf.SeededDataset(_data(), seeds=seeds, batch_size=BATCH)
    with pytest.raises(InvalidArgumentError, match="steps_per_execution=1"):
        model.fit(data.dataset(), epochs=1, shuffle=False, verbose=0, callbacks=[swtf.SeedCallback(seeds, data=data)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    y = np.zeros((N, 3), "float32")
    src = swtf.SeededDataset((_data()[0], y), seeds=seeds, batch_size=BATCH)
    model.fit(src.dataset(), epochs=1, shuffle=False, verbose=0, callbacks=[swtf.SeedCallback(seeds, data=src)])
    with pytest.raises(InvalidArgumentError, match="pass epochs=2"):
        model.fit(src.dataset(), epochs=1, shuffle=False, verbose=0, callbacks=[swtf.SeedCallback(seeds, data=src)])
    with pytest.raises(InvalidArgumentError, match="initial_epoch=1"):
        model.fit(src.dataset(), epochs=3, shuffle=False, verbose=0, callbacks=[swtf.SeedCallback(seeds, data=src)])
    model.fit(
        src.dataset(),
        epochs=2,
        initial_epoch=1,
        shuffle=False,
        verbose=0,
        callbacks=[swtf.SeedCallback(seeds, data=src)],
    )
    assert int(model.optimizer.iterations.numpy()) == 2 * len(src)
