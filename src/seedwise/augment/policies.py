"""Augmentation policies: :class:`RandAugment`, :class:`TrivialAugmentWide`, :class:`AutoAugment`.

Each draws, per sample, which ops it applies and with which magnitude, from its own
stream at ``(epoch, index)`` like every other transform: a sample's ops do not depend on
its batch, worker, rank or a resume. ``sample()`` shows them: ``{"ops": (B, k) names,
"magnitudes": (B, k) signed values, "applied": (B, k)}`` (AutoAugment adds ``"policy"``,
the sub-policy index).

The op lists and magnitude ranges are the published ones (see docs/augment.md):

* RandAugment (Cubuk et al., 2020): ``num_ops`` ops chosen uniformly (with repetition)
  among 14, each at the one ``magnitude`` (bin ``magnitude`` of ``num_magnitude_bins``),
  its sign drawn for signed ops;
* TrivialAugment Wide (Müller & Hutter, 2021): one op among 14, its magnitude bin drawn
  uniformly, with the "wide" ranges;
* AutoAugment, ImageNet policy (Cubuk et al., 2019): one of 25 learned sub-policies of
  two ops, each applied with its learned probability at its learned magnitude (10 bins).

Magnitude tables follow torchvision's ``transforms.autoaugment`` (the reference most
recipes use), with three deliberate differences: shears turn about the image centre (not
the top-left corner), geometric ops interpolate bilinearly (torchvision's default is
nearest) and fuse with neighbouring geometric transforms into one warp.

How it runs: the policy holds one leaf per (slot, op). In each slot exactly one op (or
none) applies to a sample, so the slot's ops are ordered by kind (and the order flips
from slot to slot) to fuse as much as can be fused without changing any sample's
sequence of ops; the stages are the same for every batch.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from seedwise._validate import check_choice, check_int
from seedwise.augment._maps import elementwise
from seedwise.augment._program import Affine2x3, Params
from seedwise.augment._tree import Evaluation, Item, Node
from seedwise.augment.base import Transform, fmt
from seedwise.augment.color import ColorJitter, Invert
from seedwise.augment.geometric import Affine, Geometric, check_fill, translation
from seedwise.augment.levels import AutoContrast, Equalize, Posterize, Solarize
from seedwise.augment.sharpness import Sharpness

__all__ = ["RandAugment", "TrivialAugmentWide", "AutoAugment", "IMAGENET_POLICY"]


class _Translate(Geometric):
    """A shift along one axis by whole pixels: ``trunc(fraction * size + pixels)``, as
    torchvision truncates its translations to ints."""

    def __init__(self, axis: int, fill: float):
        super().__init__(1.0, fill)
        self.axis = axis

    def _shift(self, fraction: float, pixels: float, size: tuple[int, int]) -> float:
        return float(math.trunc(fraction * size[1 - self.axis] + pixels))

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        shift = np.array([self._shift(f, px, size) for f, px in zip(params["fraction"], params["pixels"])])
        shift = np.where(params["applied"], shift, 0.0)
        zeros = np.zeros(len(shift))
        return (translation(shift, zeros) if self.axis == 0 else translation(zeros, shift)), size

    def matrix_one(self, p: dict[str, Any], size: tuple[int, int]) -> tuple[Affine2x3, tuple[int, int]]:
        shift = self._shift(p["fraction"], p["pixels"], size) if p["applied"] else 0.0
        return ((1.0, 0.0, shift, 0.0, 1.0, 0.0) if self.axis == 0 else (1.0, 0.0, 0.0, 0.0, 1.0, shift)), size


def _affine_params(applied: np.ndarray, **values: np.ndarray) -> Params:
    n = len(applied)
    out: Params = {"applied": applied}
    for name, neutral in (("angle", 0.0), ("translate_x", 0.0), ("translate_y", 0.0), ("scale", 1.0)):
        out[name] = values.get(name, np.full(n, neutral))
    for name in ("shear_x", "shear_y"):
        out[name] = values.get(name, np.zeros(n))
    return out


def _jitter_params(applied: np.ndarray, **values: np.ndarray) -> Params:
    n = len(applied)
    out: Params = {"applied": applied}
    for name, neutral in (("brightness", 1.0), ("contrast", 1.0), ("saturation", 1.0), ("hue", 0.0)):
        out[name] = values.get(name, np.full(n, neutral))
    return out


def _shear_degrees(v: np.ndarray) -> np.ndarray:
    """Shear factor (the magnitude) to the angle Affine takes: ``degrees(atan(v))``."""
    return elementwise(math.degrees, elementwise(math.atan, v))


@dataclass(frozen=True)
class _Op:
    """An op of a policy: its leaf transform, its magnitudes per bin and how a magnitude
    becomes the leaf's parameters."""

    name: str
    make: Callable[[float], Transform] | None  # the leaf, given the policy's fill (None: Identity)
    magnitudes: tuple[float, ...] | None  # per bin; None: the op has no magnitude
    signed: bool
    params: Callable[[np.ndarray, np.ndarray], Params]  # (values, applied) -> the leaf's params


