"""Cost of a per-step key from seedwise vs the framework's own way, per call (JAX, TensorFlow).

The claim: deriving each training step's key from the stream (``step_key(seeds, t)``,
a pure function of the stream and the step, so a resumed run needs no saved key) costs
about as much per step as the framework's own per-step derivation
(``jax.random.fold_in(key, t)``; a hand-made ``tf.random.stateless_*`` seed pair), so
nothing next to a training step. Keys for K ensemble members at once
(``member_keys``) are a Python loop over streams: far slower than ``jax.random.split``,
but paid once per ensemble, not per step. Runs whichever of JAX and TensorFlow is
installed.

    python benchmarks/framework_keys.py [--steps N]
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import time

import numpy as np

from seedwise import Seeds


def best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_jax(steps: int) -> None:
    import jax

    from seedwise.frameworks import jax as swjax

    seeds = Seeds(0)["train"]
    root = seeds.jax()

    def ours():
        for t in range(steps):
            jax.random.key_data(swjax.step_key(seeds, t)).block_until_ready()

    def peer():
        for t in range(steps):
            jax.random.key_data(jax.random.fold_in(root, t)).block_until_ready()

    ours(), peer()  # compile / warm up
    t_ours, t_peer = best_of(ours), best_of(peer)
    print(
        f"jax {jax.__version__}: step_key {t_ours / steps * 1e6:.1f} us/step, "
        f"fold_in {t_peer / steps * 1e6:.1f} us/step, ratio seedwise/jax = {t_ours / t_peer:.2f}"
    )

    k = 64
    t_ours = best_of(lambda: jax.random.key_data(swjax.member_keys(seeds, k)).block_until_ready())
    t_peer = best_of(lambda: jax.random.key_data(jax.random.split(root, k)).block_until_ready())
    print(
        f"jax: member_keys(k={k}) {t_ours * 1e3:.2f} ms, split(k={k}) {t_peer * 1e3:.2f} ms, "
        f"ratio = {t_ours / t_peer:.2f}"
    )


def bench_tensorflow(steps: int) -> None:
    import tensorflow as tf

    from seedwise.frameworks import tensorflow as swtf

    seeds = Seeds(0)["augment"]
    base = int(np.array(int(seeds), dtype=np.uint64).view(np.int64))

    def ours():
        for t in range(steps):
            tf.random.stateless_uniform([8], seed=swtf.stateless_seed(seeds[t]))

    def peer():
        for t in range(steps):
            tf.random.stateless_uniform([8], seed=tf.constant([base, t], dtype=tf.int64))

    ours(), peer()
    t_ours, t_peer = best_of(ours, 3), best_of(peer, 3)
    print(
        f"tensorflow {tf.__version__}: stateless_uniform with stateless_seed(seeds[t]) "
        f"{t_ours / steps * 1e6:.1f} us/step, with a hand-made [seed, t] pair {t_peer / steps * 1e6:.1f} us/step, "
        f"ratio = {t_ours / t_peer:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    print(f"{platform.machine()} {platform.system()}, Python {platform.python_version()}, {args.steps} steps")
    if importlib.util.find_spec("jax") is not None:
        bench_jax(args.steps)
    else:
        print("jax not installed: skipped")
    if importlib.util.find_spec("tensorflow") is not None:
        bench_tensorflow(args.steps)
    else:
        print("tensorflow not installed: skipped")


if __name__ == "__main__":
    main()
