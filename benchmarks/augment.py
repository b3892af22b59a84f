"""Augmentation throughput: seedwise (CPU/OpenCV and batched torch) vs albumentations and kornia.

The same pipeline on 224x224 RGB uint8 images, on ONE thread, all in one process:
HorizontalFlip(0.5), Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
ColorJitter(0.2, 0.2, 0.2, 0.05).

* albumentations: per image, uint8 HWC (its intended use);
* kornia: batched, float32 BCHW in [0, 1];
* seedwise CPU path: uint8 HWC via OpenCV, per image (as a DataLoader worker calls it)
  and on an NHWC batch (parameters sampled once per batch);
* seedwise torch path: batched, float32 BCHW (and uint8 BCHW).

Goals: CPU path >= 1.5x albumentations and >= 5x kornia; torch path >= 2x kornia.
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/augment.py [--images 256] [--batch 32] [--repeats 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import time
import warnings

import cv2
import numpy as np
import torch

from seedwise import Seeds
from seedwise import augment as A


def best_rates(fns: dict, n_images: int, repeats: int) -> dict[str, float]:
    """Images per second of each function: the best of ``repeats`` timed runs after one
    warm-up run, taken round-robin (every method once per round), so that a change in the
    machine's load during the run affects all methods alike."""
    for fn in fns.values():
        fn()
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: n_images / t for name, t in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    # Smooth-ish test images (a blurred random field), fixed by a seeded generator.
    rng = Seeds(0)["bench-images"].numpy()
    small = rng.integers(0, 256, size=(args.images, 28, 28, 3), dtype=np.uint8)
    images = np.stack([cv2.resize(s, (224, 224), interpolation=cv2.INTER_CUBIC) for s in small])
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

    def sw_cpu_per_image() -> None:
        for i in range(n):
            pipe(images[i], indices=i)

    def sw_cpu_batched() -> None:
        for s in range(0, n, bs):
            pipe(images[s : s + bs], indices=np.arange(s, min(s + bs, n)))

    def sw_torch(x: torch.Tensor):
        def run() -> None:
            with torch.no_grad():
                for s in range(0, n, bs):
                    pipe(x[s : s + bs], indices=np.arange(s, min(s + bs, n)))

        return run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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

        def alb_per_image() -> None:
            for i in range(n):
                alb_pipe(image=images[i])["image"]

        def kornia_batched() -> None:
            with torch.no_grad():
                for s in range(0, n, bs):
                    kornia_pipe(chw_f32[s : s + bs])

        rates = best_rates(
            {
                "albumentations (per image, uint8)": alb_per_image,
                "kornia (batched, float32)": kornia_batched,
                "seedwise CPU (per image, uint8)": sw_cpu_per_image,
                "seedwise CPU (NHWC batch, uint8)": sw_cpu_batched,
                "seedwise torch (batched, float32)": sw_torch(chw_f32),
                "seedwise torch (batched, uint8)": sw_torch(chw_u8),
            },
            n,
            args.repeats,
        )
        for name, rate in rates.items():
            print(f"{name:38s} {rate:9.1f} images/s", flush=True)

    alb_rate = rates["albumentations (per image, uint8)"]
    kornia_rate = rates["kornia (batched, float32)"]
    print()
    print(
        f"CPU per image  / albumentations: {rates['seedwise CPU (per image, uint8)'] / alb_rate:5.2f}x (goal >= 1.5x)"
    )
    print(
        f"CPU batch      / albumentations: {rates['seedwise CPU (NHWC batch, uint8)'] / alb_rate:5.2f}x (goal >= 1.5x)"
    )
    print(
        f"CPU per image  / kornia:         {rates['seedwise CPU (per image, uint8)'] / kornia_rate:5.2f}x (goal >= 5x)"
    )
    print(
        f"CPU batch      / kornia:         {rates['seedwise CPU (NHWC batch, uint8)'] / kornia_rate:5.2f}x (goal >= 5x)"
    )
    print(
        f"torch float32  / kornia:         {rates['seedwise torch (batched, float32)'] / kornia_rate:5.2f}x (goal >= 2x)"
    )
    print(f"torch uint8    / kornia:         {rates['seedwise torch (batched, uint8)'] / kornia_rate:5.2f}x")
    print(f"(images={n}, batch={bs}, threads: torch={torch.get_num_threads()}, cv2={cv2.getNumThreads()})")


if __name__ == "__main__":
    main()
