"""The CPU path's geometric stage: ONE ``cv2.warpAffine`` per image with the composed map.

Nearest-pixel when the map sends pixel centres to pixel centres (flips, integer crops,
quarter turns), which is exact; bilinear otherwise. One image is composed with Python
floats (:func:`warp_one`); a batch with NumPy, all samples at once (:func:`warp_batch`),
with the same expressions (see :mod:`seedwise.augment._maps`), so a sample gets the same
pixels in any batch; only the warps run per image.
"""

from __future__ import annotations

import functools
from typing import Any, cast

import numpy as np

from seedwise.augment._maps import compose_2x3, compose_geometric, invert_2x3, invert_2x3_batch
from seedwise.augment._program import IDENTITY_2X3, Affine2x3, GeometricOp, Program, Stage

__all__ = ["warp_one", "warp_batch", "into"]


def _cv2() -> Any:
    import cv2

    return cv2


def into(out: np.ndarray, res: np.ndarray) -> None:
    """Make sure ``out`` holds ``res``, the result of an OpenCV call given ``dst=out``.

    OpenCV writes into ``dst`` when its shape and type fit, which they do here; whether
    it does is checked once per process (:func:`_writes_into_dst`), and if it ever does
    not, the result is copied."""
    if not _writes_into_dst():
        out[...] = res.reshape(out.shape)


@functools.cache
def _writes_into_dst() -> bool:
    cv2 = _cv2()
    src = np.arange(2 * 4 * 5 * 3, dtype=np.uint8).reshape(2, 4, 5, 3)
    ok = True
    for c in (1, 3):
        x = np.ascontiguousarray(src[..., :c])
        out = np.zeros_like(x)
        m = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
        for fn, args in (
            (cv2.warpAffine, (m, (5, 4))),
            (cv2.LUT, (np.arange(255, -1, -1, dtype=np.uint8),)),
            (cv2.transform, (np.eye(c, c + 1, dtype=np.float32) * 0.5,)),
        ):
            if fn is cv2.transform and c == 1:
                continue
            res = fn(x[0], *args, dst=out[1])
            ok = ok and np.shares_memory(res, out[1]) and np.array_equal(out[1], res.reshape(out[1].shape))
    return ok


def _flags(cv2: Any, exact: bool) -> int:
    # nearest is exact when pixel centres land on pixel centres (flips, integer crops, quarter turns)
    return int((cv2.INTER_NEAREST if exact else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP)


def warp_one(program: Program, stage: Stage, img: np.ndarray) -> np.ndarray:
    """The stage applied to one HWC image (sample 0 of ``program``); ``img`` itself when nothing moves."""
    cv2 = _cv2()
    h, w, c = img.shape
    m: Affine2x3 = IDENTITY_2X3
    size = (h, w)
    for pos in stage.positions:
        leaf, params, _ = program.steps[pos]
        op = cast(GeometricOp, leaf)
        if params["applied"][0] or op.changes_size:
            step, size = op.matrix_one({k: v.tolist()[0] for k, v in params.items()}, size)
            m = compose_2x3(step, m)
    if m == IDENTITY_2X3 and size == (h, w):
        return img
    oh, ow = size
    exact = all(abs(v - round(v)) < 1e-9 for v in m)
    inv = np.array(invert_2x3(m), dtype=np.float64).reshape(2, 3)
    border = (round(stage.fill * 255),) * 4
    out = cv2.warpAffine(
        img, inv, (ow, oh), flags=_flags(cv2, exact), borderMode=cv2.BORDER_CONSTANT, borderValue=border
    )
    return cast(np.ndarray, out if out.ndim == 3 else out.reshape(oh, ow, c))


def warp_batch(program: Program, stage: Stage, x: np.ndarray) -> np.ndarray:
    """The stage applied to an NHWC batch: maps composed for all samples at once, one warp per image."""
    cv2 = _cv2()
    n, h, w, c = x.shape
    m, (oh, ow) = compose_geometric(program, stage, (h, w))
    m23 = m[:, :2, :]
    same_size = (oh, ow) == (h, w)
    ident = np.all(m23 == np.array(IDENTITY_2X3).reshape(2, 3), axis=(1, 2)) & same_size
    exact = np.all(np.abs(m23 - np.rint(m23)) < 1e-9, axis=(1, 2))
    inv = invert_2x3_batch(m)
    border = (round(stage.fill * 255),) * 4
    out = np.empty((n, oh, ow, c), dtype=np.uint8)
    nearest, linear = _flags(cv2, True), _flags(cv2, False)
    for i in range(n):
        if ident[i]:
            out[i] = x[i]
            continue
        res = cv2.warpAffine(
            x[i],
            inv[i],
            (ow, oh),
            dst=out[i],
            flags=nearest if exact[i] else linear,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )
        into(out[i], res)
    return out
