"""Deep-ensemble training step: seedwise's vectorised Ensemble vs a Python loop over K models.

Both sides train K members of the same architecture on digits-sized inputs, each member on
its own batch of 64 (its own data order), with Adam, on ONE thread, in one process:

* seedwise: ``Ensemble(...).train_step(x, y, per_member=True)`` -- one forward and
  backward of all members over the stacked parameters (the MLPs through the direct
  stacked forward, one batched matrix product per layer; the CNNs through ``vmap``) and
  one fused Adam step on the stacked tensors;
* loop (the peer, what people write today): K ordinary ``nn.Module`` s with K
  ``torch.optim.Adam``; per member ``zero_grad``, forward, loss, backward, step;
* the same loop with ``torch.optim.Adam(fused=True)`` (seedwise uses torch's fused Adam
  on the stacked tensors, so this is the like-for-like peer).

Models: an MLP 64-128-128-10 and a small CNN (1x8x8 -> conv 16 -> conv 16 -> linear 10);
also the MLP with dropout 0.2 (seedwise: keyed per-member masks; loop: torch's global-RNG
dropout) and a CNN with max-pooling (conv 16 -> pool -> conv 32 -> pool -> linear 10).
K = 4, 8, 16. Reported: ms per training step of all K members (median of the rounds,
after warm-up), the speed-up loop / seedwise against both loops (the median over rounds
of each round's ratio, which load drifting between rounds cannot skew), and the share
of the loop's step spent inside convolution and pooling kernels (``--profile``), the part that
vectorising cannot remove on a CPU. Goal: >= 2x at K = 16.

Large tensors are page-faulted in afresh on every step under glibc's default malloc
(allocations above its mmap threshold are mapped and unmapped each time), which slows the
vectorised side, whose tensors are K times larger, more than the loop: run it also with
``MALLOC_MMAP_THRESHOLD_=4000000000 MALLOC_TRIM_THRESHOLD_=4000000000`` in the environment
(or jemalloc/tcmalloc) to see both sides without that cost. The header prints the setting.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ensemble.py [--steps 20] [--rounds 5]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from seedwise import Seeds
from seedwise.ensemble import Ensemble

BATCH = 64


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))


def mlp_dropout() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, 128),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(128, 128),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(128, 10),
    )


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(16 * 64, 10),
    )  # fmt: skip


def cnn_pool() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4, 10),
    )  # fmt: skip


MODELS = {
    "mlp": (mlp, (64,)),
    "mlp+dropout": (mlp_dropout, (64,)),
    "cnn": (cnn, (1, 8, 8)),
    "cnn+pool": (cnn_pool, (1, 8, 8)),
}


def timed(step, steps: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean seconds per step over ``steps`` steps (after warm-up)."""
    for _ in range(3):
        step()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def bench(name: str, k: int, steps: int, rounds: int) -> tuple[float, float, float, float, float]:
    """Median ms of seedwise, loop and fused loop, and the median per-round speed-ups."""
    make, shape = MODELS[name]
    data = Seeds(0)["bench"].numpy()
    x = torch.from_numpy(data.random((k, BATCH) + shape, dtype="float32"))
    y = torch.from_numpy(data.integers(0, 10, size=(k, BATCH)))
    run_seeds = Seeds(1)

    ens = Ensemble(make, k, seeds=Seeds(0)["init"], lr=1e-3)

    def vectorised() -> None:
        ens.train_step(x, y, seeds=run_seeds, per_member=True)

    loops = {fused: _loop(make, k, x, y, fused) for fused in (False, True)}

    # alternate the sides round by round so machine load hits all alike
    t_vec, t_loop, t_fused = [], [], []
    for _ in range(rounds):
        t_vec.append(timed(vectorised, steps, 1))
        t_loop.append(timed(loops[False], steps, 1))
        t_fused.append(timed(loops[True], steps, 1))
    return (
        statistics.median(t_vec),
        statistics.median(t_loop),
        statistics.median(t_fused),
        statistics.median(lo / v for v, lo in zip(t_vec, t_loop)),
        statistics.median(fu / v for v, fu in zip(t_vec, t_fused)),
    )


def _loop(make, k: int, x: torch.Tensor, y: torch.Tensor, fused: bool):
    members = [make() for _ in range(k)]
    optimizers = [torch.optim.Adam(m.parameters(), lr=1e-3, fused=fused) for m in members]
    for m in members:
        m.train()

    def loop() -> None:
        for i, (m, opt) in enumerate(zip(members, optimizers)):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(m(x[i]), y[i])
            loss.backward()
            opt.step()

    return loop


def kernel_share(name: str, k: int, steps: int) -> float:
    """Fraction of the (default-Adam) loop's CPU time spent in convolution and pooling kernels."""
    from torch.profiler import profile

    make, shape = MODELS[name]
    x = torch.zeros((k, BATCH) + shape)
    y = torch.zeros(k, BATCH, dtype=torch.long)
    loop = _loop(make, k, x, y, False)
    for _ in range(3):
        loop()
    saved = os.dup(2)  # the profiler's C++ side prints start/stop lines on stderr
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    try:
        with profile() as prof:
            for _ in range(steps):
                loop()
    finally:
        os.dup2(saved, 2)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    heavy = sum(e.self_cpu_time_total for e in events if "conv" in e.key or "pool" in e.key)
    return heavy / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--k", type=int, nargs="*", default=[4, 8, 16])
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--profile", action="store_true", help="also print the loop's share of conv/pool kernel time")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {BATCH} per member, Adam")
    tunables = {name: os.environ.get(name, "default") for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    print("glibc malloc: " + ", ".join(f"{name}={value}" for name, value in tunables.items()))
    print(
        f"{'model':<12} {'K':>3} {'seedwise ms':>12} {'loop ms':>8} {'fused loop ms':>14} "
        f"{'speed-up':>9} {'vs fused':>9}" + (f" {'conv+pool share':>16}" if args.profile else "")
    )
    for name in args.models:
        for k in args.k:
            vec, loop, fused, up, up_fused = bench(name, k, args.steps, args.rounds)
            line = f"{name:<12} {k:>3} {vec * 1e3:>12.2f} {loop * 1e3:>8.2f} {fused * 1e3:>14.2f}"
            line += f" {up:>8.2f}x {up_fused:>8.2f}x"
            if args.profile:
                line += f" {kernel_share(name, k, args.steps):>15.0%}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
