"""Per-sample parameter draws per second: seedwise.stateless vs one NumPy generator per sample.

The claim: drawing each sample's random parameters as a pure function of
(stream, epoch, index) costs nothing next to the usual way of making per-sample
randomness reproducible, one generator per sample. Both sides draw exactly the same
numbers (NumPy's Philox at the same key and counter), checked below, on one core.

    OMP_NUM_THREADS=1 python benchmarks/stateless.py [--samples N] [--params P]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from seedwise import Seeds
from seedwise import stateless as S


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--params", type=int, default=4, help="random parameters per sample")
    parser.add_argument("--peer-samples", type=int, default=20_000, help="samples for the slow per-sample peers")
    args = parser.parse_args()
    stream = Seeds(0)["augment"]["affine"]
    epoch = 3
    idx = np.arange(args.samples)

    ours = S.raw(stream, (epoch, idx), size=args.params)
    ours_t = best_of(lambda: S.uniform(stream, (epoch, idx), size=args.params))

    key = stream.key
    blocks = -(-args.params // 4)

    def philox_fix(n: int) -> np.ndarray:
        # The counter's first word wraps to 0 and carries into word 1: undo the carry.
        out = np.empty((n, args.params), dtype=np.uint64)
        for i in range(n):
            bg = np.random.Philox(key=key, counter=np.array([2**64 - 1, epoch - 1, i, 0], dtype=np.uint64))
            out[i] = bg.random_raw(blocks * 4)[: args.params]
        return out

    m = args.peer_samples
    same = philox_fix(200)
    assert np.array_equal(same, ours[:200]), "peer and seedwise must draw the same numbers"
    peer_t = best_of(
        lambda: np.array(
            [
                np.random.Generator(
                    np.random.Philox(key=key, counter=np.array([2**64 - 1, epoch - 1, i, 0], dtype=np.uint64))
                ).random(args.params)
                for i in range(m)
            ]
        ),
        2,
    )
    ss_t = best_of(lambda: np.array([np.random.default_rng([0, epoch, i]).random(args.params) for i in range(m)]), 2)

    ours_rate = args.samples * args.params / ours_t
    peer_rate = m * args.params / peer_t
    ss_rate = m * args.params / ss_t
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, 1 thread")
    print(
        f"seedwise.stateless.uniform          : {ours_rate:14,.0f} parameter draws/s "
        f"({args.samples:,} samples x {args.params})"
    )
    print(f"one Philox Generator per sample     : {peer_rate:14,.0f} parameter draws/s (same numbers, checked)")
    print(f"one default_rng([seed, epoch, i])   : {ss_rate:14,.0f} parameter draws/s")
    print(f"ratio vs Philox-per-sample          : {ours_rate / peer_rate:8.1f}x")
    print(f"ratio vs default_rng-per-sample     : {ours_rate / ss_rate:8.1f}x")
    print(f"goal >= 1,000,000 draws/s           : {'met' if ours_rate >= 1e6 else 'NOT met'}")


if __name__ == "__main__":
    main()
