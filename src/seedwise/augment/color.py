"""Colour transforms: each is an affine map of a pixel's colour, ``c' = A c + t``, so a
run of them fuses into one matrix per sample (a LUT when the matrix is a scalar).

Semantics of :class:`ColorJitter` (fixed order: brightness, contrast, saturation, hue,
with one clip at the end rather than after every step):

* brightness ``b``: ``c' = b c``;
* contrast ``k``: ``c' = k c + (1 - k) m``, where ``m`` is the mean grey level of the
  image (ITU-R 601 weights 0.299, 0.587, 0.114), as torchvision defines it;
* saturation ``s``: ``c' = s c + (1 - s) grey(c)``;
* hue ``h`` (a fraction of a turn in [-0.5, 0.5]): a rotation by ``2 pi h`` of the
  chroma plane of YIQ, which keeps the luma. This is the linear approximation of an HSV
  hue shift (exact for the luma, close in hue for moderate shifts); it is chosen because
  it fuses with the other three into one 3x3 matrix: one pass over the pixels instead of
  an RGB->HSV->RGB round trip.

Images are RGB (the weights and the direction of a hue shift assume that order);
single-channel images get brightness and contrast only.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from seedwise.augment._maps import elementwise, identity_colour
from seedwise.augment._program import LUMA_WEIGHTS, Params
from seedwise.augment._ranges import factor_range, symmetric_range
from seedwise.augment.base import Transform

__all__ = ["Color", "ColorJitter", "Invert", "Grayscale", "RandomGrayscale", "GREY_WEIGHTS"]

GREY_WEIGHTS = np.array(LUMA_WEIGHTS)
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def _hue_parts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``hue(theta) = P0 + cos(theta) P1 + sin(theta) P2`` (rotation of the IQ plane)."""
    keep, cos, sin = np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 3))
    keep[0, 0] = 1.0
    cos[1, 1] = cos[2, 2] = 1.0
    sin[1, 2], sin[2, 1] = -1.0, 1.0
    return _YIQ_TO_RGB @ keep @ _RGB_TO_YIQ, _YIQ_TO_RGB @ cos @ _RGB_TO_YIQ, _YIQ_TO_RGB @ sin @ _RGB_TO_YIQ


_GREY = np.outer(np.ones(3), GREY_WEIGHTS)  # c -> grey(c) in every channel
# hue(theta) @ (s I + (1 - s) GREY) expands into six constant matrices with coefficients
# (s, 1 - s, cos s, cos (1 - s), sin s, sin (1 - s)): one small matmul for the whole batch.
_BASIS = np.stack([part @ m for part in _hue_parts() for m in (np.eye(3), _GREY)]).reshape(6, 9)
_BASIS_COLUMNS = [tuple(col) for col in _BASIS.T.tolist()]  # per entry of the 3x3 matrix, its six coefficients
_GREY_LIST = GREY_WEIGHTS.tolist()


