"""MC dropout, T = 32 samples: seedwise's batched mc_dropout vs a Python loop of T forwards.

One MLP 64-256-256-10 with dropout 0.5 after each hidden layer, on digits-sized inputs,
ONE thread, one process. For a batch of B inputs:

* seedwise batched: ``mc_dropout(model, x, samples=32, seeds=s)`` -- the 32 copies of the
  batch stacked into one forward of 32*B rows, every mask keyed by (stream, t, call);
* seedwise looped: the same call with ``chunk_size=1`` (same masks, 32 forwards);
* torch loop (the peer, what people write today): ``model.train()`` and 32 plain forwards
  under ``no_grad`` with torch's global-RNG dropout, then ``softmax``.

Reported: ms per prediction of all 32 samples (median of the rounds) and the speed-up
torch loop / seedwise batched. Goal: >= 3x. Batching removes per-forward overhead, and
seedwise's compiled keyed masks cost about a fifteenth of torch's ``bernoulli_`` draws,
so the gain is largest for small batches (online prediction) and shrinks as B grows and
the matrix products, the same on both sides, take over.

Large tensors are page-faulted in afresh on every step under glibc's default malloc
(allocations above its mmap threshold are mapped and unmapped each time), which slows the
vectorised side, whose tensors are K times larger, more than the loop: run it also with
``MALLOC_MMAP_THRESHOLD_=4000000000 MALLOC_TRIM_THRESHOLD_=4000000000`` in the environment
(or jemalloc/tcmalloc) to see both sides without that cost. The header prints the setting.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mc_dropout.py [--rounds 5]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import statistics
import time

import torch
from torch import nn

from seedwise import Seeds
from seedwise.bayes import mc_dropout
from seedwise.init import initialize

SAMPLES = 32


def model() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, 256),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(256, 256),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(256, 10),
    )


def timed(fn, repeats: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="*", default=[1, 16, 128, 512])
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = model()
    initialize(net, Seeds(0)["init"])
    seeds = Seeds(0)["mc"]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, T = {SAMPLES}")
    tunables = {name: os.environ.get(name, "default") for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    print("glibc malloc: " + ", ".join(f"{name}={value}" for name, value in tunables.items()))
    print(f"{'B':>5} {'batched ms':>11} {'seedwise loop ms':>17} {'torch loop ms':>14} {'speed-up vs torch loop':>23}")
    for batch in args.batches:
        x = torch.from_numpy(Seeds(1)["x"].numpy().random((batch, 64), dtype="float32"))
        repeats = max(1, 256 // batch)

        def batched(x: torch.Tensor = x) -> None:
            mc_dropout(net, x, samples=SAMPLES, seeds=seeds)

        def seedwise_loop(x: torch.Tensor = x) -> None:
            mc_dropout(net, x, samples=SAMPLES, seeds=seeds, chunk_size=1)

        def torch_loop(x: torch.Tensor = x) -> None:
            net.train()
            with torch.no_grad():
                torch.stack([net(x) for _ in range(SAMPLES)]).softmax(-1)
            net.eval()

        rows: dict[str, list[float]] = {"b": [], "s": [], "t": []}
        for _ in range(args.rounds):  # alternate so machine load hits all three alike
            rows["b"].append(timed(batched, repeats))
            rows["s"].append(timed(seedwise_loop, repeats))
            rows["t"].append(timed(torch_loop, repeats))
        b, s, t = (statistics.median(rows[key]) for key in "bst")
        print(f"{batch:>5} {b * 1e3:>11.2f} {s * 1e3:>17.2f} {t * 1e3:>14.2f} {t / b:>22.2f}x", flush=True)


if __name__ == "__main__":
    main()
