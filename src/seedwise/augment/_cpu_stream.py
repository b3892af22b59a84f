"""The CPU path on a batch: a run of geometric, colour and lookup-table stages, image by image.

First, everything that does not depend on the pixels is computed for the whole batch at
once: the geometric maps and their inverses (NumPy, the same bits as the per-image form),
the colour maps of stages that need no image mean, the lookup tables. Then each image
goes through all the stages while it is in the cache (one warp, one colour pass, one
table: each writing once), and what depends on its pixels (the mean colour for a
contrast change) is computed there, with the per-image code. A stage-by-stage loop over
the batch would read and write the whole batch from memory once per stage. (Tables that
need each image's histogram, equalize and autocontrast, run as a stage on the batch: their
tables are cheapest composed for all images at once.)

Same pixels as the per-image path (:mod:`seedwise.augment._cpu_warp`,
:mod:`seedwise.augment._cpu_colour`, :mod:`seedwise.augment._cpu_lut`), whatever the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seedwise.augment._cpu_colour import apply_map, map_one, stage_ops
from seedwise.augment._cpu_warp import copy_window, into, warp_border, warp_flags, window
from seedwise.augment._maps import compose_color, compose_geometric, compose_tables, invert_2x3_batch, lut_ops
from seedwise.augment._program import IDENTITY_2X3, LUMA_WEIGHTS, Program, Stage

__all__ = ["streamable", "run_stages"]

_ARANGE = np.arange(256, dtype=np.float64)
_W0, _W1, _W2 = LUMA_WEIGHTS


def _cv2() -> Any:
    import cv2

    return cv2


class _Warp:
    """A geometric stage: every sample's inverse map, then one warp (or copy) per image."""

    def __init__(self, program: Program, stage: Stage, size: tuple[int, int], channels: int):
        cv2 = _cv2()
        m, self.size = compose_geometric(program, stage, size)
        m23 = m[:, :2, :]
        ident = np.all(m23 == np.array(IDENTITY_2X3).reshape(2, 3), axis=(1, 2)) & (self.size == size)
        self.ident = ident.tolist()
        self.touched = (~ident).tolist()
        self.exact = np.all(np.abs(m23 - np.rint(m23)) < 1e-9, axis=(1, 2)).tolist()
        self.inv = invert_2x3_batch(m)
        self.border = warp_border(cv2, stage)
        self.flags = (warp_flags(cv2, False), warp_flags(cv2, True))
        self.shape = (*self.size, channels)

    def apply(self, i: int, img: np.ndarray, target: np.ndarray, owned: bool, last: bool) -> tuple[np.ndarray, bool]:
        if self.ident[i]:
            return img, owned
        oh, ow = self.size
        if self.exact[i]:
            a, b, tx, c, d, ty = self.inv[i].ravel().tolist()
            found = window(img, (a, b, tx, c, d, ty), oh, ow)
            if found is not None:
                copy_window(_cv2(), found[0], found[1], target)
                return target, True
        res = _cv2().warpAffine(img, self.inv[i], (ow, oh), dst=target, flags=self.flags[self.exact[i]], **self.border)
        into(target, res)
        return target, True