def _linspace(lo: float, hi: float, bins: int) -> tuple[float, ...]:
    return tuple(np.linspace(lo, hi, bins).tolist())


def _posterize_bits(bins: int, levels: int) -> tuple[float, ...]:
    """``8 - round(bin / ((bins - 1) / levels))``, as published (bits 8 down to 8 - levels)."""
    return tuple(float(8 - round(b / ((bins - 1) / levels))) for b in range(bins))


def _space(bins: int, wide: bool) -> dict[str, _Op]:
    """The ops and magnitudes of RandAugment / AutoAugment (``wide=False``) or TrivialAugment Wide."""
    shear, rotate, enhance = (0.99, 135.0, 0.99) if wide else (0.3, 30.0, 0.9)
    ops = [
        _Op("Identity", None, None, False, lambda v, a: {"applied": a}),
        _Op(
            "ShearX", lambda f: Affine(fill=f), _linspace(0.0, shear, bins), True,
            lambda v, a: _affine_params(a, shear_x=_shear_degrees(v)),
        ),
        _Op(
            "ShearY", lambda f: Affine(fill=f), _linspace(0.0, shear, bins), True,
            lambda v, a: _affine_params(a, shear_y=_shear_degrees(v)),
        ),
    ]  # fmt: skip
    for axis, name in ((0, "TranslateX"), (1, "TranslateY")):
        if wide:  # 32 pixels, whatever the image size
            mags, params = _linspace(0.0, 32.0, bins), (lambda v, a: {"applied": a, "fraction": 0.0 * v, "pixels": v})
        else:  # 150/331 of the image's size
            mags, params = (
                _linspace(0.0, 150.0 / 331.0, bins),
                (lambda v, a: {"applied": a, "fraction": v, "pixels": 0.0 * v}),
            )
        ops.append(_Op(name, functools.partial(_Translate, axis), mags, True, params))
    ops += [
        _Op(
            "Rotate", lambda f: Affine(fill=f), _linspace(0.0, rotate, bins), True,
            lambda v, a: _affine_params(a, angle=v),
        ),
        _Op(
            "Brightness", lambda f: ColorJitter(brightness=(0.0, 2.0)), _linspace(0.0, enhance, bins), True,
            lambda v, a: _jitter_params(a, brightness=1.0 + v),
        ),
        _Op(
            "Color", lambda f: ColorJitter(saturation=(0.0, 2.0)), _linspace(0.0, enhance, bins), True,
            lambda v, a: _jitter_params(a, saturation=1.0 + v),
        ),
        _Op(
            "Contrast", lambda f: ColorJitter(contrast=(0.0, 2.0)), _linspace(0.0, enhance, bins), True,
            lambda v, a: _jitter_params(a, contrast=1.0 + v),
        ),
        _Op(
            "Sharpness", lambda f: Sharpness((0.0, 2.0)), _linspace(0.0, enhance, bins), True,
            lambda v, a: {"applied": a, "factor": 1.0 + v},
        ),
        _Op(
            "Posterize", lambda f: Posterize((1, 8)), _posterize_bits(bins, 6 if wide else 4), False,
            lambda v, a: {"applied": a, "bits": v.astype(np.int64)},
        ),
        _Op(
            "Solarize", lambda f: Solarize((0.0, 1.0)), _linspace(255.0, 0.0, bins), False,
            lambda v, a: {"applied": a, "threshold": v / 255.0},
        ),
        _Op("AutoContrast", lambda f: AutoContrast(), None, False, lambda v, a: {"applied": a}),
        _Op("Equalize", lambda f: Equalize(), None, False, lambda v, a: {"applied": a}),
        _Op("Invert", lambda f: Invert(), None, False, lambda v, a: {"applied": a}),
    ]  # fmt: skip
    return {op.name: op for op in ops}


_KIND_ORDER = ("geometric", "color", "pixel", "lut")


