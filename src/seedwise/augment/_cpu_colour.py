"""The CPU path's colour stage: ONE pass per image with the composed colour map.

``cv2.LUT`` when the map is a gain and an offset, the same for every channel
(brightness, contrast), else ``cv2.transform`` with the ``C x (C + 1)`` matrix. Images
whose maps are the identity are not touched. One image is composed with Python floats
(:func:`colour_one`); a batch with NumPy, all samples at once (:func:`colour_batch`),
with the same expressions (see :mod:`seedwise.augment._maps`), so a sample gets the same
pixels in any batch.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from seedwise.augment._cpu_warp import into, writes_into_dst
from seedwise.augment._maps import compose_colour_rows, mean_after
from seedwise.augment._program import ColorOp, Program, Stage
from seedwise.errors import InvalidArgumentError

__all__ = ["colour_one", "colour_scalars", "stage_ops", "map_one", "apply_map"]

_ARANGE = np.arange(256, dtype=np.float64)


def _cv2() -> Any:
    import cv2

    return cv2


def stage_ops(program: Program, stage: Stage, channels: int) -> tuple[list[tuple[ColorOp, Any]], bool, bool]:
    """The stage's colour ops that apply to some sample, with their params; whether the
    stage needs the mean colour, and whether its map is a gain and an offset (a 256-entry
    lookup table). The last two are properties of the stage, not of a batch."""
    if channels not in (1, 3):
        raise InvalidArgumentError(f"colour transforms take images with 1 or 3 (RGB) channels, got {channels}")
    steps = program.steps
    every: list[ColorOp] = [steps[p][0] for p in stage.positions]
    needs_mean = any(op.needs_mean for op in every)
    scalar = channels == 1 or not any(op.mixes_channels for op in every)
    return [(steps[p][0], steps[p][1]) for p in stage.positions if program.active[p]], needs_mean, scalar


def map_one(ops: list[tuple[ColorOp, dict[str, Any]]], img: np.ndarray, needs_mean: bool) -> list[list[float]] | None:
    """One image's composed colour map (offsets in levels, 0-255) from the ops applied to
    it, with their parameters as Python scalars; None when there is none."""
    if not ops:
        return None
    c = img.shape[2]
    mean = [v / 255.0 for v in _cv2().mean(img)[:c]] if needs_mean else [0.0] * c
    amap: list[list[float]] | None = None
    for k, (op, p) in enumerate(ops):
        step = op.affine_one(p, mean)
        amap = step if amap is None else compose_colour_rows(step, amap)
        if k + 1 < len(ops):
            mean = mean_after(step, mean)
    if amap is not None:
        for row in amap:
            row[c] *= 255.0
    return amap


def apply_map(img: np.ndarray, amap: list[list[float]], scalar: bool, dst: np.ndarray | None) -> np.ndarray:
    """``img`` through the map (a lookup table when ``scalar``), into ``dst`` (may be ``img``) or a new array."""
    cv2 = _cv2()
    c = img.shape[2]
    if scalar:
        lut = np.clip(np.rint(amap[0][0] * _ARANGE + amap[0][c]), 0, 255).astype(np.uint8)
        out = cv2.LUT(img, lut, dst=dst)
    else:
        out = cv2.transform(img, np.array(amap, dtype=np.float32), dst=dst)
    if dst is not None:
        into(dst, out)
        return dst
    return cast(np.ndarray, out if out.ndim == 3 else out.reshape(img.shape))


def colour_one(program: Program, stage: Stage, img: np.ndarray, inplace: bool = False) -> np.ndarray:
    """The stage applied to one HWC image (sample 0 of ``program``); ``img`` itself when
    nothing changes. ``inplace``: ``img`` is the caller's own buffer and may be overwritten
    (by a lookup table; a colour matrix writes a new array, which is faster)."""
    ops, needs_mean, scalar = stage_ops(program, stage, img.shape[2])
    rows = [(op, {k: v.tolist()[0] for k, v in params.items()}) for op, params in ops if params["applied"][0]]
    return colour_scalars(rows, img, needs_mean, scalar, inplace)


def colour_scalars(
    rows: list[tuple[ColorOp, dict[str, Any]]], img: np.ndarray, needs_mean: bool, scalar: bool, inplace: bool
) -> np.ndarray:
    """One HWC image through ``rows``, the stage's colour transforms applied to it, each
    with its parameters as Python scalars (``needs_mean`` and ``scalar`` as
    :func:`stage_ops` gives them); ``img`` when there is none."""
    amap = map_one(rows, img, needs_mean)
    if amap is None:
        return img
    # in place only through a table: cv2.transform writing over its own input is ~15% slower than into a new array
    return apply_map(img, amap, scalar, img if inplace and scalar and writes_into_dst() else None)
