"""Random crops: a random window (:class:`RandomCrop`) or a random box resized to a fixed
size (:class:`RandomResizedCrop`). Both are geometric transforms, so they fuse with flips
and affine maps into one warp; both change the image size, so they are always applied.

Offsets are drawn in unit space (fractions of the room the window has), so ``sample``
does not need the image size; :meth:`RandomCrop.box` and :meth:`RandomResizedCrop.box`
turn them into integer boxes for an image size.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from seedwise.augment._boxes import box, box_params
from seedwise.augment._program import Params
from seedwise.augment._ranges import size_hw, value_range
from seedwise.augment.geometric import Geometric, eye, translation
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["RandomCrop", "RandomResizedCrop"]


class RandomCrop(Geometric):
    """Crop a random ``size`` window, after padding each side by ``padding`` pixels of ``fill``
    (default 0 when there is padding; without padding the window stays inside the image and
    sets no fill, so it fuses with transforms of any fill).

    Offsets are integers, so the crop is exact (nearest-pixel copy) on both backends.
    Always applied (a crop that might not happen would give images of two sizes).
    """

    changes_size = True
    param_names = ("offset_y", "offset_x")

    def __init__(self, size: int | tuple[int, int], padding: int = 0, *, fill: float | None = None):
        if isinstance(padding, bool) or not isinstance(padding, numbers.Integral):
            raise InvalidTypeError(
                f"padding must be an int >= 0 (pixels on each side), got {type(padding).__name__} {padding!r}"
            )
        if padding < 0:
            raise InvalidArgumentError(f"padding must be >= 0, got {padding}")
        super().__init__(1.0, 0.0 if fill is None and padding else fill)
        self.size: tuple[int, int] = size_hw("size", size)
        self.padding: int = int(padding)

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        return {"applied": applied, "offset_y": u[:, 0], "offset_x": u[:, 1]}

    def box(self, params: Params, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, int, int]:
        """``(top, left, height, width)`` of each sample's window in the *unpadded* image's
        coordinates (``top``/``left`` may be negative when the window reaches into the padding)."""
        h, w = image_size
        ch, cw = self.size
        ph, pw = h + 2 * self.padding, w + 2 * self.padding
        if ch > ph or cw > pw:
            raise InvalidArgumentError(
                f"RandomCrop size {self.size} is larger than the {'padded ' if self.padding else ''}image "
                f"({ph}, {pw}); use a smaller size or more padding"
            )
        top = np.floor(params["offset_y"] * (ph - ch + 1)).astype(np.int64) - self.padding
        left = np.floor(params["offset_x"] * (pw - cw + 1)).astype(np.int64) - self.padding
        return top, left, ch, cw

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        top, left, ch, cw = self.box(params, size)
        return translation(-left.astype(np.float64), -top.astype(np.float64)), (ch, cw)

    def _repr_args(self) -> dict[str, Any]:
        return {"size": self.size, "padding": self.padding, "fill": self.fill}


class RandomResizedCrop(Geometric):
    """Crop a random box of relative area in ``scale`` and aspect ratio (w/h) in ``ratio``,
    resized to ``size``.

    Unlike torchvision's ten rejection-sampling attempts, the box is drawn without
    rejection (one draw per quantity, so a sample's draws never depend on how many
    attempts failed): area and log-ratio are uniform, then the width and height are
    clipped to the image. Always applied.
    """

    changes_size = True
    param_names = ("area", "log_ratio", "offset_y", "offset_x")

    def __init__(
        self,
        size: int | tuple[int, int],
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
    ):
        super().__init__(1.0, 0.0)
        self.size: tuple[int, int] = size_hw("size", size)
        self.scale = value_range("scale", scale, low=0.0, high=1.0, open_low=True)
        self.ratio = value_range("ratio", ratio, low=0.0, open_low=True)

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        return box_params(u, applied, self.scale, self.ratio)

    def box(self, params: Params, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(top, left, height, width)`` int arrays of each sample's crop box."""
        return box(params, image_size)

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        top, left, bh, bw = self.box(params, size)
        oh, ow = self.size
        sx, sy = ow / bw, oh / bh
        m = eye(len(top))
        # x' = (x - left + 0.5) * sx - 0.5: box edges map to output edges.
        m[:, 0, 0], m[:, 0, 2] = sx, (0.5 - left) * sx - 0.5
        m[:, 1, 1], m[:, 1, 2] = sy, (0.5 - top) * sy - 0.5
        return m, self.size

    def _repr_args(self) -> dict[str, Any]:
        return {"size": self.size, "scale": self.scale, "ratio": self.ratio}
