"""Boxes drawn by area fraction and aspect ratio (RandomResizedCrop, RandomErasing)."""

from __future__ import annotations

import math

import numpy as np

from seedwise.augment._program import Params


def box_params(u: np.ndarray, applied: np.ndarray, scale: tuple[float, float], ratio: tuple[float, float]) -> Params:
    """Each sample's box as data: area fraction, log aspect ratio and relative offsets."""
    lo, hi = scale
    rlo, rhi = math.log(ratio[0]), math.log(ratio[1])
    return {
        "applied": applied,
        "area": lo + (hi - lo) * u[:, 0],
        "log_ratio": rlo + (rhi - rlo) * u[:, 1],
        "offset_y": u[:, 2],
        "offset_x": u[:, 3],
    }


def box(params: Params, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(top, left, height, width)`` int arrays of each sample's box, clipped to the image."""
    h, w = image_size
    area = params["area"] * h * w
    r = np.exp(params["log_ratio"])
    bw = np.clip(np.rint(np.sqrt(area * r)), 1, w).astype(np.int64)
    bh = np.clip(np.rint(np.sqrt(area / r)), 1, h).astype(np.int64)
    top = np.floor(params["offset_y"] * (h - bh + 1)).astype(np.int64)
    left = np.floor(params["offset_x"] * (w - bw + 1)).astype(np.int64)
    return top, left, bh, bw
