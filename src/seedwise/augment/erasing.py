"""Random erasing: fill a random box with a constant or with per-pixel noise.

The box is drawn like a crop box (area fraction and aspect ratio,
:mod:`seedwise.augment._boxes`); a ``"random"`` fill comes from the sample's own
generator, so both backends erase with the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise.augment._boxes import box, box_params
from seedwise.augment._program import Context, Params
from seedwise.augment._ranges import real, value_range
from seedwise.augment.base import Transform
from seedwise.errors import InvalidArgumentError

if TYPE_CHECKING:
    import torch

__all__ = ["RandomErasing"]


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
        if isinstance(self.value, float):
            return [self.value] * len(params["applied"])
        _, _, bh, bw = self.box(params, image_size)
        return [g.random((int(h), int(w), channels), dtype=np.float32) for g, h, w in zip(ctx.generators(), bh, bw)]

    def apply_cpu(self, x: np.ndarray, params: Params, rows: np.ndarray, ctx: Context) -> np.ndarray:
        h, w, c = x.shape[1:]
        top, left, bh, bw = self.box(params, (h, w))
        fills = self.fills(ctx, params, (h, w), c)
        out = x  # the backend's own buffer: changed in place, in the rows applied
        for i in rows:
            value = np.rint(np.asarray(fills[i], dtype=np.float32) * 255.0).astype(np.uint8)
            out[i, top[i] : top[i] + bh[i], left[i] : left[i] + bw[i]] = value
        return out

    def apply_torch(
        self, x: torch.Tensor, params: Params, rows: np.ndarray, ctx: Context, scale: float
    ) -> torch.Tensor:
        import torch

        c, h, w = x.shape[1:]
        top, left, bh, bw = self.box(params, (h, w))
        fills = self.fills(ctx, params, (h, w), c)
        out = x.clone()
        for i in rows:
            fill = fills[i]
            region = out[i, :, top[i] : top[i] + bh[i], left[i] : left[i] + bw[i]]
            if isinstance(fill, np.ndarray):
                region.copy_(torch.as_tensor(fill, device=x.device).permute(2, 0, 1).to(x.dtype) * scale)
            else:
                region.fill_(fill * scale)
        return out

    def _repr_args(self) -> dict[str, Any]:
        return {"p": self.p, "scale": self.scale, "ratio": self.ratio, "value": self.value}
