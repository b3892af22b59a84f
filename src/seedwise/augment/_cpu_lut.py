"""The CPU path's lookup-table stage: the stage's tables composed into one per sample
(exact: integers), then ONE ``cv2.LUT`` per image.

Tables that depend on the image (equalise, autocontrast) get the histogram of the image
as it reaches them: the input's histogram (``cv2.calcHist``) pushed through the tables
before them, exactly. The same code serves one image and a batch (integer arithmetic
gives the same result however the samples are grouped).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seedwise.augment._cpu_warp import into, writes_into_dst
from seedwise.augment._maps import compose_tables, lut_ops
from seedwise.augment._program import Program, Stage

__all__ = ["lut_stage"]


def _cv2() -> Any:
    import cv2

    return cv2


def lut_stage(program: Program, stage: Stage, x: np.ndarray, inplace: bool = False) -> np.ndarray:
    """The stage applied to an NHWC uint8 batch (``x`` itself when no sample is touched).
    ``inplace``: ``x`` is the caller's own buffer and may be overwritten."""
    cv2 = _cv2()
    n, c = x.shape[0], x.shape[3]
    ops = lut_ops(program, stage)
    if not ops:
        return x
    active = np.logical_or.reduce([params["applied"] for _, params in ops])

    def histogram() -> np.ndarray:
        hist = np.zeros((n, c, 256), dtype=np.int64)
        for i in np.flatnonzero(active).tolist():
            for ch in range(c):
                hist[i, ch] = cv2.calcHist([x[i]], [ch], None, [256], [0, 256]).ravel()
        return hist

    tables = compose_tables(ops, n, c, histogram)
    shared = np.all(tables == tables[:, :1], axis=(1, 2))  # one table for every channel
    inplace = inplace and writes_into_dst()
    if n == 1:  # one image (a DataLoader worker's call): no batch buffer
        lut = tables[0, 0] if shared[0] else np.ascontiguousarray(tables[0].T).reshape(1, 256, c)
        res = cv2.LUT(x[0], lut, dst=x[0] if inplace else None)
        return x if inplace else np.asarray(res).reshape(x.shape)
    out = x if inplace else np.empty_like(x)
    for i in range(n):
        if not active[i]:
            if not inplace:
                out[i] = x[i]
            continue
        lut = tables[i, 0] if shared[i] else np.ascontiguousarray(tables[i].T).reshape(1, 256, c)
        into(out[i], cv2.LUT(x[i], lut, dst=out[i]))
    return out
