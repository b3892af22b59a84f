"""Deterministic geometric stages: :class:`Resize`, :class:`CenterCrop` and :class:`Pad`.

Each is a fixed affine map of coordinates for a given input size, so it fuses with the
random geometric transforms around it into the same single warp (a crop, a flip, an
affine map and a resize cost one ``cv2.warpAffine`` together). They draw nothing.

* ``Resize(size)``: bilinear, with pixel centres mapped as ``cv2.resize`` (INTER_LINEAR)
  and ``torch.nn.functional.interpolate(align_corners=False)`` map them; like those (and
  unlike PIL's resize), without antialiasing when shrinking. The values can differ from
  ``cv2.resize`` by rounding (OpenCV's warp and resize use different fixed-point steps):
  at most 1 level for uint8 images (a test checks it).
* ``CenterCrop(size)``: the centre window (top-left rounded as torchvision does:
  ``int(round((H - h) / 2))``); a window larger than the image is padded with ``fill``.
* ``Pad(padding, fill=0)``: a border of ``fill`` (a fraction of full intensity).

Crops and pads move pixels by whole pixels, so they are exact (nearest-pixel copies).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from seedwise.augment._program import Affine2x3, Params
from seedwise.augment._ranges import elements, size_hw
from seedwise.augment.geometric import Geometric, eye, translation
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["Resize", "CenterCrop", "Pad"]


class Resize(Geometric):
    """Resize to ``size`` (an int for a square, or ``(height, width)``), bilinear."""

    changes_size = True

    def __init__(self, size: int | tuple[int, int]):
        super().__init__(1.0, fill=None)
        self.size: tuple[int, int] = size_hw("size", size)

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        h, w = size
        oh, ow = self.size
        sx, sy = ow / w, oh / h
        m = eye(len(params["applied"]))
        # x' = (x + 0.5) * sx - 0.5: the image's edges map to the output's edges
        m[:, 0, 0], m[:, 0, 2] = sx, 0.5 * sx - 0.5
        m[:, 1, 1], m[:, 1, 2] = sy, 0.5 * sy - 0.5
        return m, self.size

    def matrix_one(self, p: dict[str, Any], size: tuple[int, int]) -> tuple[Affine2x3, tuple[int, int]]:
        h, w = size
        oh, ow = self.size
        sx, sy = ow / w, oh / h
        return (sx, 0.0, 0.5 * sx - 0.5, 0.0, sy, 0.5 * sy - 0.5), self.size

    def _repr_args(self) -> dict[str, Any]:
        return {"size": self.size}


class CenterCrop(Geometric):
    """Crop the centre ``size`` window, padded with ``fill`` where it is larger than the
    image (None: the fill of the transforms it is fused with, 0 if none sets one)."""

    changes_size = True

    def __init__(self, size: int | tuple[int, int], *, fill: float | None = None):
        super().__init__(1.0, fill=fill)
        self.size: tuple[int, int] = size_hw("size", size)

    def offsets(self, size: tuple[int, int]) -> tuple[int, int]:
        """``(top, left)`` of the window in the image (negative where the window is larger)."""
        (h, w), (ch, cw) = size, self.size
        return round((h - ch) / 2.0), round((w - cw) / 2.0)

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        top, left = self.offsets(size)
        n = len(params["applied"])
        return translation(np.full(n, -float(left)), np.full(n, -float(top))), self.size

    def matrix_one(self, p: dict[str, Any], size: tuple[int, int]) -> tuple[Affine2x3, tuple[int, int]]:
        top, left = self.offsets(size)
        return (1.0, 0.0, -float(left), 0.0, 1.0, -float(top)), self.size

    def _repr_args(self) -> dict[str, Any]:
        return {"size": self.size, "fill": self.fill}


def _padding(value: object) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` from an int, ``(left/right, top/bottom)`` or four ints (torchvision's order)."""
    items = (value,) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else elements(value, (2, 4))
    if items is None:
        raise InvalidTypeError(
            f"padding must be an int, a pair (left/right, top/bottom) or four ints (left, top, right, bottom), "
            f"got {value!r}"
        )
    for v in items:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise InvalidTypeError(f"padding must hold ints, got {type(v).__name__} {v!r}")
        if v < 0:
            raise InvalidArgumentError(f"padding must be >= 0 (pixels on each side), got {value!r}")
    ints = [int(v) for v in items if isinstance(v, numbers.Integral)]
    if len(ints) == 1:
        return ints[0], ints[0], ints[0], ints[0]
    if len(ints) == 2:
        return ints[0], ints[1], ints[0], ints[1]
    return ints[0], ints[1], ints[2], ints[3]


class Pad(Geometric):
    """Pad each side with ``fill``: ``padding`` an int, ``(left/right, top/bottom)`` or
    ``(left, top, right, bottom)`` pixels, as torchvision's ``Pad`` reads it."""

    changes_size = True

    def __init__(self, padding: int | tuple[int, ...], *, fill: float = 0.0):
        super().__init__(1.0, fill=fill)
        self.padding = _padding(padding)

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        left, top, right, bottom = self.padding
        n = len(params["applied"])
        out = (size[0] + top + bottom, size[1] + left + right)
        return translation(np.full(n, float(left)), np.full(n, float(top))), out

    def matrix_one(self, p: dict[str, Any], size: tuple[int, int]) -> tuple[Affine2x3, tuple[int, int]]:
        left, top, right, bottom = self.padding
        return (1.0, 0.0, float(left), 0.0, 1.0, float(top)), (size[0] + top + bottom, size[1] + left + right)

    def _repr_args(self) -> dict[str, Any]:
        return {"padding": self.padding, "fill": self.fill}
