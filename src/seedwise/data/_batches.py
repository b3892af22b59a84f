"""The batch sampler :class:`seedwise.data.DataLoader` hands to torch: batches of ``(epoch, index)`` keys.

The loader plans each pass (the epoch, this rank's indices and where each batch ends)
before it asks torch for an iterator; torch then draws the keys from here, in the main
process, and sends them to its workers with every batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["EpochBatchSampler", "batch_ends"]


def batch_ends(n: int, start: int, batch_size: int | None, drop_last: bool) -> list[int]:
    """The samples behind a pass after each of its batches, for a shard of ``n`` from ``start``."""
    step = batch_size or 1
    ends = list(range(start + step, n + 1, step))
    if (n - start) % step and not drop_last and start < n:
        ends.append(n)
    return ends


class EpochBatchSampler:
    """Yields batches of ``(epoch, index)`` pairs for one planned pass (single pairs when unbatched)."""

    def __init__(self, batch_size: int | None) -> None:
        self.batch_size = batch_size
        self.epoch = 0
        self.indices: np.ndarray = np.empty(0, dtype=np.int64)
        self.start = 0
        self.ends: list[int] = []

    def plan(self, epoch: int, indices: np.ndarray, start: int, ends: list[int]) -> None:
        """Set the pass torch runs next: ``indices[start:]`` of ``epoch``, cut at ``ends``."""
        self.epoch, self.indices, self.start, self.ends = epoch, indices, start, ends

    def __len__(self) -> int:
        return len(self.ends)

    def __iter__(self) -> Iterator[Any]:
        # The plan is bound now (a later plan() must not change a pass torch has started);
        # the pairs are made lazily, a batch at a time, to keep memory flat on big datasets.
        return self._pairs(self.epoch, self.indices, self.start, self.ends)

    def _pairs(self, epoch: int, indices: np.ndarray, start: int, ends: list[int]) -> Iterator[Any]:
        if self.batch_size is None:
            for i in indices[start : ends[-1] if ends else start].tolist():
                yield (epoch, i)
            return
        begin = start
        for end in ends:
            yield [(epoch, i) for i in indices[begin:end].tolist()]
            begin = end
