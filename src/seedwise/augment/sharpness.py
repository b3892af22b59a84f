"""Sharpness: blend an image with its smoothed version, as PIL's ``ImageEnhance.Sharpness``.

``factor`` 1 leaves the image as it is, 0 gives the smoothed image (PIL's ``SMOOTH``
filter: the 3x3 kernel ``1 1 1 / 1 5 1 / 1 1 1`` divided by 13), 2 sharpens as much the
other way; the one-pixel border is left unchanged, as PIL and torchvision leave it.

The blend and the filter are one 3x3 kernel (``factor * identity + (1 - factor) *
smooth``), applied in one pass (``cv2.filter2D``) and rounded once, where PIL rounds the
smoothed image and then truncates the blend: the two differ by a level or two on uint8
images (docs/augment.md states the tolerance; a test measures it).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise.augment._device import to_device
from seedwise.augment._program import Context, Params
from seedwise.augment._ranges import real, value_range
from seedwise.augment.base import Transform

if TYPE_CHECKING:
    import torch

__all__ = ["Sharpness", "sharpness_kernels"]

_SMOOTH = np.array([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13.0
_CENTRE = np.zeros((3, 3))
_CENTRE[1, 1] = 1.0


def sharpness_kernels(factor: np.ndarray) -> np.ndarray:
    """``(B, 3, 3)`` kernels ``factor * identity + (1 - factor) * smooth``."""
    f = factor[:, None, None]
    return np.asarray(f * _CENTRE + (1.0 - f) * _SMOOTH)


class Sharpness(Transform):
    """Sharpen (``factor`` > 1) or soften (< 1) by ``factor``: a number, or a ``(low,
    high)`` range drawn uniformly per sample (factors >= 0)."""

    param_names = ("factor",)

    def __init__(self, factor: float | tuple[float, float] = 2.0, *, p: float = 1.0):
        super().__init__(p)
        if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
            factor = (real("factor", factor), real("factor", factor))
        self.factor = value_range("factor", factor, low=0.0)

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        lo, hi = self.factor
        return {"applied": applied, "factor": lo + (hi - lo) * u[:, 0]}

    def apply_cpu(self, x: np.ndarray, params: Params, rows: np.ndarray, ctx: Context) -> np.ndarray:
        import cv2

        out = x  # the backend's own buffer: changed in place, in the rows applied
        h, w = x.shape[1:3]
        if h < 3 or w < 3:
            return out  # all border: nothing changes
        kernels = sharpness_kernels(params["factor"][rows]).astype(np.float32)
        for k, i in enumerate(rows.tolist()):
            res = cv2.filter2D(x[i], -1, kernels[k], borderType=cv2.BORDER_REFLECT_101)
            out[i, 1:-1, 1:-1] = res.reshape(x.shape[1:])[1:-1, 1:-1]
        return out

    def apply_torch(
        self, x: torch.Tensor, params: Params, rows: np.ndarray, ctx: Context, scale: float
    ) -> torch.Tensor:

        out = x.clone()
        h, w = x.shape[2], x.shape[3]
        if h < 3 or w < 3:
            return out
        kern = to_device(sharpness_kernels(params["factor"][rows]).astype(np.float32), x, x.dtype)
        r = to_device(rows, x)
        sel = x[r]
        acc = kern[:, 0, 0, None, None, None] * sel[:, :, 0 : h - 2, 0 : w - 2]
        for dy in range(3):
            for dx in range(3):
                if dy or dx:
                    acc += kern[:, dy, dx, None, None, None] * sel[:, :, dy : dy + h - 2, dx : dx + w - 2]
        inner = out[r]
        inner[:, :, 1:-1, 1:-1] = acc.clamp_(0.0, scale)
        out[r] = inner
        return out

    def _repr_args(self) -> dict[str, Any]:
        return {"factor": self.factor, "p": self.p}
