"""Host-to-device transfers of the torch path without a host synchronisation.

Parameters (matrices, colour maps, tables, kernels) are a few numbers per sample,
computed on the host from the stateless draws; on CUDA they travel through pinned memory
with one non-blocking copy each, so the host never waits for the GPU in the middle of a
batch. (Reading values back, as a contrast or an equalisation needs the image means or
histograms, waits once per batch; docs/augment.md lists which ops do.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["to_device"]


def to_device(arr: Any, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``arr`` (a NumPy array) as a tensor on ``like``'s device (of ``dtype`` if given)."""
    import torch

    a = np.ascontiguousarray(arr)
    t = torch.from_numpy(a if a.flags.writeable else a.copy())
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if like.device.type == "cpu":
        return t
    return t.pin_memory().to(like.device, non_blocking=True)
