"""Gaussian blur with a random sigma per sample.

The CPU path is ``cv2.GaussianBlur``; the torch path computes the same separable kernel
(:func:`gaussian_kernel`, what OpenCV's ``getGaussianKernel`` gives for sigma > 0) as
shifted sums, so each sample's bits do not depend on its batch. Borders reflect without
repeating the edge pixel (OpenCV's BORDER_REFLECT_101, torch's ``"reflect"``).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise.augment._device import to_device
from seedwise.augment._program import Context, Params
from seedwise.augment._ranges import odd_kernel, value_range
from seedwise.augment.base import Transform

if TYPE_CHECKING:
    import torch

__all__ = ["GaussianBlur", "gaussian_kernel"]


def gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """The 1-D Gaussian kernel OpenCV's ``getGaussianKernel`` computes for sigma > 0 (float64)."""
    x = np.arange(size) - (size - 1) / 2.0
    k = np.exp(-(x**2) / (2.0 * sigma * sigma))
    return np.asarray(k / k.sum())


class GaussianBlur(Transform):
    """Blur with a ``kernel`` x ``kernel`` Gaussian whose sigma is uniform in ``sigma`` (pixels).

    Borders reflect without repeating the edge pixel (OpenCV's BORDER_REFLECT_101).
    """

    param_names = ("sigma",)

    def __init__(self, kernel: int = 5, sigma: float | tuple[float, float] = (0.1, 2.0), *, p: float = 0.5):
        super().__init__(p)
        self.kernel = odd_kernel("kernel", kernel)
        self.sigma = value_range(
            "sigma", (sigma, sigma) if isinstance(sigma, numbers.Real) else sigma, low=0.0, open_low=True
        )

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        lo, hi = self.sigma
        return {"applied": applied, "sigma": lo + (hi - lo) * u[:, 0]}

    def apply_cpu(self, x: np.ndarray, params: Params, rows: np.ndarray, ctx: Context) -> np.ndarray:
        import cv2

        k, c = self.kernel, x.shape[3]
        out = x  # the backend's own buffer: changed in place, in the rows applied
        for i in rows:
            s = float(params["sigma"][i])
            res = cv2.GaussianBlur(x[i], (k, k), sigmaX=s, sigmaY=s, borderType=cv2.BORDER_REFLECT_101)
            out[i] = res if res.ndim == 3 else res.reshape(res.shape[0], res.shape[1], c)
        return out

    def apply_torch(
        self, x: torch.Tensor, params: Params, rows: np.ndarray, ctx: Context, scale: float
    ) -> torch.Tensor:
        import torch.nn.functional as F

        h, w = x.shape[2], x.shape[3]
        k, r = self.kernel, self.kernel // 2
        kern = np.stack([gaussian_kernel(k, float(params["sigma"][i])) for i in rows])  # (B', k)
        kern_t = to_device(kern, x, x.dtype)[:, :, None, None, None]  # (B', k, 1, 1, 1)
        sel = F.pad(x[to_device(rows, x)], (r, r, r, r), mode="reflect")
        rows_blur = kern_t[:, 0] * sel[:, :, 0:h, :]
        for j in range(1, k):
            rows_blur += kern_t[:, j] * sel[:, :, j : j + h, :]
        cols = kern_t[:, 0] * rows_blur[:, :, :, 0:w]
        for j in range(1, k):
            cols += kern_t[:, j] * rows_blur[:, :, :, j : j + w]
        out = x.clone()
        out[to_device(rows, x)] = cols
        return out

    def _repr_args(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "sigma": self.sigma, "p": self.p}
