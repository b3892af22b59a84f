"""The CPU backend: uint8 HWC NumPy images through OpenCV.

* A geometric stage is ONE ``cv2.warpAffine`` per image with the composed matrix
  (nearest-pixel when the matrix maps pixel centres to pixel centres, as flips, integer
  crops and quarter turns do, which is exact; bilinear otherwise).
* A colour stage is ONE pass per image: ``cv2.LUT`` when the composed colour map is a
  scalar gain and offset (brightness, contrast), else ``cv2.transform`` with the 3x4
  matrix. Images whose maps are the identity are not touched.
* Values are rounded and clipped to uint8 after every stage.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seedwise.augment.compose import Program, Stage
from seedwise.augment.geometric import IDENTITY_2X3
from seedwise.augment.mixing import CutMix, MixUp
from seedwise.augment.pixel import Context, GaussianBlur, GaussianNoise, RandomErasing
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["BACKEND", "CpuBackend"]

_ARANGE = np.arange(256, dtype=np.float64)


def _cv2() -> Any:
    import cv2

    return cv2


def _per_sample(program: Program, stage: Stage) -> list[tuple[Any, dict[str, list]]]:
    """The stage's leaves with their parameters as Python lists (cheap to index per image)."""
    return [(program.steps[p][0], {k: v.tolist() for k, v in program.steps[p][1].items()}) for p in stage.positions]


def _compose_2x3(second: tuple, first: tuple) -> tuple:
    """``second o first`` for affine maps given as six floats (row-major 2x3)."""
    a2, b2, c2, d2, e2, f2 = second
    a1, b1, c1, d1, e1, f1 = first
    return (
        a2 * a1 + b2 * d1,
        a2 * b1 + b2 * e1,
        a2 * c1 + b2 * f1 + c2,
        d2 * a1 + e2 * d1,
        d2 * b1 + e2 * e1,
        d2 * c1 + e2 * f1 + f2,
    )


def _compose_colour(second: list[list[float]], first: list[list[float]]) -> list[list[float]]:
    """``second o first`` for colour maps given as C rows of C + 1 floats."""
    c = len(first)
    return [
        [sum(r2[k] * first[k][j] for k in range(c)) for j in range(c)]
        + [sum(r2[k] * first[k][c] for k in range(c)) + r2[c]]
        for r2 in second
    ]


def _hwc(img: np.ndarray, channels: int) -> np.ndarray:
    return img if img.ndim == 3 else img.reshape(img.shape[0], img.shape[1], channels)


