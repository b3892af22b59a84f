"""What the backends run: a :class:`Program` of leaf transforms with their parameters,
cut into :class:`Stage` s, and the protocol each kind of transform offers the backends.

The backends (:mod:`seedwise.augment.cpu`, :mod:`seedwise.augment.torch_backend`) know
kinds, never concrete transforms. A transform declares its :attr:`kind` and carries the
methods of that kind's protocol:

* ``geometric`` (:class:`GeometricOp`): an affine map of pixel coordinates per sample.
  Consecutive geometric transforms fuse into one matrix and one warp.
* ``color`` (:class:`ColorOp`): an affine map of each pixel's colour per sample.
  Consecutive colour transforms fuse into one colour matrix and one pass.
* ``lut`` (:class:`LutOp`): a per-sample lookup table of the 256 uint8 levels of each
  channel (posterize, solarize, equalize, autocontrast). Consecutive ones compose into
  one table and one pass; a table may depend on the image's histogram.
* ``pixel`` (:class:`PixelOp`): anything else; it applies itself on each backend.
* ``mix`` (:class:`MixOp`): blends a sample with a partner sample of the dataset.
* ``convert`` (:class:`ConvertOp`): a deterministic last step that changes the dtype or
  the container (``ToFloat``, ``Normalize``); only conversions may follow one.

So a new transform touches one file: it picks a kind and implements that kind's methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from seedwise.augment import _draw
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import Seeds

if TYPE_CHECKING:
    import torch

__all__ = [
    "KINDS",
    "Params",
    "Affine2x3",
    "IDENTITY_2X3",
    "LUMA_WEIGHTS",
    "Context",
    "Stage",
    "Program",
    "Op",
    "GeometricOp",
    "ColorOp",
    "LutOp",
    "PixelOp",
    "MixOp",
    "ConvertOp",
    "make_stages",
]

#: How a transform acts on pixels, which decides how the backends fuse it (see the module docstring).
KINDS = ("geometric", "color", "lut", "pixel", "mix", "convert")

Params = dict[str, np.ndarray]
Affine2x3 = tuple[float, float, float, float, float, float]
IDENTITY_2X3: Affine2x3 = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
#: The luma of an RGB colour (ITU-R 601), as the colour transforms and ``ColorOp``'s ``affine_split`` use it.
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class Context:
    """What a pixel transform needs besides its parameters: its stream and the positions."""

    stream: Seeds
    epoch: np.uint64
    indices: np.ndarray

    def generators(self) -> list[np.random.Generator]:
        """One NumPy generator per sample, a pure function of (stream, epoch, index)."""
        return _draw.noise_generators(self.stream["noise"], self.epoch, self.indices)


class Op(Protocol):
    """What every leaf transform offers: its kind and whether it changes the image size."""

    kind: str
    changes_size: bool


class GeometricOp(Op, Protocol):
    """A per-sample affine map of coordinates (``x`` right, ``y`` down, pixel centres at integers).

    ``fill`` is the value (in [0, 1] of full intensity) of pixels that come from outside
    the image, or None for a map that never reaches outside (a flip)."""

    fill: float | None

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        """Forward matrices ``(B, 3, 3)`` for input ``size`` ``(H, W)``, and the output size."""
        ...

    def matrix_one(self, p: dict[str, Any], size: tuple[int, int]) -> tuple[Affine2x3, tuple[int, int]]:
        """One sample's forward map (six floats, row-major 2x3) from its parameters as Python scalars."""
        ...


class ColorOp(Op, Protocol):
    """A per-sample affine map ``c' = A c + t`` of each pixel's colour (``t`` in units of 1.0).

    Optional (the backends look it up with ``getattr``): ``affine_split(params, channels)``,
    for a map that needs the mean only through the luma of the mean colour. It returns
    ``(maps, scale)``, ``(B, C, C + 1)`` and ``(B,)``, such that :meth:`affine_one` is
    ``maps`` with offset column ``maps[:, :, C] * (scale * luma)``, bit for bit, where
    ``luma`` is :data:`LUMA_WEIGHTS` applied as ``w0 m0 + w1 m1 + w2 m2`` (``m0`` for one
    channel) evaluated left to right; or None when the map has no such form. The batched
    CPU path then composes everything but that product once per batch."""

    needs_mean: bool
    mixes_channels: bool

    def affine(self, params: Params, mean: np.ndarray) -> np.ndarray:
        """``(B, C, C + 1)`` maps from ``(B, C)`` mean colours (units of 1.0)."""
        ...

    def affine_one(self, p: dict[str, Any], mean: list[float]) -> list[list[float]]:
        """One sample's map as ``C`` rows of ``C + 1`` floats (the CPU path's per-image form)."""
        ...


