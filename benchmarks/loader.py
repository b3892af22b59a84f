"""DataLoader overhead: seedwise.data.DataLoader vs a plain torch DataLoader doing the same work.

Both loaders read the same dataset, whose ``__getitem__`` does the same per-sample
transform work (an OpenCV affine warp and blur of a 96x96 RGB uint8 image, with
parameters drawn from NumPy's global RNG, as third-party augmentation code does), in a
shuffled order, batch 32, collated by torch's default collate. What differs is only
the loader: seedwise adds the seeded permutation, the (epoch, index) keys, worker
seeding and the position tracking that makes ``state_dict`` exact.

Measured, for num_workers 0 and 2, in one process with the two loaders alternating:

* time per epoch (median of the rounds) and the ratio seedwise / torch (goal <= 1.05);
* peak memory of all processes together (the main process plus its workers, RSS
  summed over the process tree, sampled every 5 ms in a thread) and the ratio
  (goal <= 1.10).

A last row prices the opt-in ``global_rngs="sample"`` mode (each sample made inside
``seedwise.keyed``), which has no goal: it is the cost of making third-party global-RNG
draws independent of the worker count.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loader.py [--samples 2048] [--rounds 5]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
import torch  # noqa: E402

import seedwise as sw  # noqa: E402
from seedwise.data import DataLoader  # noqa: E402


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


class TreeMemory:
    """Peak RSS of this process and all its descendants, summed, sampled in a thread."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
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


def run_epochs(loader, epochs: int, seedwise: bool) -> tuple[float, int, int]:
    """Seconds per epoch, peak tree memory, and batches seen."""
    gc.collect()
    batches = 0
    with TreeMemory() as memory:
        t0 = time.perf_counter()
        for epoch in range(epochs):
            if seedwise:
                loader.set_epoch(epoch)
            for x, _ in loader:
                batches += 1
                x.float().mean()  # touch the batch, as a training step would
        elapsed = time.perf_counter() - t0
    return elapsed / epochs, memory.peak, batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--no-sample-mode", action="store_true",
                        help="skip the extra row for global_rngs='sample' (per-sample keyed global RNGs)")
    args = parser.parse_args()
    configs = [(w, "worker") for w in args.workers] + ([] if args.no_sample_mode else [(0, "sample")])

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    dataset = Images(args.samples)
    seeds = sw.Seeds(2026)
    print(f"seedwise {sw.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"{args.samples} samples of 96x96x3 uint8, batch {args.batch}, {args.epochs} epochs x {args.rounds} rounds")
    print(f"{'workers':>7} {'global_rngs':>11} {'torch s/epoch':>14} {'seedwise s/epoch':>17} {'time ratio':>10} "
          f"{'torch peak MiB':>15} {'seedwise peak MiB':>18} {'memory ratio':>12}")
    for num_workers, mode in configs:
        plain = torch.utils.data.DataLoader(
            dataset, batch_size=args.batch, shuffle=True, num_workers=num_workers,
            generator=torch.Generator().manual_seed(0),
        )
        ours = DataLoader(dataset, batch_size=args.batch, shuffle=True, seeds=seeds, num_workers=num_workers,
                          global_rngs=mode)
        # Warm-up: one epoch each (imports, page cache, first permutation).
        run_epochs(plain, 1, False)
        run_epochs(ours, 1, True)
        times: dict[str, list[float]] = {"torch": [], "seedwise": []}
        peaks: dict[str, list[int]] = {"torch": [], "seedwise": []}
        for r in range(args.rounds):
            order = [("torch", plain, False), ("seedwise", ours, True)]
            if r % 2:
                order.reverse()
            for name, loader, is_ours in order:
                t, peak, batches = run_epochs(loader, args.epochs, is_ours)
                assert batches == args.epochs * len(loader)
                times[name].append(t)
                peaks[name].append(peak)
        t_torch, t_ours = statistics.median(times["torch"]), statistics.median(times["seedwise"])
        m_torch, m_ours = max(peaks["torch"]), max(peaks["seedwise"])
        print(f"{num_workers:>7} {mode:>11} {t_torch:>14.3f} {t_ours:>17.3f} {t_ours / t_torch:>10.3f} "
              f"{m_torch / 2**20:>15.1f} {m_ours / 2**20:>18.1f} {m_ours / m_torch:>12.3f}")


if __name__ == "__main__":
    main()
