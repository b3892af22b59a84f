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
from seedwise.augment._maps import compose_color, compose_colour_rows, mean_after
from seedwise.augment._program import ColorOp, Program, Stage
from seedwise.errors import InvalidArgumentError

__all__ = ["colour_one", "colour_batch"]

_ARANGE = np.arange(256, dtype=np.float64)


def _cv2() -> Any:
    import cv2

    return cv2


def _ops(program: Program, stage: Stage, channels: int) -> tuple[list[tuple[ColorOp, Any]], bool, bool]:
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


def colour_one(program: Program, stage: Stage, img: np.ndarray, inplace: bool = False) -> np.ndarray:
    """The stage applied to one HWC image (sample 0 of ``program``); ``img`` itself when
    nothing changes. ``inplace``: ``img`` is the caller's own buffer and may be overwritten."""
    cv2 = _cv2()
    c = img.shape[2]
    ops, needs_mean, scalar = _ops(program, stage, c)
    active = [(op, params) for op, params in ops if params["applied"][0]]
    if not active:
        return img
    mean = [v / 255.0 for v in cv2.mean(img)[:c]] if needs_mean else [0.0] * c
    amap: list[list[float]] | None = None
    for k, (op, params) in enumerate(active):
        step = op.affine_one({key: v.tolist()[0] for key, v in params.items()}, mean)
        amap = step if amap is None else compose_colour_rows(step, amap)
        if k + 1 < len(active):
            mean = mean_after(step, mean)
    if amap is None:
        return img
    for row in amap:
        row[c] *= 255.0
    dst = img if inplace and writes_into_dst() else None
    if scalar:
        lut = np.clip(np.rint(amap[0][0] * _ARANGE + amap[0][c]), 0, 255).astype(np.uint8)
        out = cv2.LUT(img, lut, dst=dst)
    else:
        out = cv2.transform(img, np.array(amap, dtype=np.float32), dst=dst)
    return img if dst is not None else cast(np.ndarray, out if out.ndim == 3 else out.reshape(img.shape))


def colour_batch(program: Program, stage: Stage, x: np.ndarray, inplace: bool = False) -> np.ndarray:
    """The stage applied to an NHWC batch: maps composed for all samples at once, one pass per
    image. ``inplace``: ``x`` is the caller's own buffer and may be overwritten."""
    cv2 = _cv2()
    n, c = x.shape[0], x.shape[3]
    ops, needs_mean, scalar = _ops(program, stage, c)
    if not ops:
        return x if inplace else x.copy()
    active = np.logical_or.reduce([params["applied"] for _, params in ops])
    if not active.any():
        return x if inplace else x.copy()
    mean = np.zeros((n, c))
    if needs_mean:
        for i in np.flatnonzero(active).tolist():
            mean[i] = cv2.mean(x[i])[:c]
        mean /= 255.0
    amap = compose_color(program, stage, mean)
    amap[:, :, c] *= 255.0
    inplace = inplace and writes_into_dst()
    out = x if inplace else np.empty_like(x)
    if scalar:
        luts = np.clip(np.rint(amap[:, 0, 0:1] * _ARANGE + amap[:, 0, c : c + 1]), 0, 255).astype(np.uint8)
    else:
        mats = amap.astype(np.float32)
    for i in range(n):
        if not active[i]:
            if not inplace:
                out[i] = x[i]
        elif scalar:
            into(out[i], cv2.LUT(x[i], luts[i], dst=out[i]))
        else:
            into(out[i], cv2.transform(x[i], mats[i], dst=out[i]))
    return out