class CpuBackend:
    """Runs a :class:`~seedwise.augment.compose.Program` on an NHWC uint8 array."""

    name = "cpu"

    def prepare(self, images: np.ndarray, indices: Any) -> tuple[CpuBackend, np.ndarray, bool]:
        if images.dtype != np.uint8:
            raise InvalidTypeError(
                f"the CPU (OpenCV) path takes uint8 images, got dtype {images.dtype}; convert with "
                "(x * 255).round().astype(np.uint8), or pass a torch tensor for the torch path"
            )
        if images.ndim == 3:
            return self, images[None], True
        if images.ndim == 4:
            return self, images, False
        raise InvalidArgumentError(
            f"images must be one HWC image or an NHWC batch (grey images as H x W x 1), got shape {images.shape}"
        )

    def stack(self, images: list[Any]) -> np.ndarray:
        for img in images:
            if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3:
                raise InvalidTypeError(f"fetch must return HWC uint8 NumPy images here, got {type(img).__name__}")
        return np.stack(images)

    def run(self, program: Program, stages: tuple[Stage, ...], x: np.ndarray) -> np.ndarray:
        for stage in stages:
            if stage.kind == "geometric":
                x = self._geometric(program, stage, x)
            elif stage.kind == "color":
                x = self._color(program, stage, x)
            elif stage.kind == "pixel":
                for pos in stage.positions:
                    x = self._pixel(program, pos, x)
            else:  # pragma: no cover - mixing is run by Compose.apply_mixing
                raise AssertionError(stage.kind)
        return x

    # -- stages -----------------------------------------------------------------------

    def _geometric(self, program: Program, stage: Stage, x: np.ndarray) -> np.ndarray:
        cv2 = _cv2()
        n, h, w, c = x.shape
        leaves = _per_sample(program, stage)
        border = (round(stage.fill * 255),) * 4
        out: np.ndarray | None = None
        for i in range(n):
            m, size = IDENTITY_2X3, (h, w)
            for leaf, rows in leaves:
                if rows["applied"][i] or leaf.changes_size:
                    step, size = leaf.matrix_one({k: v[i] for k, v in rows.items()}, size)
                    m = _compose_2x3(step, m)
            oh, ow = size
            if out is None:
                if n == 1 and m == IDENTITY_2X3 and size == (h, w):
                    return x
                out = np.empty((n, oh, ow, c), dtype=np.uint8)
            if m == IDENTITY_2X3 and size == (h, w):
                out[i] = x[i]
                continue
            # nearest is exact when pixel centres land on pixel centres (flips, integer crops, quarter turns)
            exact = all(abs(v - round(v)) < 1e-9 for v in m)
            flags = (cv2.INTER_NEAREST if exact else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP
            inv = cv2.invertAffineTransform(np.array(m, dtype=np.float64).reshape(2, 3))
            res = cv2.warpAffine(x[i], inv, (ow, oh), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=border)
            out[i] = _hwc(res, c)
        assert out is not None
        return out

    def _color(self, program: Program, stage: Stage, x: np.ndarray) -> np.ndarray:
        cv2 = _cv2()
        n, h, w, c = x.shape
        if c not in (1, 3):
            raise InvalidArgumentError(f"colour transforms take images with 1 or 3 (RGB) channels, got {c}")
        leaves = _per_sample(program, stage)
        needs_mean = any(getattr(leaf, "needs_mean", False) for leaf, _ in leaves)
        # a gain and an offset only (no channel mixing): a 256-entry lookup table per image
        scalar = c == 1 or not any(getattr(leaf, "mixes_channels", True) for leaf, _ in leaves)
        out = x if n == 1 else np.empty_like(x)
        for i in range(n):
            active = [(leaf, rows) for leaf, rows in leaves if rows["applied"][i]]
            if not active:
                if n > 1:
                    out[i] = x[i]
                continue
            mean = [v / 255.0 for v in cv2.mean(x[i])[:c]] if needs_mean else [0.0] * c
            amap = [[1.0 if j == k else 0.0 for j in range(c + 1)] for k in range(c)]
            for leaf, rows in active:
                step = leaf.affine_one({k: v[i] for k, v in rows.items()}, mean)
                amap = _compose_colour(step, amap)
                mean = [sum(r[j] * mean[j] for j in range(c)) + r[c] for r in step]
            for r in amap:
                r[c] *= 255.0
            if scalar:
                lut = np.clip(np.rint(amap[0][0] * _ARANGE + amap[0][c]), 0, 255).astype(np.uint8)
                res = _hwc(cv2.LUT(x[i], lut), c)
            else:
                res = cv2.transform(x[i], np.array(amap, dtype=np.float32))
            if n == 1:
                return res[None]
            out[i] = res
        return out

    def _pixel(self, program: Program, pos: int, x: np.ndarray) -> np.ndarray:
        leaf, params, stream = program.steps[pos]
        applied = np.flatnonzero(params["applied"])
        if applied.size == 0:
            return x
        n, h, w, c = x.shape
        ctx = Context(stream, program.epoch, program.indices)
        out = x.copy()
        if isinstance(leaf, GaussianNoise):
            noise = leaf.noise(ctx, (h, w, c))
            for i in applied:
                val = x[i].astype(np.float32) + np.float32(params["std"][i] * 255.0) * noise[i]
                out[i] = np.clip(np.rint(val), 0, 255).astype(np.uint8)
        elif isinstance(leaf, GaussianBlur):
            cv2 = _cv2()
            k = leaf.kernel
            for i in applied:
                s = float(params["sigma"][i])
                res = cv2.GaussianBlur(x[i], (k, k), sigmaX=s, sigmaY=s, borderType=cv2.BORDER_REFLECT_101)
                out[i] = _hwc(res, c)
        elif isinstance(leaf, RandomErasing):
            top, left, bh, bw = leaf.box(params, (h, w))
            fills = leaf.fills(ctx, params, (h, w), c)
            for i in applied:
                fill = fills[i]
                value = np.rint(np.asarray(fill, dtype=np.float32) * 255.0).astype(np.uint8)
                out[i, top[i] : top[i] + bh[i], left[i] : left[i] + bw[i]] = value
        else:
            raise InvalidTypeError(f"the CPU backend does not know how to apply {type(leaf).__name__}")
        return out

    def mix(self, x: np.ndarray, y: np.ndarray, rows: np.ndarray, chosen: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Mix ``x[rows[k]]`` with partner image ``y[k]``; returns the images and each row's own-label weight."""
        if y.shape[1:] != x.shape[1:]:
            raise InvalidArgumentError(
                f"a mixing partner has shape {y.shape[1:]} but the sample has {x.shape[1:]}; put a crop or resize "
                "before MixUp / CutMix so that all images share one size"
            )
        out = x.copy()
        lam = np.ones(len(rows))
        h, w = x.shape[1:3]
        for k, (i, (leaf, params)) in enumerate(zip(rows, chosen)):
            if isinstance(leaf, MixUp):
                lam[k] = params["lam"][i]
                out[i] = np.clip(np.rint(lam[k] * x[i].astype(np.float64) + (1.0 - lam[k]) * y[k]), 0, 255).astype(
                    np.uint8
                )
            elif isinstance(leaf, CutMix):
                top, left, bottom, right, lam_all = leaf.box(params, (h, w))
                lam[k] = lam_all[i]
                out[i, top[i] : bottom[i], left[i] : right[i]] = y[k, top[i] : bottom[i], left[i] : right[i]]
            else:  # pragma: no cover
                raise AssertionError(type(leaf))
        return out, lam


BACKEND = CpuBackend()
