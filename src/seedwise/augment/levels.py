"""Tone curves as lookup tables: :class:`Solarize`, :class:`Posterize`, :class:`Equalize`,
:class:`AutoContrast`.

Each maps the 256 levels of a channel through a table, per sample; consecutive ones
compose into one table and one ``cv2.LUT`` per image (a table composed with a table is
exact: integers). :class:`Equalize` and :class:`AutoContrast` compute their tables from
the image's per-channel histogram, as PIL's ``ImageOps.equalize`` and
``ImageOps.autocontrast`` do, integer for integer (tests compare them exactly).

Float images (torch path) are quantised to 8 bits for these ops (``round(x * 255)``),
mapped, and divided by 255 again: the tables are defined on the 256 levels.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from seedwise.augment._program import Params
from seedwise.augment._ranges import real, value_range
from seedwise.augment.base import Transform
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["Levels", "Solarize", "Posterize", "Equalize", "AutoContrast", "LEVELS"]

#: the 256 levels of a uint8 channel
LEVELS = np.arange(256, dtype=np.int64)


class Levels(Transform):
    """A transform that maps each channel's 256 levels through a per-sample table."""

    kind = "lut"
    #: True when the table depends on the image's per-channel histogram
    needs_histogram = False

    def tables(self, params: Params, hist: np.ndarray | None) -> np.ndarray:
        """``(B, 1 or C, 256)`` uint8 tables; the identity for samples not applied."""
        raise NotImplementedError

    def _masked(self, t: np.ndarray, applied: np.ndarray) -> np.ndarray:
        if not applied.all():
            t[~applied] = LEVELS.astype(np.uint8)
        return t


class Solarize(Levels):
    """Invert the levels at or above ``threshold`` (a fraction of full intensity, so a
    uint8 level ``v`` is inverted when ``v / 255 >= threshold``; PIL's
    ``ImageOps.solarize(img, T)`` is ``threshold=T / 255``). A ``(low, high)`` pair draws
    the threshold uniformly per sample."""

    param_names = ("threshold",)

    def __init__(self, threshold: float | tuple[float, float] = 0.5, *, p: float = 1.0):
        super().__init__(p)
        if isinstance(threshold, numbers.Real) and not isinstance(threshold, bool):
            threshold = (real("threshold", threshold), real("threshold", threshold))
        self.threshold = value_range("threshold", threshold, low=0.0, high=1.0)

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        lo, hi = self.threshold
        return {"applied": applied, "threshold": lo + (hi - lo) * u[:, 0]}

    def tables(self, params: Params, hist: np.ndarray | None) -> np.ndarray:
        invert = (LEVELS / 255.0)[None, :] >= params["threshold"][:, None]
        t = np.where(invert, 255 - LEVELS, LEVELS).astype(np.uint8)[:, None, :]
        return self._masked(t, params["applied"])

    def _repr_args(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "p": self.p}


def _bits(value: object) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    if isinstance(pair, (str, bytes)) or not isinstance(pair, tuple | list) or len(pair) != 2:
        raise InvalidTypeError(f"bits must be an int in [1, 8] or a (low, high) pair of them, got {value!r}")
    out = []
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise InvalidTypeError(f"bits must hold ints, got {type(v).__name__} {v!r}")
        if not 1 <= int(v) <= 8:
            raise InvalidArgumentError(f"bits must be in [1, 8] (the bits kept of each 8-bit level), got {v}")
        out.append(int(v))
    if out[0] > out[1]:
        raise InvalidArgumentError(f"bits is reversed: got {tuple(out)}; pass (low, high) with low <= high")
    return out[0], out[1]


class Posterize(Levels):
    """Keep the ``bits`` most significant bits of each level (PIL's ``ImageOps.posterize``).
    A ``(low, high)`` pair draws an int in ``[low, high]`` per sample."""

    param_names = ("bits",)

    def __init__(self, bits: int | tuple[int, int] = 4, *, p: float = 1.0):
        super().__init__(p)
        self.bits = _bits(bits)

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        lo, hi = self.bits
        bits = np.minimum(lo + np.floor(u[:, 0] * (hi - lo + 1)).astype(np.int64), hi)
        return {"applied": applied, "bits": bits}

    def tables(self, params: Params, hist: np.ndarray | None) -> np.ndarray:
        mask = (0xFF << (8 - params["bits"].astype(np.int64))) & 0xFF
        t = (LEVELS[None, :] & mask[:, None]).astype(np.uint8)[:, None, :]
        return self._masked(t, params["applied"])

    def _repr_args(self) -> dict[str, Any]:
        return {"bits": self.bits, "p": self.p}


class Equalize(Levels):
    """Equalise each channel's histogram, as PIL's ``ImageOps.equalize`` does (bit for bit)."""

    needs_histogram = True

    def __init__(self, p: float = 1.0):
        super().__init__(p)

    def tables(self, params: Params, hist: np.ndarray | None) -> np.ndarray:
        if hist is None:
            raise InvalidArgumentError("Equalize needs the images' histograms")
        n, c = hist.shape[:2]
        h = hist.reshape(n * c, 256).astype(np.int64)
        present = h > 0
        last = 255 - np.argmax(present[:, ::-1], axis=1)  # the highest level present
        step = (h.sum(axis=1) - h[np.arange(n * c), last]) // 255
        below = np.cumsum(h, axis=1) - h  # pixels strictly below each level
        t = (step[:, None] // 2 + below) // np.maximum(step, 1)[:, None]
        keep = (present.sum(axis=1) <= 1) | (step == 0)
        t = np.where(keep[:, None], LEVELS[None, :], np.clip(t, 0, 255)).astype(np.uint8)
        return self._masked(t.reshape(n, c, 256), params["applied"])


class AutoContrast(Levels):
    """Stretch each channel so its darkest level becomes 0 and its brightest 255, as PIL's
    ``ImageOps.autocontrast`` (cutoff 0) does (bit for bit)."""

    needs_histogram = True

    def __init__(self, p: float = 1.0):
        super().__init__(p)

    def tables(self, params: Params, hist: np.ndarray | None) -> np.ndarray:
        if hist is None:
            raise InvalidArgumentError("AutoContrast needs the images' histograms")
        n, c = hist.shape[:2]
        present = hist.reshape(n * c, 256) > 0
        lo = np.argmax(present, axis=1)
        hi = 255 - np.argmax(present[:, ::-1], axis=1)
        stretch = hi > lo
        scale = 255.0 / np.where(stretch, hi - lo, 1)
        offset = -lo * scale
        t = np.clip(np.floor(LEVELS[None, :] * scale[:, None] + offset[:, None]), 0, 255)
        t = np.where(stretch[:, None], t, LEVELS[None, :]).astype(np.uint8)
        return self._masked(t.reshape(n, c, 256), params["applied"])
