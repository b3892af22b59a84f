"""The CPU backend: uint8 HWC NumPy images through OpenCV.

* A geometric stage is ONE ``cv2.warpAffine`` per image with the composed matrix
  (nearest-pixel when the matrix maps pixel centres to pixel centres, as flips, integer
  crops and quarter turns do, which is exact; bilinear otherwise).
* A colour stage is ONE pass per image: ``cv2.LUT`` when the composed colour map is a
  scalar gain and offset (brightness, contrast), else ``cv2.transform`` with the 3x4
  matrix. Images whose maps are the identity are not touched.
* A lookup-table stage (posterize, solarize, equalize, autocontrast) is ONE ``cv2.LUT``
  per image with the stage's tables composed.
* Values are rounded and clipped to uint8 after every stage; conversions (``ToFloat``,
  ``Normalize``) end the run.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from seedwise.augment._cpu_colour import colour_one
from seedwise.augment._cpu_lut import lut_stage
from seedwise.augment._cpu_stream import run_stages, streamable
from seedwise.augment._cpu_warp import warp_one
from seedwise.augment._maps import compose_geometric
from seedwise.augment._program import Context, ConvertOp, MixOp, Params, PixelOp, Program, Stage
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["BACKEND", "CpuBackend"]


class CpuBackend:
    """Runs a :class:`~seedwise.augment.compose.Program` on an NHWC uint8 array."""

    name = "cpu"

    def prepare(self, images: np.ndarray) -> tuple[np.ndarray, bool]:
        if images.dtype != np.uint8:
            raise InvalidTypeError(
                f"the CPU (OpenCV) path takes uint8 images, got dtype {images.dtype}; convert with "
                "(x * 255).round().astype(np.uint8), or pass a torch tensor for the torch path"
            )
        if images.ndim in (3, 4) and 0 in images.shape[-3:-1]:
            raise InvalidArgumentError(
                f"an image needs at least one pixel, got shape {images.shape} (an empty batch is (0, H, W, C))"
            )
        if images.ndim == 3:
            return images[None], True
        if images.ndim == 4:
            return images, False
        raise InvalidArgumentError(
            f"images must be one HWC image or an NHWC batch (grey images as H x W x 1), got shape {images.shape}"
        )

    def stack(self, images: list[Any]) -> np.ndarray:
        for img in images:
            if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3:
                raise InvalidTypeError(f"fetch must return HWC uint8 NumPy images here, got {type(img).__name__}")
        return np.stack(images)

    def run(self, program: Program, stages: tuple[Stage, ...], x: np.ndarray) -> Any:
        if len(x) == 0:
            return self._empty(program, stages, x)
        if len(x) > 1:
            return self._run_batch(program, stages, x)
        owned = False  # is x a buffer of this run (so that a stage may overwrite it)?
        for stage in stages:
            if stage.kind == "convert":
                return self._convert(program, stage, x)
            if stage.kind == "geometric":
                y = warp_one(program, stage, x[0])[None]
            elif stage.kind == "color":
                y = colour_one(program, stage, x[0], inplace=owned)[None]
            elif stage.kind == "lut":
                y = lut_stage(program, stage, x, inplace=owned)
            elif stage.kind == "pixel":
                y = x
                for pos in stage.positions:
                    y, owned = self._pixel(program, pos, y, owned)
            else:
                raise InvalidArgumentError(f"the CPU backend cannot run a {stage.kind!r} stage here")
            owned = owned or not np.may_share_memory(y, x)
            x = y
        return x

    def _run_batch(self, program: Program, stages: tuple[Stage, ...], x: np.ndarray) -> Any:
        """A batch: runs of geometric, colour and table stages image by image (``_cpu_stream``), the rest as stages."""
        owned = False
        k = 0
        while k < len(stages):
            stage = stages[k]
            if streamable(program, stage):
                end = k
                while end < len(stages) and streamable(program, stages[end]):
                    end += 1
                x, owned, k = run_stages(program, stages[k:end], x), True, end
                continue
            if stage.kind == "convert":
                return self._convert(program, stage, x)
            if stage.kind == "lut":
                y = lut_stage(program, stage, x, inplace=owned)
                owned, x = owned or not np.may_share_memory(y, x), y
            elif stage.kind == "pixel":
                for pos in stage.positions:
                    x, owned = self._pixel(program, pos, x, owned)
            else:
                raise InvalidArgumentError(f"the CPU backend cannot run a {stage.kind!r} stage here")
            k += 1
        return x

    def _convert(self, program: Program, stage: Stage, x: np.ndarray) -> Any:
        """The last stages: the batch leaves uint8 (and maybe NumPy) here."""
        out: Any = x
        for pos in stage.positions:
            out = cast(ConvertOp, program.steps[pos][0]).convert_cpu(out)
        return out

    def _empty(self, program: Program, stages: tuple[Stage, ...], x: np.ndarray) -> Any:
        """An empty batch: an empty result of the shape and type the stages would give."""
        size = x.shape[1:3]
        out: Any = x
        for stage in stages:
            if stage.kind == "geometric":
                size = compose_geometric(program, stage, size)[1]
                out = np.empty((0, *size, x.shape[3]), dtype=np.uint8)
            elif stage.kind == "convert":
                for pos in stage.positions:
                    out = cast(ConvertOp, program.steps[pos][0]).convert_cpu(out)
        return out

    def _pixel(self, program: Program, pos: int, x: np.ndarray, owned: bool) -> tuple[np.ndarray, bool]:
        """One pixel transform, in place on the run's own buffer (copied first if the run has none)."""
        if not program.active[pos]:
            return x, owned
        leaf, params, stream = program.steps[pos]
        rows = np.flatnonzero(params["applied"])
        if rows.size == 0:
            return x, owned
        ctx = Context(stream, program.epoch, program.indices)
        return cast(PixelOp, leaf).apply_cpu(x if owned else x.copy(), params, rows, ctx), True

    def mix(
        self, x: np.ndarray, y: np.ndarray, rows: np.ndarray, chosen: list[tuple[Any, Params]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mix ``x[rows[k]]`` with partner image ``y[k]``; returns the images and each row's own-label weight."""
        if y.shape[1:] != x.shape[1:]:
            raise InvalidArgumentError(
                f"a mixing partner has shape {y.shape[1:]} but the sample has {x.shape[1:]}; put a crop or resize "
                "before MixUp / CutMix so that all images share one size"
            )
        out = x.copy()
        lam = np.ones(len(rows))
        for k, (i, (leaf, params)) in enumerate(zip(rows, chosen)):
            out[i], lam[k] = cast(MixOp, leaf).mix_cpu(x[i], y[k], params, int(i))
        return out, lam


BACKEND = CpuBackend()
