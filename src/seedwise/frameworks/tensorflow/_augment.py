"""A seedwise augmentation pipeline applied in TensorFlow ops, batch by batch, keyed by (epoch, index).

Decide, then do. The parameters are seedwise's own: :meth:`TfAugment.sample` runs the
pipeline's sampling (``Compose._program``, the same draws as ``pipe.sample()``) for one
batch on the host, and turns each stage into the few numbers TensorFlow needs, with the
augment package's own maps (``seedwise.augment._maps``):

* a **geometric** stage (flips, ``Affine``, ``Rotate``, crops) becomes one inverse
  affine map per image, applied by ``ImageProjectiveTransformV3`` (bilinear, constant
  fill): one op for the batch;
* a **colour** stage (``ColorJitter``) becomes per image a matrix ``A``, an offset
  ``t0`` and the matrix ``U`` that makes the offset depend on the image's mean colour
  (contrast): ``c' = A c + t0 + U mean``, evaluated with elementwise multiply-adds;
* any other stage (noise, blur, erasing) has no TensorFlow apply here: it runs seedwise's
  OpenCV path on uint8 through ``tf.numpy_function`` (which holds the GIL while it runs).

The host part holds the GIL for well under a millisecond per batch (vectorised Philox
draws); the pixels are computed by TensorFlow kernels without it. Every op is per image
(the transform, the per-channel multiply-adds, the per-image mean), so an image's pixels
depend on its (epoch, index) and the pipeline only: the same for any
``num_parallel_calls``, ``deterministic=`` setting or batch composition. They are not
bit-identical to the OpenCV path (another interpolation and rounding: uint8 images are
rounded once, at the end, as on the torch path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from seedwise.augment._maps import affine_inverse, compose_color, compose_geometric
from seedwise.augment.compose import Compose, Program, Stage
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["TfAugment", "NUMPY_FALLBACK_KINDS"]

#: Stage kinds applied through ``tf.numpy_function`` (seedwise's OpenCV path), not TensorFlow ops.
NUMPY_FALLBACK_KINDS = ("pixel",)


@dataclass(frozen=True)
class _Plan:
    """One stage of the pipeline, with the image size before and after it."""

    stage: Stage
    size_in: tuple[int, int]
    size_out: tuple[int, int]


class TfAugment:
    """``pipe`` (a :class:`~seedwise.augment.Compose` with seeds) for batches of ``image_shape`` images.

    Args:
        pipe: the pipeline; MixUp / CutMix are not supported here (they need a partner
            image from the dataset).
        image_shape: ``(H, W)`` or ``(H, W, C)`` of one image, known when the dataset is
            built (C is 1 or 3 when the pipeline changes colours).
        dtype: ``"uint8"`` (values 0-255) or a float dtype (values in [0, 1]).
    """

    def __init__(self, pipe: Compose, image_shape: tuple[int, ...], dtype: str):
        if not isinstance(pipe, Compose):
            raise InvalidTypeError(f"augment must be a seedwise.augment.Compose, got {type(pipe).__name__}")
        if pipe.seeds is None:
            raise InvalidArgumentError("augment has no seeds: build it as Compose([...], seeds=seeds['augment'])")
        if pipe.has_mixing:
            raise InvalidArgumentError(
                "the tf.data source does not apply MixUp / CutMix (they need each sample's partner from the "
                "dataset); mix the batches in your train step, or use seedwise.data.DataLoader"
            )
        if len(image_shape) not in (2, 3) or any(d is None or d <= 0 for d in image_shape):
            raise InvalidArgumentError(
                f"augmented images need a fixed (H, W) or (H, W, C) shape, got {image_shape}; resize them in load="
            )
        self.pipe = pipe
        self.grey_2d = len(image_shape) == 2
        self.channels = 1 if self.grey_2d else int(image_shape[2])
        self.scale = 255.0 if dtype == "uint8" else 1.0
        self.dtype = dtype
        size = (int(image_shape[0]), int(image_shape[1]))
        program, _ = pipe._program(np.zeros(1, dtype=np.int64), 0, None)
        plans = []
        for stage in program.stages:
            out = compose_geometric(program, stage, size)[1] if stage.kind == "geometric" else size
            if stage.kind == "color" and self.channels not in (1, 3):
                raise InvalidArgumentError(
                    f"colour transforms take images with 1 or 3 (RGB) channels, got {self.channels}"
                )
            plans.append(_Plan(stage, size, out))
            size = out
        self._plans = tuple(plans)
        self.output_shape = size if self.grey_2d else (*size, self.channels)

    @property
    def uses_numpy(self) -> bool:
        """Whether a stage runs through ``tf.numpy_function`` (see the module docstring)."""
        return any(p.stage.kind in NUMPY_FALLBACK_KINDS for p in self._plans)

    # -- decide: on the host, per batch ----------------------------------------------

    def sample(self, epoch: Any, indices: Any) -> list[np.ndarray]:
        """The numbers TensorFlow needs for the batch ``indices`` of ``epoch``, stage by stage (float32)."""
        program, _ = self.pipe._program(np.asarray(indices, dtype=np.int64), int(epoch), None)
        out: list[np.ndarray] = []
        for plan in self._plans:
            if plan.stage.kind == "geometric":
                m, _ = compose_geometric(program, plan.stage, plan.size_in)
                inv = affine_inverse(m)  # output pixel -> input pixel, as the TF op wants
                out.append(
                    np.concatenate([inv[:, 0], inv[:, 1], np.zeros((len(inv), 2))], axis=1)
                )  # a0..a2, b0..b2, c0, c1
            elif plan.stage.kind == "color":
                out.extend(self._colour(program, plan.stage, len(program.indices)))
        return [a.astype(np.float32) for a in out]

    def _colour(self, program: Program, stage: Stage, n: int) -> list[np.ndarray]:
        """``A``, ``t0`` and ``U`` of ``c' = A c + t0 + U mean`` (the maps are affine in the mean)."""
        c = self.channels
        at_zero = compose_color(program, stage, np.zeros((n, c)))
        u = np.empty((n, c, c))
        for j in range(c):
            basis = np.zeros((n, c))
            basis[:, j] = 1.0
            u[:, :, j] = compose_color(program, stage, basis)[:, :, c] - at_zero[:, :, c]
        return [at_zero[:, :, :c], at_zero[:, :, c] * self.scale, u]

    def output_signature(self) -> list[tuple[int, ...]]:
        """The shapes (after the batch axis) of :meth:`sample`'s arrays."""
        c = self.channels
        shapes: list[tuple[int, ...]] = []
        for plan in self._plans:
            if plan.stage.kind == "geometric":
                shapes.append((8,))
            elif plan.stage.kind == "color":
                shapes += [(c, c), (c,), (c, c)]
        return shapes

    # -- do: in TensorFlow ops ------------------------------------------------------------

    def apply(self, tf: Any, images: Any, params: list[Any], epoch: Any, indices: Any) -> Any:
        """Augment the batch ``images`` (``(B, H, W[, C])``) with ``params`` from :meth:`sample`."""
        x = tf.cast(images, tf.float32)
        if self.grey_2d:
            x = x[..., None]
        it = iter(params)
        for plan in self._plans:
            kind = plan.stage.kind
            if kind == "geometric":
                fill = plan.stage.fill
                x = tf.raw_ops.ImageProjectiveTransformV3(
                    images=x,
                    transforms=next(it),
                    output_shape=tf.constant(plan.size_out, tf.int32),
                    # no fill set: the edge repeats (OpenCV's BORDER_REPLICATE is TensorFlow's NEAREST)
                    fill_value=tf.constant(0.0 if fill is None else fill * self.scale, tf.float32),
                    interpolation="BILINEAR",
                    fill_mode="NEAREST" if fill is None else "CONSTANT",
                )
            elif kind == "color":
                a, t0, u = next(it), next(it), next(it)
                x = self._apply_colour(tf, x, a, t0, u)
            else:
                x = self._apply_numpy(tf, x, plan, epoch, indices)
        if self.grey_2d:
            x = x[..., 0]
        if self.dtype == "uint8":
            return tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)
        return tf.cast(x, self.dtype)

    def _apply_colour(self, tf: Any, x: Any, a: Any, t0: Any, u: Any) -> Any:
        c = self.channels
        # per-image mean colour, reduced per image (the same bits in any batch)
        mean = tf.reduce_mean(tf.cast(x, tf.float64), axis=(1, 2))
        t = t0 + tf.cast(tf.reduce_sum(tf.cast(u, tf.float64) * mean[:, None, :], axis=2), tf.float32)
        channels = [x[..., j] for j in range(c)]
        out = []
        for i in range(c):
            acc = a[:, i, 0][:, None, None] * channels[0]
            for j in range(1, c):
                acc = acc + a[:, i, j][:, None, None] * channels[j]
            out.append(acc + t[:, i][:, None, None])
        return tf.clip_by_value(tf.stack(out, axis=-1), 0.0, self.scale)

    def _apply_numpy(self, tf: Any, x: Any, plan: _Plan, epoch: Any, indices: Any) -> Any:
        """A stage without a TensorFlow apply: seedwise's OpenCV path on uint8, through ``tf.numpy_function``."""
        from seedwise.augment import cpu

        pipe = self.pipe

        def run(batch: np.ndarray, ep: np.ndarray, idx: np.ndarray) -> np.ndarray:
            program, _ = pipe._program(idx.astype(np.int64), int(ep), None)
            out: np.ndarray = cpu.BACKEND.run(program, (plan.stage,), np.ascontiguousarray(batch))
            return out

        as_uint8 = tf.cast(tf.clip_by_value(tf.round(x * (255.0 / self.scale)), 0.0, 255.0), tf.uint8)
        y = tf.numpy_function(run, [as_uint8, epoch, indices], tf.uint8, stateful=False)
        y.set_shape(x.shape)
        return tf.cast(y, tf.float32) * (self.scale / 255.0)
