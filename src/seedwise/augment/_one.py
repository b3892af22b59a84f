"""The per-image path: one HWC uint8 image through a pipeline of geometric and colour transforms.

A ``Dataset.__getitem__`` augments one sample per call, so whatever a call costs besides
the OpenCV work is paid per image: on a 224x224 image the general path
(:meth:`Compose._program` then :class:`~seedwise.augment.cpu.CpuBackend`) spends about a
fifth of the time of its one ``cv2.warpAffine`` building a program of one-row NumPy
arrays and reading them back as Python scalars. This path takes the same steps with
Python scalars throughout:

* the uniforms of every stream, one compiled Philox call (as the general path draws them);
* each transform's parameters from its uniforms with :meth:`Transform._params_one`, the
  scalar form of its ``_from_uniforms`` (the same expressions: the same bits);
* each stage through the same per-image functions as the general path
  (:func:`~seedwise.augment._cpu_warp.warp_scalars`,
  :func:`~seedwise.augment._cpu_colour.colour_scalars`).

It serves pipelines whose items are all leaf transforms of kind ``geometric`` or
``color`` that have a scalar form (flips, affine maps, rotations, shears, resizes, crops
to the centre, pads, colour jitter, grey, invert); any other pipeline, any input but one
HWC uint8 image with 1 or 3 channels, and a machine without numba take the general path.
``tests/augment/test_augment_one.py`` checks that both paths give the same pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seedwise.augment._cpu_colour import colour_scalars
from seedwise.augment._cpu_warp import warp_scalars
from seedwise.augment._draw import Requests
from seedwise.augment._program import Stage
from seedwise.augment._tree import Node
from seedwise.augment.base import Transform, has_params_one
from seedwise.stateless._per_sample import unit_kernel

__all__ = ["OnePath"]


class OnePath:
    """The per-image plan of a pipeline (see the module doc); :meth:`build` gives None when it does not apply."""

    def __init__(
        self,
        requests: Requests,
        leaves: list[tuple[Transform, tuple[int, int], int | None]],
        stages: tuple[Stage, ...],
        kernel: Any,
    ) -> None:
        self.keys, self.blocks, self.width = requests.keys, requests.blocks, requests.width
        self.leaves = leaves  # (transform, its params' columns, its coin's column or None)
        self.stages = stages
        self.kernel = kernel
        # a colour stage's needs, as stage_ops gives them: (needs the mean, mixes channels)
        self.colour: dict[int, tuple[bool, bool]] = {}
        for k, stage in enumerate(stages):
            if stage.kind == "color":
                ops: list[Any] = [leaves[p][0] for p in stage.positions]  # ColorOp, by the stage's kind
                self.colour[k] = (any(op.needs_mean for op in ops), any(op.mixes_channels for op in ops))

    @classmethod
    def build(cls, nodes: list[Node], requests: Requests, stages: tuple[Stage, ...]) -> OnePath | None:
        """The plan for a compiled pipeline, or None when the pipeline needs the general path."""
        kernel = unit_kernel()
        if kernel is None or any(stage.kind not in ("geometric", "color") for stage in stages):
            return None
        leaves: list[tuple[Transform, tuple[int, int], int | None]] = []
        for node in nodes:
            item = node.item
            if node.children or not isinstance(item, Transform) or not has_params_one(item):
                return None
            params = node.slots.get("params")
            columns = requests.columns[params] if params is not None else (0, 0)
            coin = node.slots.get("apply")
            leaves.append((item, columns, None if coin is None else requests.columns[coin][0]))
        return cls(requests, leaves, stages, kernel)

    def accepts(self, image: Any) -> bool:
        """Whether this path takes ``image``: one HWC uint8 image with 1 or 3 channels and pixels."""
        return (
            isinstance(image, np.ndarray)
            and image.ndim == 3
            and image.dtype == np.uint8
            and image.shape[2] in (1, 3)
            and image.shape[0] > 0
            and image.shape[1] > 0
        )

    def __call__(self, image: np.ndarray, index: int, epoch: int) -> np.ndarray:
        """``image`` augmented as sample ``index`` of ``epoch`` (ints in ``[0, 2**64)``)."""
        drawn = np.empty((1, self.width), dtype=np.float64)
        self.kernel(self.keys, self.blocks, np.uint64(epoch), np.array([index], dtype=np.uint64), drawn)
        row = drawn[0].tolist()
        steps: list[tuple[Any, dict[str, Any]]] = []  # (GeometricOp or ColorOp, by its stage's kind; params)
        for leaf, (start, stop), coin in self.leaves:
            applied = row[coin] < leaf.p if coin is not None else leaf.p >= 1.0
            steps.append((leaf, leaf._params_one(row[start:stop], applied)))
        x = image
        for k, stage in enumerate(self.stages):
            acting = [steps[p] for p in stage.positions if steps[p][1]["applied"] or steps[p][0].changes_size]
            if stage.kind == "geometric":
                x = warp_scalars(stage, acting, x)
            else:
                needs_mean, mixes = self.colour[k]
                scalar = x.shape[2] == 1 or not mixes
                x = colour_scalars(acting, x, needs_mean, scalar, inplace=x is not image)
        return x
