"""The batch sampler :class:`seedwise.data.DataLoader` hands to torch: batches of ``(epoch, index)`` keys.

The loader plans each pass (the epoch, this rank's indices and where each batch ends)
before it asks torch for an iterator; torch then draws the keys from here, in the main
process, and sends them to its workers with every batch. The same plan gives each
batch's :class:`SampleKeys`, which ``DataLoader(with_keys=True)`` yields beside the batch
(for randomness in the training step keyed by sample, such as per-sample dropout).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

__all__ = ["EpochBatchSampler", "SampleKeys", "batch_ends", "batch_keys"]


class SampleKeys(NamedTuple):
    """Which samples a batch holds: its epoch and the dataset index of each row, in row order.

    ``DataLoader(..., with_keys=True)`` yields ``(keys, batch)``. A sample's keys are the same
    in any batch, on any rank and with any number of processes, which makes them the
    position for randomness in the training step that must follow the sample, not the step:
    ``seedwise.bayes.keyed_dropout(seeds["dropout"], per_sample=keys)``. A pair, so
    ``epoch, indices = keys`` works too.
    """

    epoch: int
    #: int64, one per row of the batch (a single one for unbatched samples)
    indices: np.ndarray


def batch_keys(epoch: int, indices: np.ndarray, start: int, ends: list[int]) -> Iterator[SampleKeys]:
    """The keys of each batch of a pass planned as ``indices[start:]`` cut at ``ends``."""
    begin = start
    for end in ends:
        rows = indices[begin:end].astype(np.int64)  # a copy: the pass's plan stays private
        rows.flags.writeable = False
        yield SampleKeys(epoch, rows)
        begin = end


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