class Color(Transform):
    """A transform whose effect is an affine map of each pixel's colour."""

    kind = "color"
    #: True when the map depends on the image's mean colour (contrast).
    needs_mean: bool = False
    #: False when the map is a gain and an offset, the same for every channel (the CPU path then uses a LUT).
    mixes_channels: bool = True

    def affine_one(self, p: dict[str, Any], mean: list[float]) -> list[list[float]]:
        """One sample's map ``[A | t]`` as ``C`` rows of ``C + 1`` floats, from its parameters
        as Python scalars and its mean colour (the CPU path's per-image form); the default
        evaluates :meth:`affine`."""
        return cast(
            list[list[float]], self.affine({k: np.array([v]) for k, v in p.items()}, np.array([mean]))[0].tolist()
        )

    def affine(self, params: Params, mean: np.ndarray) -> np.ndarray:
        """Per-sample ``(B, C, C + 1)`` maps ``[A | t]`` (``t`` in units of full intensity, 1.0).

        ``mean`` is ``(B, C)``: the per-channel mean of each image, in units of full intensity.
        Samples whose transform is not applied get the identity.
        """
        raise NotImplementedError

    def affine_split(self, params: Params, channels: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The map with its dependence on the mean factored out (see
        :class:`seedwise.augment._program.ColorOp`); None by default."""
        return None


class ColorJitter(Color):
    """Random brightness, contrast, saturation and hue, fused into one colour matrix.

    Args:
        brightness, contrast, saturation: a strength ``x`` (factor uniform in
            ``(max(0, 1 - x), 1 + x)``) or a factor range ``(low, high)``.
        hue: ``h`` in [0, 0.5] (shift uniform in ``(-h, h)`` of a turn) or a range within
            [-0.5, 0.5].
        p: probability of applying the transform.
    """

    param_names = ("brightness", "contrast", "saturation", "hue")

    def __init__(
        self,
        brightness: float | tuple[float, float] = 0.0,
        contrast: float | tuple[float, float] = 0.0,
        saturation: float | tuple[float, float] = 0.0,
        hue: float | tuple[float, float] = 0.0,
        *,
        p: float = 1.0,
    ):
        super().__init__(p)
        self.brightness = factor_range("brightness", brightness)
        self.contrast = factor_range("contrast", contrast)
        self.saturation = factor_range("saturation", saturation)
        self.hue = symmetric_range("hue", hue, limit=0.5)
        self.needs_mean = self.contrast != (1.0, 1.0)
        #: False when the map is a gain and an offset (the CPU path then uses a LUT).
        self.mixes_channels = self.saturation != (1.0, 1.0) or self.hue != (0.0, 0.0)
        self._low = np.array([r[0] for r in (self.brightness, self.contrast, self.saturation, self.hue)])
        self._span = np.array([r[1] - r[0] for r in (self.brightness, self.contrast, self.saturation, self.hue)])
        self._lerp = (self._low.tolist(), self._span.tolist())

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        v = self._low + self._span * u  # (B, 4): one vectorised lerp
        return {"applied": applied, "brightness": v[:, 0], "contrast": v[:, 1], "saturation": v[:, 2], "hue": v[:, 3]}

    def _params_one(self, u: list[float], applied: bool) -> dict[str, Any]:
        low, span = self._lerp
        return {  # the lerp of _from_uniforms: the same two roundings
            "applied": applied,
            "brightness": low[0] + span[0] * u[0],
            "contrast": low[1] + span[1] * u[1],
            "saturation": low[2] + span[2] * u[2],
            "hue": low[3] + span[3] * u[3],
        }

    def affine(self, params: Params, mean: np.ndarray) -> np.ndarray:
        # the same expressions, in the same order, as affine_one: the same bits per sample
        c = mean.shape[1]
        grey = (
            _GREY_LIST[0] * mean[:, 0] + _GREY_LIST[1] * mean[:, 1] + _GREY_LIST[2] * mean[:, 2]
            if c == 3
            else mean[:, 0]
        )
        maps, scale = self._split(params, c)
        maps[:, :, c] *= (scale * grey)[:, None]
        return maps

    def affine_split(self, params: Params, channels: int) -> tuple[np.ndarray, np.ndarray] | None:
        cls = type(self)
        if cls.affine is not ColorJitter.affine or cls.affine_one is not ColorJitter.affine_one:
            return None  # a subclass with its own map: this split would not be it
        return self._split(params, channels)

    def _split(self, params: Params, c: int) -> tuple[np.ndarray, np.ndarray]:
        """The maps with offset column ``r`` and the ``scale`` (see :meth:`affine_split`):
        affine_one's ``(c0 + c1 + c2) * ((1 - k) * b * grey)``, before its last product."""
        n = len(params["applied"])
        b, k = params["brightness"], params["contrast"]
        gain = k * b
        offset = (1.0 - k) * b
        if c == 3:
            s, theta = params["saturation"], 2.0 * math.pi * params["hue"]
            cos, sin = elementwise(math.cos, theta), elementwise(math.sin, theta)
            coef = (s, 1.0 - s, cos * s, cos * (1.0 - s), sin * s, sin * (1.0 - s))
            colour = coef[0][:, None] * _BASIS[0]
            for cf, basis in zip(coef[1:], _BASIS[1:]):
                colour = colour + cf[:, None] * basis
            out = np.empty((n, 3, 4))
            out[:, :, :3] = colour.reshape(n, 3, 3) * gain[:, None, None]
            out[:, :, 3] = colour[:, 0::3] + colour[:, 1::3] + colour[:, 2::3]
        else:
            out = np.empty((n, 1, 2))
            out[:, 0, 0], out[:, 0, 1] = gain, 1.0  # affine_one's offset is (1 - k) b grey: 1.0 * that, exactly
        scale = offset
        if not params["applied"].all():
            out[~params["applied"]] = identity_colour(1, c)[0]
            scale = np.where(params["applied"], offset, 0.0)  # the identity's offset 0 * anything: 0
        return out, scale

    def affine_one(self, p: dict[str, Any], mean: list[float]) -> list[list[float]]:
        c = len(mean)
        if not p["applied"]:
            return [[1.0 if j == i else 0.0 for j in range(c + 1)] for i in range(c)]
        b, k = p["brightness"], p["contrast"]
        gain = k * b
        grey = _GREY_LIST[0] * mean[0] + _GREY_LIST[1] * mean[1] + _GREY_LIST[2] * mean[2] if c == 3 else mean[0]
        offset = (1.0 - k) * b * grey
        if c != 3:
            return [[gain, offset]]
        s, theta = p["saturation"], 2.0 * math.pi * p["hue"]
        cos, sin = math.cos(theta), math.sin(theta)
        coef = (s, 1.0 - s, cos * s, cos * (1.0 - s), sin * s, sin * (1.0 - s))
        colour = [
            coef[0] * b0 + coef[1] * b1 + coef[2] * b2 + coef[3] * b3 + coef[4] * b4 + coef[5] * b5
            for b0, b1, b2, b3, b4, b5 in _BASIS_COLUMNS
        ]
        return [
            [
                colour[3 * i] * gain,
                colour[3 * i + 1] * gain,
                colour[3 * i + 2] * gain,
                (colour[3 * i] + colour[3 * i + 1] + colour[3 * i + 2]) * offset,
            ]
            for i in range(3)
        ]

    def _repr_args(self) -> dict[str, Any]:
        return {
            "brightness": self.brightness,
            "contrast": self.contrast,
            "saturation": self.saturation,
            "hue": self.hue,
            "p": self.p,
        }


def _constant_map(rows: list[list[float]], params: Params, c: int) -> np.ndarray:
    """The map ``rows`` for every applied sample, the identity for the others."""
    out = identity_colour(len(params["applied"]), c)
    out[params["applied"]] = np.array(rows)
    return out


class Invert(Color):
    """Invert the intensities, ``c' = 1 - c`` (``255 - v`` for uint8), with probability ``p``."""

    mixes_channels = False

    def __init__(self, p: float = 1.0):
        super().__init__(p)

    def affine(self, params: Params, mean: np.ndarray) -> np.ndarray:
        c = mean.shape[1]
        return _constant_map(self.affine_one({"applied": True}, [0.0] * c), params, c)

    def affine_one(self, p: dict[str, Any], mean: list[float]) -> list[list[float]]:
        gain, offset = (-1.0, 1.0) if p["applied"] else (1.0, 0.0)
        return [[gain if j == i else 0.0 for j in range(len(mean))] + [offset] for i in range(len(mean))]


class Grayscale(Color):
    """Replace each pixel by its luma ``0.299 R + 0.587 G + 0.114 B`` (ITU-R 601, as PIL's
    ``convert("L")`` and torchvision), in every channel, with probability ``p``.

    The image keeps its 3 channels (as torchvision's ``Grayscale(num_output_channels=3)``),
    so it can sit anywhere in a pipeline; one-channel images are left as they are.
    """

    def __init__(self, p: float = 1.0):
        super().__init__(p)

    def affine(self, params: Params, mean: np.ndarray) -> np.ndarray:
        c = mean.shape[1]
        return _constant_map(self.affine_one({"applied": True}, [0.0] * c), params, c)

    def affine_one(self, p: dict[str, Any], mean: list[float]) -> list[list[float]]:
        c = len(mean)
        if not p["applied"] or c != 3:
            return [[float(j == i) for j in range(c + 1)] for i in range(c)]
        return [[*_GREY_LIST, 0.0] for _ in range(3)]


class RandomGrayscale(Grayscale):
    """:class:`Grayscale` with probability ``p`` (0.1 by default, as torchvision's)."""

    def __init__(self, p: float = 0.1):
        super().__init__(p)
