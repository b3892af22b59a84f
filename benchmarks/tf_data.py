"""images/s of a tf.data input pipeline with random augmentation, three ways, side by side.

* seedwise: ``swtf.SeededDataset(..., augment=pipe)``: seedwise's parameters per
  (epoch, index), the pixels computed in TensorFlow ops (``ImageProjectiveTransformV3``
  for the flip + affine, multiply-adds for the colour), without the GIL;
* the same seedwise pipeline through ``tf.numpy_function`` (``pipe(batch, indices=,
  epoch=)``: OpenCV, holding the GIL while it runs): what a user had to write before;
* Keras's own random layers (``RandomFlip``, ``RandomRotation``, ``RandomTranslation``,
  ``RandomZoom``, ``RandomBrightness``, ``RandomContrast``) mapped over the batches: not
  keyed by (epoch, index), so neither reproducible across ``num_parallel_calls`` nor
  resumable; the speed reference.

Pipeline: HorizontalFlip(0.5), Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
ColorJitter(brightness=0.2, contrast=0.2) on uint8 RGB images, batch 32,
``num_parallel_calls=AUTOTUNE``. The three are timed round-robin (one epoch each per
round, best of ``--rounds`` after a warm-up epoch), so load changes hit all alike; read
the ratios.

    python benchmarks/tf_data.py [--n 1024] [--size 96] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from seedwise import Seeds
from seedwise import augment as A


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024, help="images per epoch")
    parser.add_argument("--size", type=int, default=96, help="image height and width")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from seedwise.frameworks import tensorflow as swtf

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0 : args.size, 0 : args.size]
    base = np.stack([xx, yy, (xx + yy) // 2], axis=-1).astype(np.float32) * (255.0 / (2 * args.size))
    images = np.clip(base[None] + rng.normal(0, 20, (args.n, args.size, args.size, 3)), 0, 255).astype(np.uint8)
    labels = np.arange(args.n)
    seeds = Seeds(0)

    def pipe() -> A.Compose:
        return A.Compose(
            [
                A.HorizontalFlip(0.5),
                A.Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
                A.ColorJitter(brightness=0.2, contrast=0.2),
            ],
            seeds=seeds["augment"],
        )

    source = swtf.SeededDataset((images, labels), seeds=seeds, batch_size=args.batch, augment=pipe())

    numpy_pipe = pipe()

    def numpy_batch(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return numpy_pipe(x, indices=idx, epoch=0)

    def via_numpy_function(x, y):
        out = tf.numpy_function(numpy_batch, [x, y], tf.uint8, stateful=False)
        out.set_shape(x.shape)
        return out, y

    numpy_ds = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(args.n, seed=0)
        .batch(args.batch)
        .map(via_numpy_function, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )

    layers = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=1),
            keras.layers.RandomRotation(15 / 360, fill_mode="constant", seed=2),
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=3),
            keras.layers.RandomZoom(0.1, fill_mode="constant", seed=4),
            keras.layers.RandomBrightness(0.2, value_range=(0, 255), seed=5),
            keras.layers.RandomContrast(0.2, seed=6),
        ]
    )
    keras_ds = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(args.n, seed=0)
        .batch(args.batch)
        .map(
            lambda x, y: (tf.cast(layers(tf.cast(x, tf.float32), training=True), tf.uint8), y),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )

    sides = {  # each dataset built once and iterated once per epoch, as model.fit does
        "seedwise SeededDataset (TF ops)": source.dataset(),
        "seedwise pipe via tf.numpy_function": numpy_ds,
        "Keras random layers": keras_ds,
    }

    def epoch(make) -> float:
        t = time.perf_counter()
        count = 0
        for x, _ in make:
            count += int(x.shape[0])
        assert count == args.n, count
        return time.perf_counter() - t

    for make in sides.values():
        epoch(make)  # warm-up: tracing, autotune
    best = {name: float("inf") for name in sides}
    for _ in range(args.rounds):
        for name, make in sides.items():
            best[name] = min(best[name], epoch(make))

    print(
        f"{platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}; {args.n} images {args.size}x{args.size}x3 uint8, batch {args.batch}, "
        f"best of {args.rounds}"
    )
    ours = args.n / best["seedwise SeededDataset (TF ops)"]
    print(f"{'method':40s} {'images/s':>10s} {'vs seedwise':>12s}")
    for name, seconds in best.items():
        rate = args.n / seconds
        print(f"{name:40s} {rate:10,.0f} {ours / rate:11.2f}x")


if __name__ == "__main__":
    main()
