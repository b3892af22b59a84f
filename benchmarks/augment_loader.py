"""End to end through the loader: the input pipeline a user runs, seedwise against
``torch.utils.data.DataLoader`` + albumentations on the same data.

Data: decode-free 224x224 RGB uint8 images held in memory (``--images`` of them, made
once by a seeded generator), labels ``i % 10``. Pipeline: HorizontalFlip(0.5),
Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)), ColorJitter(0.2, 0.2, 0.2, 0.05),
the same as ``benchmarks/augment.py``.

* seedwise: ``sw.data.DataLoader(dataset, batch_size=64, shuffle=True, seeds=...,
  augment=pipe, num_workers=w)`` (each worker augments a whole batch in one call, keyed
  by (epoch, index));
* peer: ``torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True,
  num_workers=w)`` whose ``__getitem__`` runs the albumentations pipeline per image.

Both collate uint8 HWC batches with torch's default collate, keep their workers between
epochs (``persistent_workers``), and give each process one OpenCV and one torch thread.
For each worker count (0, 1, 2 by default): one warm-up epoch per loader, then
``--rounds`` rounds of one epoch per loader (in alternating order); images/s is the
median over rounds of wall time (the only clock that counts the workers' work), the
ratio seedwise / albumentations is taken within each round (median reported), and the
scaling is images/s at 2 workers over 1 worker (median of per-round ratios).

Goals (issue 16): scaling from 1 to 2 workers >= 1.8x on a 2-core machine, and
seedwise >= 1.5x the albumentations loader at every worker count. On a shared machine
the scaling measures the machine as much as the loaders: the load average is printed.
The last line measures what any loader with workers pays per image to hand a batch to
the main process (torch collates it into fresh shared memory, page by page), alone and
with two processes doing it at once.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/augment_loader.py [--images 1024] [--rounds 5] [--workers 0 1 2]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import argparse
import statistics
import time
import warnings
from typing import Any

import cv2
import numpy as np
import torch

import seedwise as sw
from seedwise import augment as A
from seedwise.data import DataLoader


def one_thread(_worker_id: int = 0) -> None:
    """Each process: one OpenCV thread and one torch thread (as the main process)."""
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


class Images(torch.utils.data.Dataset[tuple[np.ndarray, int]]):
    """``n`` decode-free 224x224 RGB uint8 images in memory (blurred random fields), label ``i % 10``."""

    def __init__(self, n: int):
        rng = sw.Seeds(0)["bench-images"].numpy()
        small = rng.integers(0, 256, size=(n, 28, 28, 3), dtype=np.uint8)
        self.images = np.stack([cv2.resize(s, (224, 224), interpolation=cv2.INTER_CUBIC) for s in small])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.images[i], i % 10


class Albumented(torch.utils.data.Dataset[tuple[np.ndarray, int]]):
    """The same images through an albumentations pipeline, per image (its intended use)."""

    def __init__(self, base: Images, pipeline: Any):
        self.base, self.pipeline = base, pipeline

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        image, label = self.base[i]
        return self.pipeline(image=image)["image"], label


def _shared_collate_seconds(shape: tuple[int, ...], repeats: int) -> float:
    """Median seconds to collate one batch of ``shape`` into fresh shared memory, as torch's
    ``default_collate`` does in a worker (so the batch crosses to the main process without a copy)."""
    items = [torch.zeros(shape[1:], dtype=torch.uint8) for _ in range(shape[0])]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        storage = items[0]._typed_storage()._new_shared(items[0].numel() * len(items), device="cpu")
        out = items[0].new(storage).resize_(len(items), *items[0].shape)
        torch.stack(items, 0, out=out)
        times.append(time.perf_counter() - t0)
        del out, storage
    return statistics.median(times)


def _shared_collate_worker(shape: tuple[int, ...], repeats: int, conn: Any) -> None:
    conn.send(_shared_collate_seconds(shape, repeats))
    conn.close()


def transport_cost(batch: int, repeats: int = 15) -> tuple[float, float, float]:
    """What torch's worker transport costs per image of a 224x224x3 uint8 batch, in seconds:
    collated into fresh shared memory by one process, the same by two processes at once
    (two workers), and stacked into one reused buffer (the copy alone)."""
    import multiprocessing as mp

    shape = (batch, 224, 224, 3)
    alone = _shared_collate_seconds(shape, repeats)
    ctx = mp.get_context("fork")
    pipes = [ctx.Pipe(duplex=False) for _ in range(2)]
    procs = [ctx.Process(target=_shared_collate_worker, args=(shape, repeats, w)) for _, w in pipes]
    for proc in procs:
        proc.start()
    both = statistics.mean(r.recv() for r, _ in pipes)
    for proc in procs:
        proc.join()
    items = [torch.zeros(shape[1:], dtype=torch.uint8) for _ in range(batch)]
    reused = torch.empty(shape, dtype=torch.uint8)
    plain = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.stack(items, 0, out=reused)
        plain.append(time.perf_counter() - t0)
    return alone / batch, both / batch, statistics.median(plain) / batch


def epoch_seconds(loader: Any, epoch: int, seedwise: bool) -> float:
    if seedwise:
        loader.set_epoch(epoch)
    t0 = time.perf_counter()
    n = 0
    for x, _ in loader:
        n += len(x)
    assert n == len(loader.dataset)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    one_thread()
    warnings.simplefilter("ignore")  # albumentations' and torch's notices about versions and worker counts
    import albumentations as alb

    data = Images(args.images)
    pipe = A.Compose(
        [
            A.HorizontalFlip(0.5),
            A.Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
            A.ColorJitter(0.2, 0.2, 0.2, 0.05),
        ],
        seeds=sw.Seeds(42)["augment"],
    )
    alb_pipe = alb.Compose(
        [
            alb.HorizontalFlip(p=0.5),
            alb.Affine(rotate=(-15, 15), translate_percent=(-0.1, 0.1), scale=(0.9, 1.1), p=1.0),
            alb.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05, p=1.0),
        ],
        seed=0,
    )
    print(
        f"{args.images} images 224x224x3 uint8 in memory, batch {args.batch}, {args.rounds} rounds, "
        f"{os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.1f}"
    )
    rates: dict[tuple[str, int], float] = {}
    per_round: dict[tuple[str, int], list[float]] = {}
    for w in args.workers:
        extra: dict[str, Any] = {"persistent_workers": True, "worker_init_fn": one_thread} if w else {}
        ours = DataLoader(
            data, batch_size=args.batch, shuffle=True, seeds=sw.Seeds(1), augment=pipe, num_workers=w, **extra
        )
        peer = torch.utils.data.DataLoader(
            Albumented(data, alb_pipe),
            batch_size=args.batch,
            shuffle=True,
            num_workers=w,
            generator=torch.Generator().manual_seed(0),
            **extra,
        )
        epoch_seconds(ours, 0, True)  # warm-up: workers start, pages fault in
        epoch_seconds(peer, 0, False)
        times: dict[str, list[float]] = {"seedwise": [], "albumentations": []}
        for r in range(args.rounds):
            order = [("seedwise", ours, True), ("albumentations", peer, False)]
            for name, loader, is_ours in order if r % 2 == 0 else order[::-1]:
                times[name].append(epoch_seconds(loader, r + 1, is_ours))
        for name, t in times.items():
            per_round[(name, w)] = [args.images / s for s in t]
            rates[(name, w)] = statistics.median(per_round[(name, w)])
        ratio = statistics.median(a / s for s, a in zip(times["seedwise"], times["albumentations"]))
        print(
            f"  workers={w}: seedwise {rates[('seedwise', w)]:7.1f} images/s, albumentations loader "
            f"{rates[('albumentations', w)]:7.1f} images/s, seedwise / albumentations {ratio:5.2f}x (goal >= 1.5x), "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        del ours, peer
    if 1 in args.workers and 2 in args.workers:
        for name in ("seedwise", "albumentations"):
            scaling = statistics.median(b / a for a, b in zip(per_round[(name, 1)], per_round[(name, 2)]))
            print(f"  scaling from 1 to 2 workers, {name}: {scaling:4.2f}x (goal >= 1.8x)")
    alone, both, plain = transport_cost(args.batch)
    print(
        f"torch's transport from a worker (default_collate into fresh shared memory), per image: "
        f"{alone * 1e6:.0f} us in one process, {both * 1e6:.0f} us each in two at once; "
        f"the copy alone (into a reused buffer): {plain * 1e6:.0f} us"
    )


if __name__ == "__main__":
    main()
