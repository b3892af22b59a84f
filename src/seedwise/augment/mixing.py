"""Dataset-level mixing: MixUp and CutMix with partners chosen per sample, not per batch.

Every common implementation pairs each sample with another sample *of the same batch*
(a shuffled or flipped batch), so what a sample is mixed with depends on the batch size,
the worker count and the data order. Here sample ``i`` of epoch ``e`` gets its partner
index (uniform over the dataset, never ``i`` itself) and its weight as a pure function
of (stream, ``e``, ``i``); the loader fetches that partner
(:class:`~seedwise.augment.AugmentedDataset`). The weight ``lam`` is Beta(alpha, alpha),
drawn by inverting the Beta CDF at a stateless uniform (``scipy.special.betaincinv``).

``lam`` is the weight of the sample's *own* image and label; the partner gets ``1 - lam``.
CutMix pastes a box of the partner covering a fraction ``1 - lam`` of the image; the
box is clipped at the border, and the label weight is the area that actually remains
(:meth:`CutMix.box` returns it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise.augment._program import Params
from seedwise.augment._ranges import real
from seedwise.augment.base import Transform
from seedwise.errors import InvalidArgumentError

if TYPE_CHECKING:
    import torch

__all__ = ["Mix", "MixUp", "CutMix"]


def _beta_inverse(alpha: float, u: np.ndarray) -> np.ndarray:
    from scipy.special import betaincinv

    return np.asarray(betaincinv(alpha, alpha, u), dtype=np.float64)


class Mix(Transform):
    """A transform that blends each sample with a partner sample of the dataset."""

    kind = "mix"

    def __init__(self, alpha: float, p: float):
        super().__init__(p)
        self.alpha = real("alpha", alpha)
        if self.alpha <= 0:
            raise InvalidArgumentError(f"alpha must be > 0 (the Beta(alpha, alpha) parameter), got {self.alpha}")

    def _partners(self, u: np.ndarray, indices: np.ndarray, dataset_size: int | None) -> np.ndarray:
        if dataset_size is None:
            raise InvalidArgumentError(
                f"{type(self).__name__} picks each sample's partner from the whole dataset, so it needs "
                "dataset_size; use seedwise.augment.AugmentedDataset, or pass dataset_size=len(dataset)"
            )
        if dataset_size < 2:
            raise InvalidArgumentError(
                f"{type(self).__name__} needs a dataset of at least 2 samples, got dataset_size={dataset_size}"
            )
        if indices.size and int(indices.max()) >= dataset_size:
            raise InvalidArgumentError(f"index {int(indices.max())} is out of range for dataset_size={dataset_size}")
        j = np.minimum(np.floor(u * (dataset_size - 1)).astype(np.int64), dataset_size - 2)
        return np.asarray(np.where(j >= indices.astype(np.int64), j + 1, j))

    def _repr_args(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "p": self.p}


class MixUp(Mix):
    """``lam * x_i + (1 - lam) * x_j`` with ``lam ~ Beta(alpha, alpha)`` and ``j`` a random other sample."""

    param_names = ("lam", "partner")

    def __init__(self, alpha: float = 0.2, *, p: float = 1.0):
        super().__init__(alpha, p)

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        return {
            "applied": applied,
            "lam": _beta_inverse(self.alpha, u[:, 0]),
            "partner": self._partners(u[:, 1], indices, dataset_size),
        }

    def mix_cpu(self, x: np.ndarray, y: np.ndarray, params: Params, i: int) -> tuple[np.ndarray, float]:
        lam = float(params["lam"][i])
        return np.clip(np.rint(lam * x.astype(np.float64) + (1.0 - lam) * y), 0, 255).astype(np.uint8), lam

    def mix_torch(self, x: torch.Tensor, y: torch.Tensor, params: Params, i: int) -> tuple[torch.Tensor, float]:
        import torch

        lam = float(params["lam"][i])
        blend = lam * x.double() + (1.0 - lam) * y.double()
        return (blend.round().clamp_(0, 255).to(x.dtype) if x.dtype == torch.uint8 else blend.to(x.dtype)), lam


class CutMix(Mix):
    """Paste a box of a random other sample covering about ``1 - lam`` of the image, ``lam ~ Beta(alpha, alpha)``."""

    param_names = ("lam", "partner", "centre_y", "centre_x")

    def __init__(self, alpha: float = 1.0, *, p: float = 1.0):
        super().__init__(alpha, p)

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        return {
            "applied": applied,
            "lam": _beta_inverse(self.alpha, u[:, 0]),
            "partner": self._partners(u[:, 1], indices, dataset_size),
            "centre_y": u[:, 2],
            "centre_x": u[:, 3],
        }

    def box(
        self, params: Params, image_size: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(top, left, bottom, right, lam)``: each sample's pasted box (half-open) and the
        weight of its own label once the box is clipped to the image."""
        h, w = image_size
        cut = np.sqrt(1.0 - params["lam"])
        ch, cw = np.rint(h * cut).astype(np.int64), np.rint(w * cut).astype(np.int64)
        cy, cx = np.floor(params["centre_y"] * h).astype(np.int64), np.floor(params["centre_x"] * w).astype(np.int64)
        top, bottom = np.clip(cy - ch // 2, 0, h), np.clip(cy + (ch - ch // 2), 0, h)
        left, right = np.clip(cx - cw // 2, 0, w), np.clip(cx + (cw - cw // 2), 0, w)
        lam = 1.0 - (bottom - top) * (right - left) / float(h * w)
        return top, left, bottom, right, lam

    def mix_cpu(self, x: np.ndarray, y: np.ndarray, params: Params, i: int) -> tuple[np.ndarray, float]:
        top, left, bottom, right, lam = self.box(params, (x.shape[0], x.shape[1]))
        out = x.copy()
        out[top[i] : bottom[i], left[i] : right[i]] = y[top[i] : bottom[i], left[i] : right[i]]
        return out, float(lam[i])

    def mix_torch(self, x: torch.Tensor, y: torch.Tensor, params: Params, i: int) -> tuple[torch.Tensor, float]:
        top, left, bottom, right, lam = self.box(params, (x.shape[1], x.shape[2]))
        out = x.clone()
        out[:, top[i] : bottom[i], left[i] : right[i]] = y[:, top[i] : bottom[i], left[i] : right[i]]
        return out, float(lam[i])
