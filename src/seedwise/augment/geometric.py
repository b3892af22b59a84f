"""Geometric transforms: each is an affine map of pixel coordinates, so a run of them
fuses into one matrix and one warp.

Coordinates: ``(x, y)`` with pixel centres at integers, ``x`` to the right, ``y`` down
(OpenCV's convention). Every transform gives, per sample, the *forward* 3x3 matrix that
sends an input pixel to its output position; the backends compose them
(``M = M_k @ ... @ M_1``) and warp once. Positive angles rotate counter-clockwise as
seen on screen, so ``Rotate((90, 90))`` equals ``np.rot90`` on a square image.

Parameters are drawn in unit space (fractions of the image, angles), so ``sample`` does
not need the image size. Crops live in :mod:`seedwise.augment.crops`, deterministic
resizing and padding in :mod:`seedwise.augment.sizing`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar

import numpy as np

from seedwise.augment._maps import elementwise
from seedwise.augment._program import IDENTITY_2X3, Affine2x3, Params
from seedwise.augment._ranges import elements, real, symmetric_range, value_range
from seedwise.augment.base import Transform
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "Geometric",
    "HorizontalFlip",
    "VerticalFlip",
    "Affine",
    "Rotate",
    "Shear",
    "eye",
    "translation",
    "check_fill",
]


_EYE = np.eye(3)


def eye(n: int) -> np.ndarray:
    """``n`` identity maps ``(n, 3, 3)``."""
    return np.repeat(_EYE[None], n, axis=0)


def translation(tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
    """Translations by ``(tx, ty)`` pixels, ``(B, 3, 3)``."""
    m = eye(len(tx))
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def check_fill(fill: object) -> float:
    """A fill value: a fraction of full intensity in [0, 1]."""
    value = real("fill", fill)
    if not 0.0 <= value <= 1.0:
        raise InvalidArgumentError(
            "fill must be in [0, 1] (a fraction of full intensity: 0 black, 1 white, for uint8 and float images "
            f"alike), got {value}"
        )
    return value


class Geometric(Transform):
    """A transform whose effect is an affine map of coordinates."""

    kind = "geometric"

    def __init__(self, p: float = 1.0, fill: float | None = 0.0):
        super().__init__(p)
        #: pixels from outside the image get this fraction of full intensity (None: the map never reaches outside)
        self.fill = None if fill is None else check_fill(fill)

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        """Forward matrices ``(B, 3, 3)`` for input ``size`` ``(H, W)``, and the output size.

        Samples whose transform is not applied get the identity.
        """
        raise NotImplementedError

    def matrix_one(self, p: dict[str, Any], size: tuple[int, int]) -> tuple[Affine2x3, tuple[int, int]]:
        """One sample's forward map as the six floats ``(a, b, c, d, e, f)`` of
        ``[[a, b, c], [d, e, f]]``, from its parameters as Python scalars.

        The CPU path uses this per image (Python floats are much cheaper than NumPy
        calls on arrays of one element); the default evaluates :meth:`matrices`.
        """
        m, out = self.matrices({k: np.array([v]) for k, v in p.items()}, size)
        a, b, c, d, e, f = (float(v) for v in m[0, :2].ravel())
        return (a, b, c, d, e, f), out

    def _masked(self, m: np.ndarray, applied: np.ndarray) -> np.ndarray:
        if not applied.all():
            m[~applied] = _EYE
        return m


class HorizontalFlip(Geometric):
    """Mirror left-right with probability ``p``."""

    def __init__(self, p: float = 0.5):
        super().__init__(p, fill=None)

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        m = eye(len(params["applied"]))
        m[:, 0, 0], m[:, 0, 2] = -1.0, size[1] - 1.0
        return self._masked(m, params["applied"]), size

    def matrix_one(self, p: dict[str, Any], size: tuple[int, int]) -> tuple[Affine2x3, tuple[int, int]]:
        return ((-1.0, 0.0, size[1] - 1.0, 0.0, 1.0, 0.0) if p["applied"] else IDENTITY_2X3), size

    def _repr_args(self) -> dict[str, Any]:
        return {"p": self.p}


class VerticalFlip(Geometric):
    """Mirror top-bottom with probability ``p``."""

    def __init__(self, p: float = 0.5):
        super().__init__(p, fill=None)

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        m = eye(len(params["applied"]))
        m[:, 1, 1], m[:, 1, 2] = -1.0, size[0] - 1.0
        return self._masked(m, params["applied"]), size

    def matrix_one(self, p: dict[str, Any], size: tuple[int, int]) -> tuple[Affine2x3, tuple[int, int]]:
        return ((1.0, 0.0, 0.0, 0.0, -1.0, size[0] - 1.0) if p["applied"] else IDENTITY_2X3), size

    def _repr_args(self) -> dict[str, Any]:
        return {"p": self.p}


def _translate_range(value: object) -> tuple[float, float]:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = (value, value)
    pair = elements(value)
    if pair is None:
        raise InvalidTypeError(
            f"translate must be a fraction f or a pair (fx, fy) of fractions in [0, 1], got {value!r}"
        )
    fx, fy = (real(f"translate[{i}]", v) for i, v in enumerate(pair))
    for v in (fx, fy):
        if not 0.0 <= v <= 1.0:
            raise InvalidArgumentError(
                "translate must hold fractions in [0, 1] (the largest shift as a fraction of the width / height), "
                f"got {value!r}"
            )
    return fx, fy


def _scale_range(value: object) -> tuple[float, float]:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = (value, value)
    return value_range("scale", value, low=0.0, open_low=True)


def _shear_ranges(value: object) -> tuple[tuple[float, float], tuple[float, float]]:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return symmetric_range("shear", value, limit=89.0), (0.0, 0.0)
    v = elements(value, (2, 4))
    if v is None:
        raise InvalidTypeError(
            f"shear must be a number s (x-shear in (-s, s) degrees), a pair (low, high) or four numbers "
            f"(x_low, x_high, y_low, y_high), got {value!r}"
        )
    sx = value_range("shear", v[:2], low=-89.0, high=89.0)
    sy = value_range("shear (y)", v[2:], low=-89.0, high=89.0) if len(v) == 4 else (0.0, 0.0)
    return sx, sy


class Affine(Geometric):
    """Random rotation, translation, scale and shear about the image centre, in one matrix.

    Args:
        degrees: rotation angle range in degrees; ``d`` means ``(-d, d)``.
        translate: largest shift as a fraction of the size: ``f`` or ``(fx, fy)``; the shift
            is uniform in ``(-fx * W, fx * W)`` x ``(-fy * H, fy * H)``.
        scale: zoom factor range ``(low, high)`` (a number means a fixed factor).
        shear: x-shear angle range in degrees (``s`` means ``(-s, s)``), or four numbers for
            x and y.
        p: probability of applying the transform.
        fill: value of pixels that come from outside the image, in [0, 1] of full intensity.

    The forward map is ``T(centre + shift) @ R(angle) @ Shear @ S(scale) @ T(-centre)``.
    """

    param_names: ClassVar[tuple[str, ...]] = ("angle", "translate_x", "translate_y", "scale", "shear_x", "shear_y")

    def __init__(
        self,
        degrees: float | tuple[float, float] = 0.0,
        translate: float | tuple[float, float] = 0.0,
        scale: float | tuple[float, float] = (1.0, 1.0),
        shear: float | tuple[float, ...] = 0.0,
        *,
        p: float = 1.0,
        fill: float = 0.0,
    ):
        super().__init__(p, fill)
        self.degrees = symmetric_range("degrees", degrees)
        self.translate = _translate_range(translate)
        self.scale = _scale_range(scale)
        self.shear_x, self.shear_y = _shear_ranges(shear)
        fx, fy = self.translate
        bounds = (self.degrees, (-fx, fx), (-fy, fy), self.scale, self.shear_x, self.shear_y)
        self._low = np.array([b[0] for b in bounds])
        self._span = np.array([b[1] for b in bounds]) - self._low
        self._lerp = list(zip(self.param_names, self._low.tolist(), self._span.tolist()))

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        v = self._low + self._span * u  # (B, 6): one vectorised lerp
        out: Params = {"applied": applied}
        for col, name in enumerate(self.param_names):
            out[name] = v[:, col]
        return out

    def _params_one(self, u: list[float], applied: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"applied": applied}
        for (name, low, span), x in zip(self._lerp, u):
            out[name] = low + span * x  # the lerp of _from_uniforms: the same two roundings
        return out

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        h, w = size
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        # the same expressions as matrix_one, with math's functions: the same bits
        a = elementwise(math.radians, params["angle"])
        cos, sin = elementwise(math.cos, a), elementwise(math.sin, a)
        kx = elementwise(math.tan, elementwise(math.radians, params["shear_x"]))
        ky = elementwise(math.tan, elementwise(math.radians, params["shear_y"]))
        s = params["scale"]
        # linear part: R(angle) @ [[1, kx], [ky, 1]] @ s I
        m = np.zeros((len(a), 3, 3))
        m00, m01 = (cos + sin * ky) * s, (cos * kx + sin) * s
        m10, m11 = (cos * ky - sin) * s, (cos - sin * kx) * s
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1], m[:, 2, 2] = m00, m01, m10, m11, 1.0
        # translation: the centre goes to centre + shift
        m[:, 0, 2] = cx + params["translate_x"] * w - (m00 * cx + m01 * cy)
        m[:, 1, 2] = cy + params["translate_y"] * h - (m10 * cx + m11 * cy)
        return self._masked(m, params["applied"]), size

    def matrix_one(self, p: dict[str, Any], size: tuple[int, int]) -> tuple[Affine2x3, tuple[int, int]]:
        if not p["applied"]:
            return IDENTITY_2X3, size
        h, w = size
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        a = math.radians(p["angle"])
        cos, sin = math.cos(a), math.sin(a)
        kx, ky = math.tan(math.radians(p["shear_x"])), math.tan(math.radians(p["shear_y"]))
        s = p["scale"]
        m00, m01 = (cos + sin * ky) * s, (cos * kx + sin) * s
        m10, m11 = (cos * ky - sin) * s, (cos - sin * kx) * s
        tx = cx + p["translate_x"] * w - (m00 * cx + m01 * cy)
        ty = cy + p["translate_y"] * h - (m10 * cx + m11 * cy)
        return (m00, m01, tx, m10, m11, ty), size

    def _repr_args(self) -> dict[str, Any]:
        out: dict[str, Any] = {"degrees": self.degrees, "translate": self.translate, "scale": self.scale}
        out["shear"] = self.shear_x + self.shear_y if self.shear_y != (0.0, 0.0) else self.shear_x
        out.update(p=self.p, fill=self.fill)
        return out


class Rotate(Affine):
    """Random rotation about the centre by an angle in ``degrees`` (``d`` means ``(-d, d)``)."""

    def __init__(self, degrees: float | tuple[float, float], *, p: float = 1.0, fill: float = 0.0):
        super().__init__(degrees=degrees, p=p, fill=fill)

    param_names = ("angle",)

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        lo, hi = self.degrees
        n = len(applied)
        zeros, ones = np.zeros(n), np.ones(n)
        return {
            "applied": applied,
            "angle": lo + (hi - lo) * u[:, 0],
            "translate_x": zeros,
            "translate_y": zeros,
            "scale": ones,
            "shear_x": zeros,
            "shear_y": zeros,
        }

    def _params_one(self, u: list[float], applied: bool) -> dict[str, Any]:
        lo, hi = self.degrees
        angle = lo + (hi - lo) * u[0]
        return {"applied": applied, "angle": angle, "translate_x": 0.0, "translate_y": 0.0, "scale": 1.0,
                "shear_x": 0.0, "shear_y": 0.0}  # fmt: skip

    def _repr_args(self) -> dict[str, Any]:
        return {"degrees": self.degrees, "p": self.p, "fill": self.fill}


class Shear(Affine):
    """Random shear about the centre: x-shear angle in ``x`` and y-shear angle in ``y``
    (degrees; ``s`` means ``(-s, s)``), drawn independently.

    The same map as ``Affine(shear=(x_low, x_high, y_low, y_high))``: a point moves along
    x by ``tan(x_angle)`` times its height above the centre (and along y likewise).
    """

    param_names = ("shear_x", "shear_y")

    def __init__(
        self,
        x: float | tuple[float, float] = 0.0,
        y: float | tuple[float, float] = 0.0,
        *,
        p: float = 1.0,
        fill: float = 0.0,
    ):
        sx, sy = symmetric_range("x", x, limit=89.0), symmetric_range("y", y, limit=89.0)
        super().__init__(shear=sx + sy, p=p, fill=fill)

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        (xl, xh), (yl, yh) = self.shear_x, self.shear_y
        n = len(applied)
        zeros = np.zeros(n)
        return {
            "applied": applied,
            "angle": zeros,
            "translate_x": zeros,
            "translate_y": zeros,
            "scale": np.ones(n),
            "shear_x": xl + (xh - xl) * u[:, 0],
            "shear_y": yl + (yh - yl) * u[:, 1],
        }

    def _params_one(self, u: list[float], applied: bool) -> dict[str, Any]:
        (xl, xh), (yl, yh) = self.shear_x, self.shear_y
        return {"applied": applied, "angle": 0.0, "translate_x": 0.0, "translate_y": 0.0, "scale": 1.0,
                "shear_x": xl + (xh - xl) * u[0], "shear_y": yl + (yh - yl) * u[1]}  # fmt: skip

    def _repr_args(self) -> dict[str, Any]:
        return {"x": self.shear_x, "y": self.shear_y, "p": self.p, "fill": self.fill}
