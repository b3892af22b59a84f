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

from typing import Any, cast

import numpy as np

from seedwise.augment._maps import compose_2x3, compose_colour_rows
from seedwise.augment._program import (
    IDENTITY_2X3,
    Affine2x3,
    ColorOp,
    Context,
    GeometricOp,
    MixOp,
    Params,
    PixelOp,
    Program,
    Stage,
)
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["BACKEND", "CpuBackend"]

_ARANGE = np.arange(256, dtype=np.float64)


def _cv2() -> Any:
    import cv2

    return cv2


def _per_sample(program: Program, stage: Stage) -> list[tuple[Any, dict[str, list[Any]]]]:
    """The stage's leaves with their parameters as Python lists (cheap to index per image)."""
    return [(program.steps[p][0], {k: v.tolist() for k, v in program.steps[p][1].items()}) for p in stage.positions]


def hwc(img: np.ndarray, channels: int) -> np.ndarray:
    """OpenCV drops the channel axis of one-channel images: put it back."""
    return img if img.ndim == 3 else img.reshape(img.shape[0], img.shape[1], channels)


class CpuBackend:
    """Runs a :class:`~seedwise.augment.compose.Program` on an NHWC uint8 array."""

    name = "cpu"

    def prepare(self, images: np.ndarray) -> tuple[np.ndarray, bool]:
        if images.dtype != np.uint8:
            raise InvalidTypeError(
                f"the CPU (OpenCV) path takes uint8 images, got dtype {images.dtype}; convert with "
                "(x * 255).round().astype(np.uint8), or pass a torch tensor for the torch path"
            )
        if images.ndim == 3:
            return images[None], True
        if images.ndim == 4:
            return images, False
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
            else:
                raise InvalidArgumentError(f"the CPU backend cannot run a {stage.kind!r} stage here")
        return x

    # -- stages -----------------------------------------------------------------------

    def _geometric(self, program: Program, stage: Stage, x: np.ndarray) -> np.ndarray:
        cv2 = _cv2()
        n, h, w, c = x.shape
        leaves = [(cast(GeometricOp, leaf), rows) for leaf, rows in _per_sample(program, stage)]
        border = (round(stage.fill * 255),) * 4
        out: np.ndarray | None = None
        for i in range(n):
            m: Affine2x3 = IDENTITY_2X3
            size = (h, w)
            for leaf, rows in leaves:
                if rows["applied"][i] or leaf.changes_size:
                    step, size = leaf.matrix_one({k: v[i] for k, v in rows.items()}, size)
                    m = compose_2x3(step, m)
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
            out[i] = hwc(res, c)
        return x if out is None else out

    def _color(self, program: Program, stage: Stage, x: np.ndarray) -> np.ndarray:
        cv2 = _cv2()
        n, c = x.shape[0], x.shape[3]
        if c not in (1, 3):
            raise InvalidArgumentError(f"colour transforms take images with 1 or 3 (RGB) channels, got {c}")
        leaves = [(cast(ColorOp, leaf), rows) for leaf, rows in _per_sample(program, stage)]
        needs_mean = any(leaf.needs_mean for leaf, _ in leaves)
        # a gain and an offset only (no channel mixing): a 256-entry lookup table per image
        scalar = c == 1 or not any(leaf.mixes_channels for leaf, _ in leaves)
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
                amap = compose_colour_rows(step, amap)
                mean = [sum(r[j] * mean[j] for j in range(c)) + r[c] for r in step]
            for r in amap:
                r[c] *= 255.0
            if scalar:
                lut = np.clip(np.rint(amap[0][0] * _ARANGE + amap[0][c]), 0, 255).astype(np.uint8)
                res = hwc(cv2.LUT(x[i], lut), c)
            else:
                res = cv2.transform(x[i], np.array(amap, dtype=np.float32))
            if n == 1:
                return res[None]
            out[i] = res
        return out

    def _pixel(self, program: Program, pos: int, x: np.ndarray) -> np.ndarray:
        leaf, params, stream = program.steps[pos]
        rows = np.flatnonzero(params["applied"])
        if rows.size == 0:
            return x
        return cast(PixelOp, leaf).apply_cpu(x, params, rows, Context(stream, program.epoch, program.indices))

    def mix(
        self, x: np.ndarray, y: np.ndarray, rows: np.ndarray, chosen: list[tuple[Any, Params]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mix ``x[rows[k]]`` with partner image ``y[k]``; returns the images and each row's own-label weight."""
        if y.shape[1:] != x.shape[1:]:
            raise InvalidArgumentError(
                f"a mixing partner has shape {y.shape[1:]} but the sample has {x.shape[1:]}; put a crop or resize "
                "before MixUp / CutMix so that all images share one size"
            )
        out = x.copy()
        lam = np.ones(len(rows))
        for k, (i, (leaf, params)) in enumerate(zip(rows, chosen)):
            out[i], lam[k] = cast(MixOp, leaf).mix_cpu(x[i], y[k], params, int(i))
        return out, lam


BACKEND = CpuBackend()
