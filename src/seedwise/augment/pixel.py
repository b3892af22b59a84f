"""Pixel transforms that are neither a coordinate map nor a colour map: noise, blur, erasing.

Each is applied on its own (no fusion). Per-pixel randomness (a noise image, a random
erasing fill) comes from :func:`seedwise.augment._draw.noise_generators`: one generator
per sample keyed by stateless draws at ``(epoch, index)`` from the transform's
``"noise"`` stream, so a sample's noise never depends on the rest of its batch.
Intensities (``std``, ``value``) are fractions of full intensity (255 for uint8 images,
1.0 for float images), so the same pipeline means the same thing on both.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from seedwise.augment import _draw
from seedwise.augment._boxes import box, box_params
from seedwise.augment._ranges import odd_kernel, real, value_range
from seedwise.augment.base import Params, Transform
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import Seeds

__all__ = ["Context", "GaussianNoise", "GaussianBlur", "RandomErasing", "gaussian_kernel"]


@dataclass(frozen=True)
class Context:
    """What a pixel transform needs besides its parameters: its stream and the positions."""

    stream: Seeds
    epoch: np.uint64
    indices: np.ndarray

    def generators(self) -> list[np.random.Generator]:
        return _draw.noise_generators(self.stream["noise"], self.epoch, self.indices)


def _nonneg_range(name: str, value: object) -> tuple[float, float]:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        v = real(name, value)
        if v < 0:
            raise InvalidArgumentError(f"{name} must be >= 0, got {v}")
        value = (v, v)
    return value_range(name, value, low=0.0)


class GaussianNoise(Transform):
    """Add Gaussian noise whose standard deviation is uniform in ``std`` (fractions of full intensity).

    ``per_channel=False`` adds the same noise to every channel.
    """

    param_names = ("std",)

    def __init__(self, std: float | tuple[float, float] = (0.01, 0.05), *, per_channel: bool = True, p: float = 0.5):
        super().__init__(p)
        self.std = _nonneg_range("std", std)
        self.per_channel = bool(per_channel)

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        lo, hi = self.std
        return {"applied": applied, "std": lo + (hi - lo) * u[:, 0]}

    def noise(self, ctx: Context, shape_hwc: tuple[int, int, int]) -> list[np.ndarray]:
        """Each sample's standard-normal noise image, ``(H, W, C or 1)`` float32."""
        h, w, c = shape_hwc
        shape = (h, w, c if self.per_channel else 1)
        return [g.standard_normal(shape, dtype=np.float32) for g in ctx.generators()]

    def _repr_args(self) -> dict[str, Any]:
        return {"std": self.std, "per_channel": self.per_channel, "p": self.p}


def gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """The 1-D Gaussian kernel OpenCV's ``getGaussianKernel`` computes for sigma > 0 (float64)."""
    x = np.arange(size) - (size - 1) / 2.0
    k = np.exp(-(x**2) / (2.0 * sigma * sigma))
    return k / k.sum()


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

    def _repr_args(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "sigma": self.sigma, "p": self.p}


class RandomErasing(Transform):
    """Erase a random box of relative area in ``scale`` and aspect ratio (w/h) in ``ratio``.

    ``value`` is the fill in [0, 1] of full intensity, or ``"random"`` for per-pixel
    uniform noise (from the sample's own generator).
    """

    param_names = ("area", "log_ratio", "offset_y", "offset_x")

    def __init__(
        self,
        p: float = 0.5,
        scale: tuple[float, float] = (0.02, 0.33),
        ratio: tuple[float, float] = (0.3, 3.3),
        value: float | str = 0.0,
    ):
        super().__init__(p)
        self.scale = value_range("scale", scale, low=0.0, high=1.0, open_low=True)
        self.ratio = value_range("ratio", ratio, low=0.0, open_low=True)
        if isinstance(value, str):
            if value != "random":
                raise InvalidArgumentError(f"value must be a number in [0, 1] or 'random', got {value!r}")
            self.value: float | str = value
        else:
            v = real("value", value)
            if not 0.0 <= v <= 1.0:
                raise InvalidArgumentError(
                    f"value must be in [0, 1] (a fraction of full intensity) or 'random', got {v}"
                )
            self.value = v

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        return box_params(u, applied, self.scale, self.ratio)

    def box(self, params: Params, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(top, left, height, width)`` int arrays of each sample's erased box."""
        return box(params, image_size)

    def fills(
        self, ctx: Context, params: Params, image_size: tuple[int, int], channels: int
    ) -> list[np.ndarray | float]:
        """Each sample's fill: a float, or an ``(h, w, C)`` float32 array in [0, 1)."""
        if self.value != "random":
            return [float(self.value)] * len(params["applied"])  # type: ignore[arg-type]
        _, _, bh, bw = self.box(params, image_size)
        return [g.random((int(h), int(w), channels), dtype=np.float32) for g, h, w in zip(ctx.generators(), bh, bw)]

    def _repr_args(self) -> dict[str, Any]:
        return {"p": self.p, "scale": self.scale, "ratio": self.ratio, "value": self.value}
