"""Keras + seedwise, start to finish: a small CNN on scikit-learn's digits, trained with
``model.fit`` on a shuffled tf.data pipeline with random augmentation (in TensorFlow ops),
dropout, and ``BackupAndRestore``.

The seedwise calls are the whole of the glue:

* ``swtf.SeededDataset``: the order of epoch e is a pure function of (seeds["data_order"], e),
  each image's augmentation of (seeds["augment"], e, its index);
* ``swtf.initialize``: every weight drawn from seeds["init"][its layer path];
* ``swtf.SeedCallback``: every Dropout mask keyed by (seeds["dropout"], layer path, step),
  and the data put where ``optimizer.iterations`` says after a resume.

``main()`` then shows, by assertions, that the final weights are bit for bit the same
across two runs, across ``num_parallel_calls`` (1 and AUTOTUNE), and after a SIGKILL in
the middle of an epoch and a resume in a fresh process; and that another init seed
changes the weights.

Run:  python examples/keras_walkthrough.py        (exit status 0 when every claim holds)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile

import keras
import numpy as np
from sklearn.datasets import load_digits

import seedwise as sw
from seedwise import augment as A
from seedwise.frameworks import tensorflow as swtf

EPOCHS = 2
BATCH_SIZE = 128


def digits() -> tuple[np.ndarray, np.ndarray]:
    """1,797 grey 8x8 digits as uint8 images (H x W x 1) and their labels."""
    x, y = load_digits(return_X_y=True)
    return (x.reshape(-1, 8, 8, 1) * 16).clip(0, 255).astype("uint8"), y


def build_model() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv"),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3, name="drop"),
            keras.layers.Dense(10, name="head"),
        ]
    )


def train(seeds: sw.Seeds, backup_dir: str, *, num_parallel_calls: int | None = None, callbacks=()) -> list:
    """One training run; returns the final weights."""
    model = build_model()
    swtf.initialize(model, seeds["init"])
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    augment = A.Compose(
        [A.Affine(degrees=10, translate=0.1), A.ColorJitter(brightness=0.2, contrast=0.2)], seeds=seeds["augment"]
    )
    data = swtf.SeededDataset(
        digits(), seeds=seeds, batch_size=BATCH_SIZE, augment=augment, num_parallel_calls=num_parallel_calls
    )
    backup = keras.callbacks.BackupAndRestore(backup_dir, save_freq=4)
    model.fit(
        data.dataset(),
        epochs=EPOCHS,
        shuffle=False,
        verbose=0,
        callbacks=[backup, swtf.SeedCallback(seeds, data=data), *callbacks],
    )
    return model.get_weights()


class Crash(keras.callbacks.Callback):
    """Not glue: simulates a crash by SIGKILLing this process after training step ``at``."""

    def __init__(self, at: int):
        super().__init__()
        self.at = at

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.at:
            os.kill(os.getpid(), signal.SIGKILL)


def same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def child(workdir: str, crash_at: int | None) -> None:
    """A run in a fresh process: killed at ``crash_at``, or resumed from the backup, saving its weights."""
    seeds = sw.Seeds(2026)
    weights = train(seeds, os.path.join(workdir, "backup"), callbacks=[Crash(crash_at)] if crash_at else [])
    np.savez(os.path.join(workdir, "resumed.npz"), *weights)


def main() -> None:
    seeds = sw.Seeds(2026)
    with tempfile.TemporaryDirectory() as workdir:
        first = train(seeds, os.path.join(workdir, "a"))
        assert same(first, train(seeds, os.path.join(workdir, "b"))), "two runs differ"
        assert same(first, train(seeds, os.path.join(workdir, "c"), num_parallel_calls=1)), "num_parallel_calls"
        other_init = train(seeds.override(init=7), os.path.join(workdir, "d"))
        assert not same(first, other_init), "another init seed changed nothing"

        # SIGKILL in the middle of epoch 1 (a step after the last backup), then a fresh process resumes.
        steps = -(-len(digits()[1]) // BATCH_SIZE)
        crash_at = steps + steps // 2 + 1
        script, env = os.path.abspath(__file__), dict(os.environ)
        killed = subprocess.run([sys.executable, script, "--child", workdir, str(crash_at)], env=env)
        assert killed.returncode == -signal.SIGKILL, f"the crash run ended with {killed.returncode}"
        resumed = subprocess.run([sys.executable, script, "--child", workdir], env=env)
        assert resumed.returncode == 0, "the resumed run failed"
        with np.load(os.path.join(workdir, "resumed.npz")) as saved:
            assert same(first, [saved[f"arr_{i}"] for i in range(len(first))]), "the resumed run differs"
    print("identical weights: across runs, across num_parallel_calls, and after SIGKILL + resume")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
    else:
        main()