class _Colour:
    """A colour stage: the maps of all samples at once when they need no image mean, else
    per image from its mean; one pass per image.

    A map that needs the mean only through its luma (``affine_split``, see ``ColorOp``; a
    contrast change) is composed for the whole batch up to one product per row, which
    each image finishes from its mean with the same floating-point operations as the
    per-image code."""

    def __init__(self, program: Program, stage: Stage, size: tuple[int, int], channels: int):
        ops, self.needs_mean, self.scalar = stage_ops(program, stage, channels)
        n = len(program.indices)
        self.channels = channels
        self.touched = (np.logical_or.reduce([p["applied"] for _, p in ops]) if ops else np.zeros(n, bool)).tolist()
        self.size, self.shape = size, (*size, channels)
        self.maps: np.ndarray | None = None
        self.rows: list[tuple[Any, dict[str, list[Any]]]] = []
        # a split map (affine_split): each row's r, each sample's scale and gain (float64, for a
        # table, as apply_map), and the float32 matrices whose last column each image fills in
        self.split: tuple[list[list[float]], list[float], list[float], np.ndarray] | None = None
        if not any(self.touched):
            return
        if self.needs_mean:
            # optional (a colour transform need not offer it): the per-image code below otherwise
            split_of = getattr(ops[0][0], "affine_split", None) if len(ops) == 1 else None
            split = split_of(ops[0][1], channels) if split_of is not None else None
            if split is not None:
                maps, scale = split
                self.split = (
                    maps[:, :, channels].tolist(),
                    scale.tolist(),
                    maps[:, 0, 0].tolist(),
                    maps.astype(np.float32),
                )
                return
            # per image, from its mean: the per-image code, parameters as Python scalars
            self.rows = [(op, {k: v.tolist() for k, v in params.items()}) for op, params in ops]
            return
        amap = compose_color(program, stage, np.zeros((n, channels)))
        amap[:, :, channels] *= 255.0
        if self.scalar:
            lut = amap[:, 0, 0:1] * _ARANGE + amap[:, 0, channels : channels + 1]
            self.maps = np.clip(np.rint(lut), 0, 255).astype(np.uint8)
        else:
            self.maps = amap.astype(np.float32)

    def apply(self, i: int, img: np.ndarray, target: np.ndarray, owned: bool, last: bool) -> tuple[np.ndarray, bool]:
        if not self.touched[i]:
            return img, owned
        # in place only through a table: cv2.transform writing over its own input is ~15% slower
        dst = img if owned and not last and self.scalar else target
        if self.split is not None:
            return self._apply_split(i, img, dst), True
        if self.maps is None:
            rows = [(op, {k: v[i] for k, v in p.items()}) for op, p in self.rows if p["applied"][i]]
            amap = map_one(rows, img, self.needs_mean)
            if amap is None:
                return img, owned
            return apply_map(img, amap, self.scalar, dst), True
        cv2 = _cv2()
        res = cv2.LUT(img, self.maps[i], dst=dst) if self.scalar else cv2.transform(img, self.maps[i], dst=dst)
        into(dst, res)
        return dst, True

    def _apply_split(self, i: int, img: np.ndarray, dst: np.ndarray) -> np.ndarray:
        # map_one's mean and affine_one's luma, then r * (scale * luma) * 255: the same operations, the same bits
        assert self.split is not None
        rows, scales, gains, mats = self.split
        cv2, c = _cv2(), self.channels
        m = cv2.mean(img)
        luma = _W0 * (m[0] / 255.0) + _W1 * (m[1] / 255.0) + _W2 * (m[2] / 255.0) if c == 3 else m[0] / 255.0
        offset = scales[i] * luma
        if self.scalar:
            lut = np.clip(np.rint(gains[i] * _ARANGE + rows[i][0] * offset * 255.0), 0, 255).astype(np.uint8)
            res = cv2.LUT(img, lut, dst=dst)
        else:
            mat = mats[i]
            mat[:, c] = [r * offset * 255.0 for r in rows[i]]
            res = cv2.transform(img, mat, dst=dst)
        into(dst, res)
        return dst


class _Tables:
    """A lookup-table stage whose tables need no histogram (those that do run as a stage,
    :func:`seedwise.augment._cpu_lut.lut_stage`): all samples' tables at once, one
    ``cv2.LUT`` per image."""

    def __init__(self, program: Program, stage: Stage, size: tuple[int, int], channels: int):
        ops = lut_ops(program, stage)
        n = len(program.indices)
        self.channels, self.size, self.shape = channels, size, (*size, channels)
        self.touched = (np.logical_or.reduce([p["applied"] for _, p in ops]) if ops else np.zeros(n, bool)).tolist()
        self.tables = compose_tables(ops, n, channels, None)
        self.shared = np.all(self.tables == self.tables[:, :1], axis=(1, 2)).tolist()  # one table for every channel

    def apply(self, i: int, img: np.ndarray, target: np.ndarray, owned: bool, last: bool) -> tuple[np.ndarray, bool]:
        if not self.touched[i]:
            return img, owned
        table = self.tables[i]
        lut = table[0] if self.shared[i] else np.ascontiguousarray(table.T).reshape(1, 256, self.channels)
        dst = img if owned and not last else target
        into(dst, _cv2().LUT(img, lut, dst=dst))
        return dst, True


def streamable(program: Program, stage: Stage) -> bool:
    """Can ``stage`` run image by image here? (Tables that need each image's histogram run as a stage.)"""
    if stage.kind == "lut":
        return not any(op.needs_histogram for op, _ in lut_ops(program, stage))
    return stage.kind in ("geometric", "color")


def run_stages(program: Program, stages: tuple[Stage, ...], x: np.ndarray) -> np.ndarray:
    """``stages`` (each :func:`streamable`) applied to the NHWC uint8 batch ``x``; a new array."""
    n, h, w, c = x.shape
    plans: list[Any] = []
    size = (h, w)
    for stage in stages:
        kind: Any = {"geometric": _Warp, "color": _Colour, "lut": _Tables}[stage.kind]
        plan = kind(program, stage, size, c)
        size = plan.size
        plans.append(plan)
    out = np.empty((n, *size, c), dtype=np.uint8)
    scratch = [np.empty(plan.shape, dtype=np.uint8) for plan in plans]
    # per image, the last stage that changes it: that one writes straight into the output
    touched = np.array([plan.touched for plan in plans], dtype=bool).reshape(len(plans), n)
    lasts = np.where(touched.any(axis=0), len(plans) - 1 - np.argmax(touched[::-1], axis=0), -1).tolist()
    for i, last in enumerate(lasts):
        final = out[i]
        img, owned = x[i], False
        for k in range(last + 1):
            img, owned = plans[k].apply(i, img, final if k == last else scratch[k], owned, k == last)
        if img is not final:
            final[...] = img  # no stage changed it: a copy of the input
    return out