@dataclass
class _Slot:
    """One position of a policy: its candidate ops, each with its own leaf, in run order."""

    ops: list[tuple[int, _Op, Transform | None]]  # (index among the slot's candidates, op, leaf)


def _slots(candidates: list[list[_Op]], fill: float) -> list[_Slot]:
    slots = []
    for k, ops in enumerate(candidates):
        order = _KIND_ORDER if k % 2 == 0 else _KIND_ORDER[::-1]
        leaves = [(j, op, op.make(fill) if op.make else None) for j, op in enumerate(ops)]
        leaves.sort(key=lambda t: -1 if t[2] is None else order.index(t[2].kind))
        slots.append(_Slot(leaves))
    return slots


class Policy:
    """A per-sample choice of ops (see the module docstring); subclasses say how they choose."""

    def __init__(self, candidates: list[list[_Op]], fill: float):
        self.fill = check_fill(fill)
        self._slots = _slots(candidates, self.fill)
        self._names = [np.array([op.name for op in ops]) for ops in candidates]

    # -- its place in a pipeline (see seedwise.augment._tree) ---------------------------

    def _draws(self) -> list[tuple[str, int]]:
        return [("params", self._uniforms_per_sample())]

    def _children(self) -> list[tuple[str, Item]]:
        return []

    def _leaves(self) -> list[Any]:
        return [leaf for slot in self._slots for _, _, leaf in slot.ops if leaf is not None]

    def _uniforms_per_sample(self) -> int:
        raise NotImplementedError

    def _choose(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """``(choice (B, k) index among each slot's candidates, values (B, k), applied (B, k), extra)``."""
        raise NotImplementedError

    def _evaluate(self, node: Node, ev: Evaluation, gate: np.ndarray) -> Any:
        u = ev.uniforms(node, "params")
        choice, values, applied, extra = self._choose(np.empty((ev.n, 0)) if u is None else u)
        applied &= gate[:, None]
        off = {"applied": np.zeros(ev.n, dtype=bool)}  # the params of a leaf no sample of this batch uses
        names = []
        for k, slot in enumerate(self._slots):
            chosen, on = choice[:, k], applied[:, k]
            names.append(self._names[k][chosen])
            used = set(chosen[on].tolist())
            for j, op, leaf in slot.ops:
                if leaf is not None:
                    if j in used:
                        ev.add(leaf, op.params(values[:, k], (chosen == j) & on), node.stream, active=True)
                    else:
                        ev.add(leaf, off, node.stream, active=False)
        ops = np.stack(names, axis=1)
        return {
            "ops": ops,
            "magnitudes": np.where(applied, values, 0.0),
            "applied": applied & (ops != "Identity"),
            **extra,
        }

    # -- presentation -----------------------------------------------------------------

    def _repr_args(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={fmt(v)}" for k, v in self._repr_args().items())
        return f"{type(self).__name__}({args})"


def _bin_choice(u: np.ndarray, n: int) -> np.ndarray:
    return np.asarray(np.minimum(np.floor(u * n).astype(np.int64), n - 1))


def _signed(values: np.ndarray, signed: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Negate a signed op's magnitude with probability 1/2."""
    return np.asarray(np.where(signed & (u < 0.5), -values, values))


class RandAugment(Policy):
    """RandAugment: ``num_ops`` ops, each chosen uniformly among 14 (Identity, ShearX/Y,
    TranslateX/Y, Rotate, Brightness, Color, Contrast, Sharpness, Posterize, Solarize,
    AutoContrast, Equalize), at bin ``magnitude`` of ``num_magnitude_bins``."""

    _OPS = ("Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color",
            "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize")  # fmt: skip

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31, *, fill: float = 0.0):
        self.num_ops = check_int("num_ops", num_ops, low=1)
        self.num_magnitude_bins = check_int("num_magnitude_bins", num_magnitude_bins, low=2)
        self.magnitude = check_int("magnitude", magnitude, low=0, high=self.num_magnitude_bins)
        space = _space(self.num_magnitude_bins, wide=False)
        self._ops = [space[name] for name in self._OPS]
        super().__init__([self._ops] * self.num_ops, fill)

    def _uniforms_per_sample(self) -> int:
        return 2 * self.num_ops  # per op: which one, and its sign

    def _choose(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        choice = _bin_choice(u[:, 0::2], len(self._ops))
        mags = np.array([op.magnitudes[self.magnitude] if op.magnitudes else 0.0 for op in self._ops])
        signed = np.array([op.signed for op in self._ops])
        values = _signed(mags[choice], signed[choice], u[:, 1::2])
        return choice, values, np.ones(choice.shape, dtype=bool), {}

    def _repr_args(self) -> dict[str, Any]:
        return {
            "num_ops": self.num_ops,
            "magnitude": self.magnitude,
            "num_magnitude_bins": self.num_magnitude_bins,
            "fill": self.fill,
        }


class TrivialAugmentWide(Policy):
    """TrivialAugment Wide: one op chosen uniformly among the 14 of RandAugment, at a
    magnitude bin drawn uniformly among ``num_magnitude_bins``, with the wide ranges."""

    def __init__(self, num_magnitude_bins: int = 31, *, fill: float = 0.0):
        self.num_magnitude_bins = check_int("num_magnitude_bins", num_magnitude_bins, low=2)
        space = _space(self.num_magnitude_bins, wide=True)
        self._ops = [space[name] for name in RandAugment._OPS]
        super().__init__([self._ops], fill)

    def _uniforms_per_sample(self) -> int:
        return 3  # which op, its magnitude bin, its sign

    def _choose(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        choice = _bin_choice(u[:, 0:1], len(self._ops))
        bins = _bin_choice(u[:, 1:2], self.num_magnitude_bins)
        table = np.array([op.magnitudes if op.magnitudes else (0.0,) * self.num_magnitude_bins for op in self._ops])
        signed = np.array([op.signed for op in self._ops])
        values = _signed(table[choice, bins], signed[choice], u[:, 2:3])
        return choice, values, np.ones(choice.shape, dtype=bool), {}

    def _repr_args(self) -> dict[str, Any]:
        return {"num_magnitude_bins": self.num_magnitude_bins, "fill": self.fill}


#: AutoAugment's ImageNet policy (Cubuk et al., 2019, appendix): 25 sub-policies of two
#: (op, probability, magnitude bin of 10) steps.
IMAGENET_POLICY: tuple[tuple[tuple[str, float, int | None], tuple[str, float, int | None]], ...] = (
    (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
    (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
    (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
    (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
    (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
    (("Solarize", 0.6, 3), ("Equalize", 0.6, None)),
    (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
    (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
    (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
    (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
    (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
    (("Equalize", 0.0, None), ("Equalize", 0.8, None)),
    (("Invert", 0.6, None), ("Equalize", 1.0, None)),
    (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
    (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
    (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
    (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
    (("ShearX", 0.6, 5), ("Equalize", 1.0, None)),
    (("Color", 0.4, 0), ("Equalize", 0.6, None)),
    (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
    (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
    (("Invert", 0.6, None), ("Equalize", 1.0, None)),
    (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
    (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
)


class AutoAugment(Policy):
    """AutoAugment with the ImageNet policy: one of its 25 sub-policies chosen uniformly;
    each of its two steps applied with its probability, at its magnitude (10 bins)."""

    def __init__(self, policy: str = "imagenet", *, fill: float = 0.0):
        self.policy = check_choice("policy", policy, ("imagenet",))
        space = _space(10, wide=False)
        table = IMAGENET_POLICY
        self._candidates = [sorted({sub[k][0] for sub in table}) for k in range(2)]
        # per sub-policy and step: (index among the step's candidates, probability, magnitude)
        steps = []
        for sub in table:
            row = []
            for k, (name, prob, bin_) in enumerate(sub):
                op = space[name]
                mag = op.magnitudes[bin_] if (op.magnitudes and bin_ is not None) else 0.0
                row.append((self._candidates[k].index(name), prob, mag, op.signed))
            steps.append(row)
        self._choice = np.array([[s[0] for s in row] for row in steps])
        self._prob = np.array([[s[1] for s in row] for row in steps])
        self._mag = np.array([[s[2] for s in row] for row in steps])
        self._is_signed = np.array([[s[3] for s in row] for row in steps])
        super().__init__([[space[name] for name in names] for names in self._candidates], fill)

    def _uniforms_per_sample(self) -> int:
        return 5  # which sub-policy; per step: apply or not, and the sign

    def _choose(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        sub = _bin_choice(u[:, 0], len(IMAGENET_POLICY))
        applied = u[:, [1, 3]] < self._prob[sub]
        values = _signed(self._mag[sub], self._is_signed[sub], u[:, [2, 4]])
        return self._choice[sub], values, applied, {"policy": sub}

    def _repr_args(self) -> dict[str, Any]:
        return {"policy": self.policy, "fill": self.fill}