class LutOp(Op, Protocol):
    """A per-sample lookup table of the 256 levels of each channel."""

    #: True when the table depends on the image (its per-channel histogram)
    needs_histogram: bool

    def tables(self, params: Params, hist: np.ndarray | None) -> np.ndarray:
        """``(B, 1 or C, 256)`` uint8 tables (the identity for samples not applied), given
        ``hist``, the ``(B, C, 256)`` int64 histograms of the images as this op sees them
        (None unless :attr:`needs_histogram`)."""
        ...


class PixelOp(Op, Protocol):
    """A transform that applies itself to the samples ``rows`` (those it is applied to)."""

    def apply_cpu(self, x: np.ndarray, params: Params, rows: np.ndarray, ctx: Context) -> np.ndarray:
        """``x`` NHWC uint8, a buffer the backend owns: change the samples ``rows`` in place and return it."""
        ...

    def apply_torch(
        self, x: torch.Tensor, params: Params, rows: np.ndarray, ctx: Context, scale: float
    ) -> torch.Tensor:
        """``x`` BCHW float with full intensity ``scale``; returns a new tensor."""
        ...


class MixOp(Op, Protocol):
    """Blends sample ``i`` with its partner image ``y`` (already augmented up to the mixing step)."""

    def mix_cpu(self, x: np.ndarray, y: np.ndarray, params: Params, i: int) -> tuple[np.ndarray, float]:
        """HWC uint8 images; returns the mixed image and the weight of the sample's own label."""
        ...

    def mix_torch(self, x: torch.Tensor, y: torch.Tensor, params: Params, i: int) -> tuple[torch.Tensor, float]:
        """CHW tensors; returns the mixed image and the weight of the sample's own label."""
        ...


class ConvertOp(Op, Protocol):
    """A deterministic conversion of the finished batch (to float, normalised, to a tensor)."""

    def convert_cpu(self, x: Any) -> Any:
        """``x`` NHWC (uint8, or float32 after an earlier conversion); returns the batch as the op defines."""
        ...

    def convert_torch(self, x: torch.Tensor, scale: float) -> Any:
        """``x`` BCHW float holding full intensity ``scale`` (255 for uint8 input, after rounding)."""
        ...


@dataclass(frozen=True)
class Stage:
    """A run of the program the backends execute as one step."""

    kind: str  # one of KINDS
    positions: tuple[int, ...]  # indices into Program.steps
    #: geometric stages: the fill of pixels from outside the image, in [0, 1] of full
    #: intensity; None when no transform of the stage sets one (then the edge repeats)
    fill: float | None = 0.0


@dataclass
class Program:
    """Leaf transforms in order, with their parameters, for one set of positions.

    ``active[k]``: does step ``k`` apply to any sample? (The backends skip the others: the
    identity for every sample.)"""

    steps: list[tuple[Any, Params, Seeds]]
    stages: tuple[Stage, ...]
    epoch: np.uint64
    indices: np.ndarray
    active: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.active) != len(self.steps):
            self.active = [bool(params["applied"].any()) for _, params, _ in self.steps]


def make_stages(leaves: list[Any]) -> tuple[Stage, ...]:
    """Cut ``leaves`` into stages: consecutive geometric transforms (with one fill),
    colour transforms or lookup tables fuse; consecutive mixing transforms form one stage
    (at most one of them applies per sample); every other transform is a stage of its own.
    Only conversions may follow a conversion."""
    stages: list[Stage] = []
    fill: float | None = None  # of the current geometric stage, once a transform sets it
    for pos, leaf in enumerate(leaves):
        kind = leaf.kind
        last = stages[-1] if stages else None
        if last is not None and last.kind == "convert" and kind != "convert":
            raise InvalidArgumentError(
                f"{leaf!r} comes after a conversion ({type(leaves[last.positions[-1]]).__name__}), which must be the "
                "last step of a pipeline: put ToFloat / Normalize after every other transform"
            )
        fusable = kind in ("geometric", "color", "lut") or (kind == "mix" and last is not None and last.kind == "mix")
        own_fill = getattr(leaf, "fill", None) if kind == "geometric" else None
        if last is not None and last.kind == kind and fusable:
            if own_fill is not None and fill is not None and own_fill != fill:
                raise InvalidArgumentError(
                    f"consecutive geometric transforms are fused into one warp, so they must share one fill; "
                    f"got fill={fill} and fill={own_fill} ({leaf!r})"
                )
            fill = fill if own_fill is None else float(own_fill)
            stages[-1] = Stage(kind, last.positions + (pos,), fill)
        else:
            fill = None if own_fill is None else float(own_fill)
            stages.append(Stage(kind, (pos,), fill if kind == "geometric" else 0.0))
    return tuple(stages)
