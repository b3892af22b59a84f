"""Deterministic last steps: :class:`ToFloat` and :class:`Normalize`.

They run in the DataLoader workers with the rest of the pipeline and end it: a
conversion may only be followed by another conversion. Both compute in float32 exactly
as torchvision's ``ToTensor`` + ``Normalize`` do (``x / 255``, then ``(x - mean) / std``),
so the CPU and torch paths give the same bits from the same uint8 pixels.

``output`` chooses the container: ``"same"`` keeps the input's (NumPy HWC stays NumPy
HWC, torch CHW stays torch CHW), ``"tensor"`` gives torch CHW (what a model and a
DataLoader's collate want, from the OpenCV path too), ``"array"`` gives NumPy HWC.

The outputs of :class:`Normalize` lie outside [0, 1] by design; that is why it must come
after every random transform, whose inputs must lie in [0, 1] (or be uint8).
"""

from __future__ import annotations

import numbers
from typing import Any, Literal

import numpy as np

from seedwise._validate import check_choice
from seedwise.augment._ranges import real
from seedwise.augment.base import Transform
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["ToFloat", "Normalize", "OUTPUTS"]

Output = Literal["same", "tensor", "array"]
OUTPUTS = ("same", "tensor", "array")


def _from_numpy(y: np.ndarray, output: str) -> Any:
    """An NHWC float32 array in the container ``output`` asks for."""
    if output != "tensor":
        return y
    import torch

    return torch.from_numpy(np.ascontiguousarray(y.transpose(0, 3, 1, 2)))


def _from_torch(y: Any, output: str) -> Any:
    """A BCHW float32 tensor in the container ``output`` asks for."""
    if output != "array":
        return y
    return np.ascontiguousarray(y.detach().cpu().permute(0, 2, 3, 1).numpy())


class Convert(Transform):
    """A deterministic conversion at the end of a pipeline."""

    kind = "convert"

    def __init__(self, output: Output = "same"):
        super().__init__(1.0)
        self.output: str = check_choice("output", output, OUTPUTS)

    def _numpy(self, y: np.ndarray) -> np.ndarray:
        return y

    def _torch(self, y: Any) -> Any:
        return y

    def convert_cpu(self, x: Any) -> Any:
        if not isinstance(x, np.ndarray):  # an earlier conversion made it a tensor (CHW)
            return _from_torch(self._torch(_as_float_torch(x, 1.0)), self.output)
        y = x.astype(np.float32) / np.float32(255.0) if x.dtype == np.uint8 else x.astype(np.float32, copy=False)
        return _from_numpy(self._numpy(y), self.output)

    def convert_torch(self, x: Any, scale: float) -> Any:
        return _from_torch(self._torch(_as_float_torch(x, scale)), self.output)

    def _repr_args(self) -> dict[str, Any]:
        return {"output": self.output}


def _as_float_torch(x: Any, scale: float) -> Any:
    import torch

    y = x.to(torch.float32)
    return y / 255.0 if scale == 255.0 else y


class ToFloat(Convert):
    """uint8 levels to float32 in [0, 1] (``x / 255``); float images are cast to float32."""


def _per_channel(name: str, value: object) -> tuple[float, ...]:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return (real(name, value),)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InvalidTypeError(f"{name} must be a number or one number per channel, got {value!r}")
    out = tuple(real(f"{name}[{i}]", v) for i, v in enumerate(value))
    if not out:
        raise InvalidArgumentError(f"{name} must hold one number per channel, got an empty {type(value).__name__}")
    return out


class Normalize(Convert):
    """``(x / 255 - mean) / std`` per channel, in float32 (``x`` uint8; float images in
    [0, 1] skip the division), as torchvision's ``ToTensor`` + ``Normalize``.

    ``mean`` and ``std`` are in units of full intensity (ImageNet's are
    ``(0.485, 0.456, 0.406)`` and ``(0.229, 0.224, 0.225)``), one per channel or one for all.
    """

    def __init__(self, mean: float | tuple[float, ...], std: float | tuple[float, ...], *, output: Output = "same"):
        super().__init__(output)
        self.mean = _per_channel("mean", mean)
        self.std = _per_channel("std", std)
        if any(s <= 0 for s in self.std):
            raise InvalidArgumentError(f"std must be > 0 in every channel, got {self.std}")

    def _stats(self, channels: int) -> tuple[np.ndarray, np.ndarray]:
        for name, v in (("mean", self.mean), ("std", self.std)):
            if len(v) not in (1, channels):
                raise InvalidArgumentError(
                    f"Normalize has {len(v)} {name} values for images with {channels} channels; give one per channel"
                )
        return np.array(self.mean, dtype=np.float32), np.array(self.std, dtype=np.float32)

    def _numpy(self, y: np.ndarray) -> np.ndarray:
        mean, std = self._stats(y.shape[3])
        return np.asarray((y - mean) / std, dtype=np.float32)

    def _torch(self, y: Any) -> Any:
        import torch

        mean, std = self._stats(y.shape[1])
        m = torch.as_tensor(mean, device=y.device)[None, :, None, None]
        s = torch.as_tensor(std, device=y.device)[None, :, None, None]
        return (y - m) / s

    def _repr_args(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "output": self.output}
