"""Per-sample keyed dropout (world-size invariant) vs per-step keyed dropout vs torch's dropout.

Three ways to drop units in a training step, ONE thread, one process, CPU:

* torch (the peer): ``nn.Dropout`` drawing its masks from the global RNG (``bernoulli_``);
* seedwise per-step: ``keyed_dropout(seeds, step)``, one call seed per dropout call;
* seedwise per-sample: ``keyed_dropout(seeds, per_sample=(epoch, indices))``, one call
  seed per batch row from (epoch, sample index, call): the masks that do not depend on the
  number of processes.

Two measurements, for each batch size B:

* ``mask``: one ``F.dropout(x, 0.5)`` on a (B, 1024) float32 tensor, entering the mode
  each time (what a training step pays per dropout layer, plus the mode's set-up);
* ``step``: forward, backward and SGD step of an MLP 256-1024-1024-10 with dropout 0.2
  after each hidden layer (where the masks are a small part of the work).

The sides run alternately, round after round, in one process; reported: the median time
per call and the ratios to torch's dropout (> 1: slower than torch). The masks of the
per-sample side are checked to equal, row by row, those of the same samples in a batch
of half the size (the property being paid for).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sample_dropout.py [--rounds 7]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seedwise import Seeds
from seedwise.init import initialize
from seedwise.stateless.dropout import keyed_dropout

WIDTH = 1024


def timed(fn: Callable[[], object], repeats: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def mlp() -> nn.Module:
    net = nn.Sequential(
        nn.Linear(256, WIDTH), nn.ReLU(), nn.Dropout(0.2), nn.Linear(WIDTH, WIDTH), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(WIDTH, 10),
    )  # fmt: skip
    initialize(net, Seeds(0)["init"])
    return net


def check_rows(stream: Seeds, batch: int) -> None:
    """The property measured: a row's mask is the same in a batch of B and in one of B / 2."""
    idx = np.arange(1000, 1000 + batch)
    x = torch.ones(batch, WIDTH)
    with keyed_dropout(stream, per_sample=(3, idx)):
        whole = F.dropout(x, 0.5)
    half = batch // 2 or 1
    with keyed_dropout(stream, per_sample=(3, idx[-half:])):
        tail = F.dropout(x[-half:], 0.5)
    assert torch.equal(whole[-half:], tail)


def sides(stream: Seeds, batch: int) -> dict[str, tuple[Callable[[], object], ...]]:
    """The three sides of each measurement, for batches of ``batch`` samples."""
    gen = Seeds(1)["x"].numpy()
    x = torch.from_numpy(gen.random((batch, WIDTH), dtype=np.float32))
    xin = torch.from_numpy(gen.random((batch, 256), dtype=np.float32))
    y = torch.from_numpy(gen.integers(0, 10, batch))
    idx = np.arange(batch) * 7 + 12345  # the batch's sample indices
    net = mlp().train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)

    def torch_mask() -> object:
        return F.dropout(x, 0.5)

    def step_mask() -> object:
        with keyed_dropout(stream, 17):
            return F.dropout(x, 0.5)

    def sample_mask() -> object:
        with keyed_dropout(stream, per_sample=(2, idx)):
            return F.dropout(x, 0.5)

    def train(masks: Callable[[], AbstractContextManager[object]]) -> Callable[[], object]:
        def run() -> object:
            with masks():
                loss = F.cross_entropy(net(xin), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return run

    return {
        "mask": (torch_mask, step_mask, sample_mask),
        "step": (
            train(contextlib.nullcontext),
            train(lambda: keyed_dropout(stream, 17)),
            train(lambda: keyed_dropout(stream, per_sample=(2, idx))),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batches", type=int, nargs="*", default=[16, 128, 512])
    args = parser.parse_args()
    torch.set_num_threads(1)
    stream = Seeds(0)["dropout"]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, mask width {WIDTH}")
    header = f"{'what':>5} {'B':>5} {'torch ms':>9} {'per-step ms':>12} {'per-sample ms':>14} {'step/torch':>11}"
    print(header + f" {'sample/torch':>13} {'sample/step':>12}")
    for batch in args.batches:
        check_rows(stream, batch)
        for what, fns in sides(stream, batch).items():
            times: list[list[float]] = [[], [], []]
            repeats = max(2, 4096 // batch) if what == "mask" else max(2, 512 // batch)
            for _ in range(args.rounds):  # alternate so machine load hits all three alike
                for k, fn in enumerate(fns):
                    times[k].append(timed(fn, repeats))
            t, s, p = (statistics.median(v) for v in times)
            print(
                f"{what:>5} {batch:>5} {t * 1e3:>9.3f} {s * 1e3:>12.3f} {p * 1e3:>14.3f} {s / t:>10.2f}x "
                f"{p / t:>12.2f}x {p / s:>11.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
