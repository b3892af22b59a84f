"""Where augmentation randomness comes from: stateless draws at counter ``(epoch, index)``.

:func:`positions` validates the ``indices`` and ``epoch`` a transform is called with (with
a fast path for one int index, as a DataLoader worker calls it). The draws themselves come
from :mod:`seedwise.stateless`: :func:`uniforms` (several streams at once, bit for bit
``stateless.uniform(stream, (epoch, indices), size=k)``, from :class:`Requests` a
pipeline builds once) and :func:`noise_generators` (one
NumPy generator per sample for per-pixel noise), re-exported here from
:mod:`seedwise.stateless._per_sample`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.stateless._per_sample import Requests, uniforms
from seedwise.stateless._per_sample import generators as noise_generators

__all__ = ["positions", "Requests", "uniforms", "noise_generators"]


def positions(indices: Any, epoch: Any) -> tuple[np.ndarray, np.uint64, bool]:
    """Validate ``indices`` (an int, or an int array / tensor) and ``epoch`` (an int >= 0).

    Returns ``(indices as 1-D uint64, epoch as uint64, was_scalar)``.
    """
    if type(indices) is int and type(epoch) is int and 0 <= indices < 2**64 and 0 <= epoch < 2**64:
        return np.array([indices], dtype=np.uint64), np.uint64(epoch), True  # the per-sample fast path
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
        if hasattr(epoch, "item") and getattr(epoch, "ndim", 1) == 0:
            epoch = epoch.item()
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
            raise InvalidTypeError(f"epoch must be an int >= 0, got {type(epoch).__name__} {epoch!r}")
    if epoch < 0:
        raise InvalidArgumentError(f"epoch must be >= 0, got {epoch}")
    if indices is None:
        raise InvalidTypeError(
            "indices is required: pass each sample's dataset index (an int, or an int array for a batch)"
        )
    if hasattr(indices, "detach") and hasattr(indices, "cpu"):  # a torch tensor
        indices = indices.detach().cpu().numpy()
    scalar = isinstance(indices, numbers.Integral) and not isinstance(indices, bool)
    arr = np.asarray(indices)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise InvalidTypeError(f"indices must be dataset indices (ints), got dtype {arr.dtype}: {indices!r}")
    if arr.ndim > 1:
        raise InvalidArgumentError(f"indices must be an int or a 1-D array of ints, got shape {arr.shape}")
    if arr.size and np.issubdtype(arr.dtype, np.signedinteger) and arr.min() < 0:
        raise InvalidArgumentError(f"indices must be >= 0 (dataset indices), got {int(arr.min())}")
    return arr.reshape(-1).astype(np.uint64), np.uint64(epoch), scalar or arr.ndim == 0
