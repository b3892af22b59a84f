"""Augmentation throughput: seedwise (CPU/OpenCV and batched torch) vs the bare-OpenCV
ceiling, albumentations and kornia.

The same pipeline on 224x224 RGB uint8 images, on ONE thread, all in one process:
HorizontalFlip(0.5), Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
ColorJitter(0.2, 0.2, 0.2, 0.05).

* ceiling: the same work written as bare OpenCV calls with every parameter drawn (and
  every matrix composed and inverted) beforehand: per image one ``cv2.warpAffine`` (the
  flip folded into the matrix), one ``cv2.mean`` (contrast needs the mean grey level) and
  one ``cv2.transform`` with the colour matrix. No real pipeline can be faster than this;
* ceiling writing NHWC batches: the same calls, each result written into the batch it
  belongs to (as any batched path must return it) instead of into a new image that is
  dropped at once, which the allocator hands back still in the cache. Writing 4.8 MB
  batches costs the same OpenCV work a few percent; the batched path's share of this
  one is printed beside its share of the ceiling (the goal is on the ceiling);
* seedwise CPU path: uint8 HWC via OpenCV, per image (one call per sample, as a
  ``Dataset.__getitem__`` makes it) and on an NHWC batch (what ``AugmentedDataset``
  does for a DataLoader batch);
* albumentations: per image, uint8 HWC (its intended use);
* kornia: batched, float32 BCHW in [0, 1];
* seedwise torch path: batched, float32 BCHW (and uint8 BCHW).

A second section times a RandAugment(2, 9) pipeline (preceded by a flip) against
albumentations' nearest equivalent (``A.SomeOf`` of two of its ops with RandAugment's
magnitudes, which albumentations does not package as a policy).

The allocator is asked to keep freed memory (``keep_freed_memory``): the methods share
one process, and otherwise whether a large temporary costs page faults depends on which
method ran before. Each round takes every method once over the images, one batch at a
time: every method runs on a batch (in a rotated order) before any moves to the next, so
they take turns every few milliseconds and sample the same moments of the machine's
drift. Ratios are taken within a round and the median over rounds is reported, as are
the best images/s. Goals: seedwise's share of the ceiling >= 90% batched and >= 80%
per image; CPU path >= 1.5x albumentations; torch path >= 4x kornia.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/augment.py [--images 128] [--batch 32] [--rounds 15]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import argparse
import ctypes
import ctypes.util
import statistics
import time
import warnings
from collections.abc import Callable

import cv2
import numpy as np
import torch

from seedwise import Seeds
from seedwise import augment as A
from seedwise.augment import _draw


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed memory for reuse (no trimming, no mmap for large blocks).

    The methods share one process and so one allocator: with its defaults, whether a
    method's large temporaries come back as fresh pages (page faults, zeroing) depends on
    what ran before it, which moved kornia's and the ceiling's times by up to 30% from
    round to round. With freed memory kept, every method pays only for its own work.
    False where there is no glibc (the figures are then noisier)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(mallopt(m_trim_threshold, 2**30) and mallopt(m_mmap_max, 0))


Chunk = Callable[[int], None]  # a method run on the images [s, s + batch) of the set


def rounds(fns: dict[str, Chunk], n: int, bs: int, n_rounds: int, clock: Callable[[], float]) -> dict[str, list[float]]:
    """Seconds per pass over the ``n`` images, for each method, one pass per round, after a warm-up.

    A round goes through the set one chunk of ``bs`` images at a time, and every method
    runs on that chunk before the next one (in a rotated order): the methods take turns
    every few milliseconds, so they all sample the same moments of a shared machine's
    drift, and a ratio taken within a round compares like with like."""
    starts = range(0, n, bs)
    for fn in fns.values():
        for s in starts:
            fn(s)
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    turn = 0
    for _ in range(n_rounds):
        spent = dict.fromkeys(names, 0.0)
        for s in starts:
            order = names[turn % len(names) :] + names[: turn % len(names)]
            turn += 1
            for name in order:
                t0 = clock()
                fns[name](s)
                spent[name] += clock() - t0
        for name in names:
            times[name].append(spent[name])
    return times


def ratio(times: dict[str, list[float]], num: str, den: str) -> float:
    """Median over rounds of speed(num) / speed(den) (= time(den) / time(num))."""
    return statistics.median(d / n for n, d in zip(times[num], times[den]))


def images_per_second(times: dict[str, list[float]], n: int) -> dict[str, float]:
    return {name: n / min(t) for name, t in times.items()}


def test_images(n: int) -> np.ndarray:
    """Smooth-ish test images (a blurred random field), fixed by a seeded generator."""
    rng = Seeds(0)["bench-images"].numpy()
    small = rng.integers(0, 256, size=(n, 28, 28, 3), dtype=np.uint8)
    return np.stack([cv2.resize(s, (224, 224), interpolation=cv2.INTER_CUBIC) for s in small])


def ceiling_fn(pipe: A.Compose, images: np.ndarray, batch: int, into_batches: bool = False) -> Chunk:
    """The bare OpenCV loop, with all parameters drawn and all matrices built beforehand.

    ``into_batches``: write every result into an NHWC output batch (what a batched path
    must return), the warp through one reused scratch image; else each result is a new
    image, dropped at once (the allocator hands the same, cached, memory back)."""
    from seedwise.augment._maps import compose_2x3_batch, invert_2x3_batch

    n = len(images)
    program, _ = pipe._program(np.arange(n), 0, None)
    flip, affine, jitter = (program.steps[k][0] for k in range(3))
    pf, pa, pj = (program.steps[k][1] for k in range(3))
    m = compose_2x3_batch(affine.matrices(pa, (224, 224))[0], flip.matrices(pf, (224, 224))[0])
    inv = invert_2x3_batch(m)
    # colour: the 3x3 part of the map and the offset per unit of mean grey level (the rest is the image's mean)
    unit = jitter.affine(pj, np.tile([1.0, 1.0, 1.0], (n, 1)))  # mean grey 1.0
    zero = jitter.affine(pj, np.zeros((n, 3)))
    gain_part = unit[:, :, :3].astype(np.float32)
    offset_per_grey = (unit[:, :, 3] - zero[:, :, 3]).astype(np.float32)
    weights = (0.299, 0.587, 0.114)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP

    def run(s: int) -> None:
        mat = np.empty((3, 4), dtype=np.float32)
        for i in range(s, min(s + batch, n)):
            warped = cv2.warpAffine(images[i], inv[i], (224, 224), flags=flags, borderMode=cv2.BORDER_CONSTANT)
            mean = cv2.mean(warped)
            grey = weights[0] * mean[0] + weights[1] * mean[1] + weights[2] * mean[2]
            mat[:, :3] = gain_part[i]
            mat[:, 3] = offset_per_grey[i] * grey
            cv2.transform(warped, mat)

    def run_into_batches(s: int) -> None:
        mat = np.empty((3, 4), dtype=np.float32)
        scratch = np.empty((224, 224, 3), dtype=np.uint8)
        out = np.empty((min(batch, n - s), 224, 224, 3), dtype=np.uint8)
        for j in range(len(out)):
            i = s + j
            warped = cv2.warpAffine(
                images[i], inv[i], (224, 224), dst=scratch, flags=flags, borderMode=cv2.BORDER_CONSTANT
            )
            mean = cv2.mean(warped)
            grey = weights[0] * mean[0] + weights[1] * mean[1] + weights[2] * mean[2]
            mat[:, :3] = gain_part[i]
            mat[:, 3] = offset_per_grey[i] * grey
            cv2.transform(warped, mat, dst=out[j])

    return run_into_batches if into_batches else run


def randaugment_rounds(
    images: np.ndarray, bs: int, n_rounds: int, clock: Callable[[], float]
) -> dict[str, list[float]]:
    """RandAugment(2, 9) against albumentations' nearest equivalent: two ops drawn (with
    replacement) from the same 14, at RandAugment's magnitude 9 of 30 (albumentations has
    no RandAugment policy; its ops draw the magnitude in a range where RandAugment fixes it
    and draws the sign, which costs the same)."""
    import albumentations as alb

    n = len(images)
    pipe = A.Compose([A.HorizontalFlip(0.5), A.RandAugment(2, 9)], seeds=Seeds(42)["augment"])
    m = 9 / 30
    ops = [
        alb.NoOp(),
        alb.Affine(shear={"x": (-16.7, 16.7), "y": (0, 0)}, p=1.0),  # atan(0.3 m) in degrees
        alb.Affine(shear={"x": (0, 0), "y": (-16.7, 16.7)}, p=1.0),
        alb.Affine(translate_percent={"x": (-0.453 * m, 0.453 * m), "y": (0, 0)}, p=1.0),
        alb.Affine(translate_percent={"x": (0, 0), "y": (-0.453 * m, 0.453 * m)}, p=1.0),
        alb.Affine(rotate=(-30 * m, 30 * m), p=1.0),
        alb.ColorJitter(brightness=0.9 * m, contrast=0, saturation=0, hue=0, p=1.0),
        alb.ColorJitter(brightness=0, contrast=0, saturation=0.9 * m, hue=0, p=1.0),
        alb.ColorJitter(brightness=0, contrast=0.9 * m, saturation=0, hue=0, p=1.0),
        alb.Sharpen(alpha=(0.0, 0.9 * m), lightness=(1.0, 1.0), p=1.0),
        alb.Posterize(num_bits=7, p=1.0),
        alb.Solarize(threshold_range=(0.7, 0.7), p=1.0),
        alb.AutoContrast(p=1.0),
        alb.Equalize(mode="pil", p=1.0),
    ]
    alb_pipe = alb.Compose([alb.HorizontalFlip(p=0.5), alb.SomeOf(ops, n=2, replace=True, p=1.0)], seed=0)

    def sw_per_image(s: int) -> None:
        for i in range(s, min(s + bs, n)):
            pipe(images[i], indices=i)

    def sw_batched(s: int) -> None:
        pipe(images[s : s + bs], indices=np.arange(s, min(s + bs, n)))

    def alb_per_image(s: int) -> None:
        for i in range(s, min(s + bs, n)):
            alb_pipe(image=images[i])

    return rounds(
        {
            "albumentations SomeOf (per image, uint8)": alb_per_image,
            "seedwise RandAugment (per image, uint8)": sw_per_image,
            "seedwise RandAugment (NHWC batch, uint8)": sw_batched,
        },
        n,
        bs,
        n_rounds,
        clock,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-peers", action="store_true", help="only the ceiling and seedwise's CPU paths")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="time by this process's CPU time (default: steadier on a shared machine, where wall time also "
        "counts waiting for other people's work) or by wall time",
    )
    args = parser.parse_args()
    kept = keep_freed_memory()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    images = test_images(args.images)
    n, bs = args.images, args.batch
    chw_u8 = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    chw_f32 = chw_u8.float() / 255.0
    pipe = A.Compose(
        [
            A.HorizontalFlip(0.5),
            A.Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
            A.ColorJitter(0.2, 0.2, 0.2, 0.05),
        ],
        seeds=Seeds(42)["augment"],
    )

    def sw_per_image(s: int) -> None:
        for i in range(s, min(s + bs, n)):
            pipe(images[i], indices=i)

    def sw_batched(s: int) -> None:
        pipe(images[s : s + bs], indices=np.arange(s, min(s + bs, n)))

    def sw_draws(s: int) -> None:  # the parameter draws alone, as the batched path makes them
        _draw.uniforms(pipe._requests, np.uint64(0), np.arange(s, min(s + bs, n), dtype=np.uint64))

    def sw_torch(x: torch.Tensor) -> Chunk:
        def run(s: int) -> None:
            with torch.no_grad():
                pipe(x[s : s + bs], indices=np.arange(s, min(s + bs, n)))

        return run

    fns: dict[str, Chunk] = {
        "ceiling (bare OpenCV, parameters pre-drawn)": ceiling_fn(pipe, images, bs),
        "ceiling writing NHWC batches": ceiling_fn(pipe, images, bs, into_batches=True),
        "seedwise CPU (per image, uint8)": sw_per_image,
        "seedwise CPU (NHWC batch, uint8)": sw_batched,
        "seedwise parameter draws alone (batched)": sw_draws,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not args.no_peers:
            import albumentations as alb
            import kornia.augmentation as K

            alb_pipe = alb.Compose(
                [
                    alb.HorizontalFlip(p=0.5),
                    alb.Affine(rotate=(-15, 15), translate_percent=(-0.1, 0.1), scale=(0.9, 1.1), p=1.0),
                    alb.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05, p=1.0),
                ],
                seed=0,
            )
            kornia_pipe = K.AugmentationSequential(
                K.RandomHorizontalFlip(p=0.5),
                K.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1), p=1.0),
                K.ColorJitter(0.2, 0.2, 0.2, 0.05, p=1.0),
            )

            def alb_per_image(s: int) -> None:
                for i in range(s, min(s + bs, n)):
                    alb_pipe(image=images[i])

            def kornia_batched(s: int) -> None:
                with torch.no_grad():
                    kornia_pipe(chw_f32[s : s + bs])

            fns.update(
                {
                    "albumentations (per image, uint8)": alb_per_image,
                    "kornia (batched, float32)": kornia_batched,
                    "seedwise torch (batched, float32)": sw_torch(chw_f32),
                    "seedwise torch (batched, uint8)": sw_torch(chw_u8),
                }
            )
        clock = time.process_time if args.clock == "cpu" else time.perf_counter
        times = rounds(fns, n, bs, args.rounds, clock)
        if not args.no_peers:
            ra_times = randaugment_rounds(images, bs, args.rounds, clock)
    rates = images_per_second(times, n)
    threads = f"torch={torch.get_num_threads()}, cv2={cv2.getNumThreads()}"
    print(f"images={n} 224x224x3 uint8, batch={bs}, rounds={args.rounds}, clock={args.clock}, threads: {threads}, "
          f"freed memory kept: {kept}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    for name, rate in rates.items():
        print(f"  {name:45s} {rate:9.1f} images/s (best round)")
    ceiling = "ceiling (bare OpenCV, parameters pre-drawn)"
    print("median over rounds of the per-round ratio:")
    per_image, batched = (
        ratio(times, "seedwise CPU (per image, uint8)", ceiling),
        ratio(times, "seedwise CPU (NHWC batch, uint8)", ceiling),
    )
    print(f"  share of the ceiling, per image: {per_image:6.1%} (goal >= 80%)")
    print(f"  share of the ceiling, batched:   {batched:6.1%} (goal >= 90%)")
    into = ratio(times, "ceiling writing NHWC batches", ceiling)
    print(
        f"  the ceiling itself writing NHWC batches: {into:6.1%} of the ceiling; seedwise batched: "
        f"{ratio(times, 'seedwise CPU (NHWC batch, uint8)', 'ceiling writing NHWC batches'):6.1%} of it"
    )
    draws = statistics.median(d / c for d, c in zip(times["seedwise parameter draws alone (batched)"], times[ceiling]))
    print(f"  parameter draws alone (batched), as a fraction of the ceiling's time: {draws:6.1%}")
    if not args.no_peers:
        alb_name, kornia_name = "albumentations (per image, uint8)", "kornia (batched, float32)"
        for num, den, goal in (
            ("seedwise CPU (per image, uint8)", alb_name, ">= 1.5x"),
            ("seedwise CPU (NHWC batch, uint8)", alb_name, ">= 1.5x"),
            ("seedwise CPU (NHWC batch, uint8)", kornia_name, ""),
            ("seedwise torch (batched, float32)", kornia_name, ">= 4x"),
            ("seedwise torch (batched, uint8)", kornia_name, ""),
        ):
            print(f"  {num} / {den}: {ratio(times, num, den):5.2f}x {('(goal ' + goal + ')') if goal else ''}")
        print("RandAugment(2, 9) after a flip (albumentations: SomeOf(n=2) of the same ops at the same magnitude):")
        for name, rate in images_per_second(ra_times, n).items():
            print(f"  {name:45s} {rate:9.1f} images/s (best round)")
        alb_ra = "albumentations SomeOf (per image, uint8)"
        for num in ("seedwise RandAugment (per image, uint8)", "seedwise RandAugment (NHWC batch, uint8)"):
            print(f"  {num} / {alb_ra}: {ratio(ra_times, num, alb_ra):5.2f}x")


if __name__ == "__main__":
    main()
