"""DataLoader overhead: seedwise.data.DataLoader vs a plain torch DataLoader doing the same work.

Both loaders read the same dataset, whose ``__getitem__`` does the same per-sample
transform work (an OpenCV affine warp and blur of a 96x96 RGB uint8 image, with
parameters drawn from NumPy's global RNG, as third-party augmentation code does), in a
shuffled order, batch 32, collated by torch's default collate. What differs is only
the loader: seedwise adds the seeded permutation, the (epoch, index) keys, worker
seeding and the position tracking that makes ``state_dict`` exact.

Measured, for num_workers 0 and 2, in one process with the two loaders alternating:

* time per epoch (best of the rounds) and the ratio seedwise / torch (goal <= 1.05),
  as wall time and as CPU time of all processes together (this process plus its
  reaped workers, from ``os.times()``); on a shared, loaded machine the CPU time is
  the steadier of the two, since wall time also counts waiting for other people's work;
* peak memory of all processes together (the main process plus its workers: PSS,
  which splits pages shared after fork between the processes sharing them, summed over
  the process tree, sampled every 10 ms in a thread; the median over rounds of each
  round's peak) and the ratio (goal <= 1.10).

A last line gives the loaders' own cost per sample on a dataset that does no work: the
overhead seedwise adds, free of the transform's noise. A row before it prices the opt-in
``global_rngs="sample"`` mode (each sample made inside
``seedwise.keyed``), which has no goal: it is the cost of making third-party global-RNG
draws independent of the worker count.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loader.py [--samples 2048] [--rounds 7]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import gc
import statistics
import threading
import time

import cv2
import numpy as np
import psutil
import torch

import seedwise as sw
from seedwise.data import DataLoader


class Images(torch.utils.data.Dataset):
    """``n`` 96x96 RGB uint8 images (made once), each transformed on access."""

    def __init__(self, n: int, size: int = 96):
        base = (np.arange(size * size * 3, dtype=np.int64).reshape(size, size, 3) * 7) % 251
        self.images = [((base + 13 * i) % 256).astype(np.uint8) for i in range(min(n, 64))]
        self.n = n
        self.size = size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        image = self.images[i % len(self.images)]
        angle = np.random.uniform(-15, 15)  # global-rng-ok: the third-party pattern being loaded
        matrix = cv2.getRotationMatrix2D((self.size / 2, self.size / 2), angle, 1.0)
        out = cv2.warpAffine(image, matrix, (self.size, self.size), flags=cv2.INTER_LINEAR)
        out = cv2.GaussianBlur(out, (5, 5), 1.0)
        return torch.from_numpy(out).permute(2, 0, 1), i % 10


def _footprint(process: psutil.Process) -> int:
    """PSS where Linux reports it (shared pages split between the processes sharing them,
    so forked workers are not counted as full copies of the parent), else RSS."""
    try:
        return process.memory_full_info().pss
    except (AttributeError, psutil.AccessDenied):
        return process.memory_info().rss


class NoWork(torch.utils.data.Dataset):
    """A dataset that does nothing: what is left is the loaders' own cost."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def floor(samples: int, batch: int, rounds: int, seeds: sw.Seeds) -> tuple[float, float]:
    """CPU microseconds per sample of each loader (num_workers=0) on a dataset that does no work."""
    plain = torch.utils.data.DataLoader(
        NoWork(samples), batch_size=batch, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    ours = DataLoader(NoWork(samples), batch_size=batch, shuffle=True, seeds=seeds)
    cost: dict[str, list[float]] = {"torch": [], "seedwise": []}
    for r in range(rounds + 1):
        for name, loader in (("torch", plain), ("seedwise", ours)):
            c0 = time.process_time()
            if name == "seedwise":
                ours.set_epoch(r)
            for _ in loader:
                pass
            if r:  # the first round warms up
                cost[name].append((time.process_time() - c0) / samples * 1e6)
    return statistics.median(cost["torch"]), statistics.median(cost["seedwise"])


class TreeMemory:
    """Peak memory of this process and all its descendants, summed, sampled in a thread."""

    def __init__(self, interval: float = 0.01):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> int:
        me = psutil.Process()
        total = _footprint(me)
        for child in me.children(recursive=True):
            try:
                total += _footprint(child)
            except psutil.Error:  # a worker that just exited
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._total())
            time.sleep(self.interval)

    def __enter__(self) -> TreeMemory:
        self.peak = self._total()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _cpu() -> float:
    """CPU seconds of this process plus its reaped children (the workers of finished epochs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_epochs(loader, epochs: int, seedwise: bool) -> tuple[float, float, int, int]:
    """Wall seconds per epoch, CPU seconds per epoch (all processes), peak tree memory, batches seen."""
    gc.collect()
    batches = 0
    with TreeMemory() as memory:
        t0, c0 = time.perf_counter(), _cpu()
        for epoch in range(epochs):
            if seedwise:
                loader.set_epoch(epoch)
            for x, _ in loader:
                batches += 1
                x.float().mean()  # touch the batch, as a training step would
        elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    # The memory sampler thread's own CPU time is the same for both loaders.
    return elapsed / epochs, cpu / epochs, memory.peak, batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument(
        "--no-sample-mode",
        action="store_true",
        help="skip the extra row for global_rngs='sample' (per-sample keyed global RNGs)",
    )
    args = parser.parse_args()
    configs = [(w, "worker") for w in args.workers] + ([] if args.no_sample_mode else [(0, "sample")])

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    dataset = Images(args.samples)
    seeds = sw.Seeds(2026)
    print(
        f"seedwise {sw.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
        f"{args.samples} samples of 96x96x3 uint8, batch {args.batch}, {args.epochs} epochs x {args.rounds} rounds"
    )
    print(
        f"{'workers':>7} {'global_rngs':>11} {'torch wall s':>12} {'seedwise wall s':>15} {'wall ratio':>10} "
        f"{'torch CPU s':>11} {'seedwise CPU s':>14} {'CPU ratio':>9} "
        f"{'torch peak MiB':>14} {'seedwise peak MiB':>17} {'memory ratio':>12}"
    )
    for num_workers, mode in configs:
        plain = torch.utils.data.DataLoader(
            dataset,
            batch_size=args.batch,
            shuffle=True,
            num_workers=num_workers,
            generator=torch.Generator().manual_seed(0),
        )
        ours = DataLoader(
            dataset, batch_size=args.batch, shuffle=True, seeds=seeds, num_workers=num_workers, global_rngs=mode
        )
        # Warm-up: one epoch each (imports, page cache, first permutation).
        run_epochs(plain, 1, False)
        run_epochs(ours, 1, True)
        times: dict[str, list[float]] = {"torch": [], "seedwise": []}
        cpus: dict[str, list[float]] = {"torch": [], "seedwise": []}
        peaks: dict[str, list[int]] = {"torch": [], "seedwise": []}
        for r in range(args.rounds):
            order = [("torch", plain, False), ("seedwise", ours, True)]
            if r % 2:
                order.reverse()
            for name, loader, is_ours in order:
                t, cpu, peak, batches = run_epochs(loader, args.epochs, is_ours)
                assert batches == args.epochs * len(loader)
                times[name].append(t)
                cpus[name].append(cpu)
                peaks[name].append(peak)
        # Best of the rounds: on a shared machine, slower rounds measure other people's load.
        t_torch, t_ours = min(times["torch"]), min(times["seedwise"])
        c_torch, c_ours = min(cpus["torch"]), min(cpus["seedwise"])
        m_torch, m_ours = statistics.median(peaks["torch"]), statistics.median(peaks["seedwise"])
        print(
            f"{num_workers:>7} {mode:>11} {t_torch:>12.3f} {t_ours:>15.3f} {t_ours / t_torch:>10.3f} "
            f"{c_torch:>11.3f} {c_ours:>14.3f} {c_ours / c_torch:>9.3f} "
            f"{m_torch / 2**20:>14.1f} {m_ours / 2**20:>17.1f} {m_ours / m_torch:>12.3f}"
        )

    f_torch, f_ours = floor(args.samples * 4, args.batch, args.rounds, seeds)
    print(
        f"loader cost alone (a dataset that does no work, num_workers=0, CPU per sample): "
        f"torch {f_torch:.1f} us, seedwise {f_ours:.1f} us (+{f_ours - f_torch:.1f} us)"
    )


if __name__ == "__main__":
    main()
