"""Run a program on images: pick the backend from the images' type, batch them, run, unbatch."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from seedwise.augment._program import Params, Program, Stage
from seedwise.augment.cpu import BACKEND as CPU
from seedwise.augment.torch_backend import BACKEND as TORCH
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["Backend", "prepare", "check_count", "run"]


class Backend(Protocol):
    """What :class:`~seedwise.augment.Compose` asks of a backend."""

    name: str

    def run(self, program: Program, stages: tuple[Stage, ...], x: Any) -> Any: ...

    def stack(self, images: list[Any]) -> Any: ...

    def mix(self, x: Any, y: Any, rows: np.ndarray, chosen: list[tuple[Any, Params]]) -> tuple[Any, np.ndarray]: ...


def prepare(images: Any) -> tuple[Backend, Any, bool]:
    """The backend for ``images``, the images as a batch, and whether one image was given."""
    if isinstance(images, np.ndarray):
        batch, single = CPU.prepare(images)
        return CPU, batch, single
    if type(images).__module__.startswith("torch"):
        batch, single = TORCH.prepare(images)
        return TORCH, batch, single
    raise InvalidTypeError(
        f"images must be a uint8 NumPy array (HWC, or NHWC for a batch) or a torch tensor (BCHW, or CHW), "
        f"got {type(images).__name__}"
    )


def check_count(program: Program, batch: Any) -> None:
    if program.indices.shape[0] != len(batch):
        raise InvalidArgumentError(
            f"indices must give one dataset index per image: got {program.indices.shape[0]} indices "
            f"for {len(batch)} images"
        )


def run(backend: Backend, program: Program, batch: Any, single: bool) -> Any:
    """``program`` applied to ``batch`` (from :func:`prepare`), in the input's type and layout."""
    check_count(program, batch)
    out = backend.run(program, program.stages, batch)
    return out[0] if single else out
