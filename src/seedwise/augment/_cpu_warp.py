"""The CPU path's geometric stage: ONE ``cv2.warpAffine`` per image with the composed map.

Nearest-pixel when the map sends pixel centres to pixel centres (flips, integer crops,
quarter turns), which is exact; bilinear otherwise. One image is composed with Python
floats (:func:`warp_one`); a batch with NumPy, all samples at once
(:mod:`seedwise.augment._cpu_stream`), with the same expressions (see
:mod:`seedwise.augment._maps`), so a sample gets the same pixels in any batch.
"""

from __future__ import annotations

import functools
from typing import Any, cast

import numpy as np

from seedwise.augment._maps import compose_2x3, invert_2x3
from seedwise.augment._program import IDENTITY_2X3, Affine2x3, GeometricOp, Program, Stage

__all__ = ["warp_one", "warp_scalars", "window", "copy_window", "warp_border", "warp_flags", "into", "writes_into_dst"]


def _cv2() -> Any:
    import cv2

    return cv2


def into(out: np.ndarray, res: np.ndarray) -> None:
    """Make sure ``out`` holds ``res``, the result of an OpenCV call given ``dst=out``.

    OpenCV writes into ``dst`` when its shape and type fit, which they do here, and its
    per-pixel functions (``LUT``, ``transform``) give the same result in place; both are
    checked once per process (:func:`writes_into_dst`), and if either ever fails, the
    result is copied (and the callers stop working in place)."""
    if not writes_into_dst():
        out[...] = res.reshape(out.shape)


@functools.cache
def writes_into_dst() -> bool:
    """Does OpenCV write into ``dst=`` (warpAffine, flip, LUT, transform), and do LUT and
    transform give the same bits in place (``dst`` = ``src``)?"""
    cv2 = _cv2()
    src = ((np.arange(67 * 129 * 3) * 7919) % 251).astype(np.uint8).reshape(67, 129, 3)  # a fixed pattern
    lut = ((np.arange(256) * 97 + 13) % 256).astype(np.uint8)
    mat = np.array([[0.9, 0.3, -0.2, 12.5], [-0.4, 1.2, 0.1, -30.25], [0.05, -0.6, 1.4, 3.0]], dtype=np.float32)
    shift = np.array([[1.0, 0.0, 1.5], [0.0, 1.0, -0.5]])
    ok = True
    for c in (1, 3):
        x = np.ascontiguousarray(src[..., :c])
        calls = [(cv2.warpAffine, (shift, (129, 67)), False), (cv2.flip, (-1,), False), (cv2.LUT, (lut,), True)]
        if c == 3:
            calls.append((cv2.transform, (mat,), True))
        for fn, args, per_pixel in calls:
            ref = fn(x, *args).reshape(x.shape)
            out = np.zeros_like(x)
            ok = ok and np.shares_memory(fn(x, *args, dst=out), out) and np.array_equal(out, ref)
            if per_pixel:
                same = x.copy()
                ok = ok and np.shares_memory(fn(same, *args, dst=same), same) and np.array_equal(same, ref)
    return bool(ok)


def warp_border(cv2: Any, stage: Stage) -> dict[str, Any]:
    """Pixels from outside the image: the stage's fill, or the nearest edge pixel when no
    transform of the stage sets a fill (a resize's half-pixel margin, as ``cv2.resize``)."""
    if stage.fill is None:
        return {"borderMode": cv2.BORDER_REPLICATE}
    return {"borderMode": cv2.BORDER_CONSTANT, "borderValue": (round(stage.fill * 255),) * 4}


def warp_flags(cv2: Any, exact: bool) -> int:
    # nearest is exact when pixel centres land on pixel centres (flips, integer crops, quarter turns)
    return int((cv2.INTER_NEAREST if exact else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP)


def window(img: np.ndarray, inv: Affine2x3, oh: int, ow: int) -> tuple[np.ndarray, int | None] | None:
    """For an exact map that only flips and shifts, with every output pixel inside the
    image: the source window (a view) and the ``cv2.flip`` code that finishes the job (None:
    a plain copy). The same pixels as the nearest-pixel warp, for a copy's cost."""
    a, b, tx, c, d, ty = inv
    if b != 0.0 or c != 0.0 or abs(a) != 1.0 or abs(d) != 1.0:
        return None
    x0, y0 = round(tx), round(ty)  # the source of output pixel (0, 0)
    x1, y1 = x0 + round(a) * (ow - 1), y0 + round(d) * (oh - 1)  # ... and of the last one
    left, right, top, bottom = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    h, w = img.shape[:2]
    if left < 0 or top < 0 or right >= w or bottom >= h:
        return None
    code = {(1.0, 1.0): None, (-1.0, 1.0): 1, (1.0, -1.0): 0, (-1.0, -1.0): -1}[(a, d)]
    return img[top : bottom + 1, left : right + 1], code


def copy_window(cv2: Any, window: np.ndarray, code: int | None, out: np.ndarray) -> None:
    if code is None:
        np.copyto(out, window.reshape(out.shape))
    else:
        into(out, cv2.flip(window, code, dst=out))


def warp_one(program: Program, stage: Stage, img: np.ndarray) -> np.ndarray:
    """The stage applied to one HWC image (sample 0 of ``program``); ``img`` itself when nothing moves."""
    steps = []
    for pos in stage.positions:
        leaf, params, _ = program.steps[pos]
        op = cast(GeometricOp, leaf)
        if (program.active[pos] and params["applied"][0]) or op.changes_size:
            steps.append((op, {k: v.tolist()[0] for k, v in params.items()}))
    return warp_scalars(stage, steps, img)


def warp_scalars(stage: Stage, steps: list[tuple[GeometricOp, dict[str, Any]]], img: np.ndarray) -> np.ndarray:
    """One HWC image through ``steps``, the stage's transforms that act on it (applied, or
    changing the size), each with its parameters as Python scalars; ``img`` when nothing moves."""
    h, w, c = img.shape
    m: Affine2x3 = IDENTITY_2X3
    size = (h, w)
    for op, p in steps:
        step, size = op.matrix_one(p, size)
        m = compose_2x3(step, m)
    if m == IDENTITY_2X3 and size == (h, w):
        return img
    cv2 = _cv2()
    oh, ow = size
    exact = all(abs(v - round(v)) < 1e-9 for v in m)
    inv = invert_2x3(m)
    found = window(img, inv, oh, ow) if exact else None
    if found is not None:
        out = np.empty((oh, ow, c), dtype=np.uint8)
        copy_window(cv2, found[0], found[1], out)
        return out
    res = cv2.warpAffine(
        img, np.array(inv).reshape(2, 3), (ow, oh), flags=warp_flags(cv2, exact), **warp_border(cv2, stage)
    )
    return cast(np.ndarray, res if res.ndim == 3 else res.reshape(oh, ow, c))
