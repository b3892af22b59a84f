"""What the backends run: a :class:`Program` of leaf transforms with their parameters,
cut into :class:`Stage` s, and the protocol each kind of transform offers the backends.

The backends (:mod:`seedwise.augment.cpu`, :mod:`seedwise.augment.torch_backend`) know
kinds, never concrete transforms. A transform declares its :attr:`kind` and carries the
methods of that kind's protocol:

* ``geometric`` (:class:`GeometricOp`): an affine map of pixel coordinates per sample.
  Consecutive geometric transforms fuse into one matrix and one warp.
* ``color`` (:class:`ColorOp`): an affine map of each pixel's colour per sample.
  Consecutive colour transforms fuse into one colour matrix and one pass.
* ``pixel`` (:class:`PixelOp`): anything else; it applies itself on each backend.
* ``mix`` (:class:`MixOp`): blends a sample with a partner sample of the dataset.

So a new transform touches one file: it picks a kind and implements that kind's methods.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    "Context",
    "Stage",
    "Program",
    "Op",
    "GeometricOp",
    "ColorOp",
    "PixelOp",
    "MixOp",
    "make_stages",
]

#: How a transform acts on pixels, which decides how the backends fuse it (see the module docstring).
KINDS = ("geometric", "color", "pixel", "mix")

Params = dict[str, np.ndarray]
Affine2x3 = tuple[float, float, float, float, float, float]
IDENTITY_2X3: Affine2x3 = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


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
    """A per-sample affine map of coordinates (``x`` right, ``y`` down, pixel centres at integers)."""

    fill: float

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        """Forward matrices ``(B, 3, 3)`` for input ``size`` ``(H, W)``, and the output size."""
        ...

    def matrix_one(self, p: dict[str, Any], size: tuple[int, int]) -> tuple[Affine2x3, tuple[int, int]]:
        """One sample's forward map (six floats, row-major 2x3) from its parameters as Python scalars."""
        ...


class ColorOp(Op, Protocol):
    """A per-sample affine map ``c' = A c + t`` of each pixel's colour (``t`` in units of 1.0)."""

    needs_mean: bool
    mixes_channels: bool

    def affine(self, params: Params, mean: np.ndarray) -> np.ndarray:
        """``(B, C, C + 1)`` maps from ``(B, C)`` mean colours (units of 1.0)."""
        ...

    def affine_one(self, p: dict[str, Any], mean: list[float]) -> list[list[float]]:
        """One sample's map as ``C`` rows of ``C + 1`` floats (the CPU path's per-image form)."""
        ...


class PixelOp(Op, Protocol):
    """A transform that applies itself to the samples ``rows`` (those it is applied to)."""

    def apply_cpu(self, x: np.ndarray, params: Params, rows: np.ndarray, ctx: Context) -> np.ndarray:
        """``x`` NHWC uint8; returns a new array (``x`` is not modified)."""
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


@dataclass(frozen=True)
class Stage:
    """A run of the program the backends execute as one step."""

    kind: str  # one of KINDS
    positions: tuple[int, ...]  # indices into Program.steps
    fill: float = 0.0  # geometric stages: the fill of pixels from outside the image


@dataclass
class Program:
    """Leaf transforms in order, with their parameters, for one set of positions."""

    steps: list[tuple[Any, Params, Seeds]]
    stages: tuple[Stage, ...]
    epoch: np.uint64
    indices: np.ndarray


def make_stages(leaves: list[Any]) -> tuple[Stage, ...]:
    """Cut ``leaves`` into stages: consecutive geometric (one fill) or colour transforms fuse;
    consecutive mixing transforms form one stage (at most one of them applies per sample);
    every other transform is a stage of its own."""
    stages: list[Stage] = []
    for pos, leaf in enumerate(leaves):
        kind = leaf.kind
        last = stages[-1] if stages else None
        fusable = kind in ("geometric", "color") or (kind == "mix" and last is not None and last.kind == "mix")
        if last is not None and last.kind == kind and fusable:
            fill = float(getattr(leaf, "fill", 0.0))
            if kind == "geometric" and fill != last.fill:
                raise InvalidArgumentError(
                    f"consecutive geometric transforms are fused into one warp, so they must share one fill; "
                    f"got fill={last.fill} and fill={fill} ({leaf!r})"
                )
            stages[-1] = Stage(kind, last.positions + (pos,), last.fill)
        else:
            stages.append(Stage(kind, (pos,), float(getattr(leaf, "fill", 0.0))))
    return tuple(stages)
