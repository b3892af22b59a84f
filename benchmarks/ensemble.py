"""Deep-ensemble training step: seedwise's vectorised Ensemble vs a Python loop over K models.

Both sides train K members of the same architecture on digits-sized inputs, each member on
its own batch of 64 (its own data order), with Adam, on ONE thread, in one process:

* seedwise: ``Ensemble(...).train_step(x, y, per_member=True)`` -- one ``vmap`` forward
  and backward over the stacked parameters and one Adam step on the stacked tensors;
* loop (the peer, what people write today): K ordinary ``nn.Module`` s with K
  ``torch.optim.Adam``; per member ``zero_grad``, forward, loss, backward, step.

Models: an MLP 64-128-128-10 and a small CNN (1x8x8 -> conv 16 -> conv 16 -> linear 10);
also the MLP with dropout 0.2 (seedwise: keyed per-member masks; loop: torch's global-RNG
dropout). K = 4, 8, 16. Reported: ms per training step of all K members (median of the
rounds, after warm-up) and the speed-up loop / seedwise. Goal: >= 2x at K = 16.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ensemble.py [--steps 20] [--rounds 5]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from seedwise import Seeds  # noqa: E402
from seedwise.ensemble import Ensemble  # noqa: E402

BATCH = 64


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))


def mlp_dropout() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10)
    )


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(16 * 64, 10),
    )  # fmt: skip


MODELS = {"mlp": (mlp, (64,)), "mlp+dropout": (mlp_dropout, (64,)), "cnn": (cnn, (1, 8, 8))}


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


def bench(name: str, k: int, steps: int, rounds: int) -> tuple[float, float]:
    make, shape = MODELS[name]
    data = Seeds(0)["bench"].numpy()
    x = torch.from_numpy(data.random((k, BATCH) + shape, dtype="float32"))
    y = torch.from_numpy(data.integers(0, 10, size=(k, BATCH)))
    run_seeds = Seeds(1)

    ens = Ensemble(make, k, seeds=Seeds(0)["init"], lr=1e-3)

    def vectorised() -> None:
        ens.train_step(x, y, seeds=run_seeds, per_member=True)

    members = [make() for _ in range(k)]
    optimizers = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in members]
    for m in members:
        m.train()

    def loop() -> None:
        for i, (m, opt) in enumerate(zip(members, optimizers)):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(m(x[i]), y[i])
            loss.backward()
            opt.step()

    # alternate the two sides round by round so machine load hits both alike
    t_vec, t_loop = [], []
    for _ in range(rounds):
        t_vec.append(timed(vectorised, steps, 1))
        t_loop.append(timed(loop, steps, 1))
    return statistics.median(t_vec), statistics.median(t_loop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--k", type=int, nargs="*", default=[4, 8, 16])
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {BATCH} per member, Adam")
    print(f"{'model':<12} {'K':>3} {'seedwise ms/step':>17} {'loop ms/step':>13} {'speed-up':>9}")
    for name in args.models:
        for k in args.k:
            vec, loop = bench(name, k, args.steps, args.rounds)
            print(f"{name:<12} {k:>3} {vec * 1e3:>17.2f} {loop * 1e3:>13.2f} {loop / vec:>8.2f}x", flush=True)


if __name__ == "__main__":
    main()
