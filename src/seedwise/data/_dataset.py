"""The dataset view :class:`seedwise.data.DataLoader` hands to torch: indexed by (epoch, index).

The loader's batch sampler yields ``(epoch, index)`` pairs instead of bare indices, so
the epoch travels with every sample into the worker processes -- also persistent ones,
which torch starts once and never tells about a new epoch. This view unpacks the pair,
reseeds the worker's global RNGs when a new epoch's first sample arrives, and asks the
wrapped dataset for ``dataset[index]`` (or, for an augmented dataset that keys its
random parameters by them, for ``dataset[(epoch, index)]``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import torch.utils.data

from seedwise.data._sample_globals import SampleGlobals
from seedwise.data._workers import seed_globals
from seedwise.seeds import Seeds

__all__ = ["EpochIndexedDataset", "is_epoch_keyed"]


def is_epoch_keyed(dataset: object) -> bool:
    """Whether ``dataset`` asks for ``(epoch, index)`` pairs.

    True for a :class:`seedwise.augment.AugmentedDataset` and for any dataset whose
    ``seedwise_epoch_keyed`` attribute is True.
    """
    if getattr(dataset, "seedwise_epoch_keyed", False) is True:
        return True
    augment = sys.modules.get("seedwise.augment.dataset")  # if it is not imported, dataset cannot be one
    return augment is not None and isinstance(dataset, augment.AugmentedDataset)


class EpochIndexedDataset(torch.utils.data.Dataset[Any]):
    """``view[(epoch, index)]`` is ``dataset[index]`` (or ``dataset[(epoch, index)]`` when ``keyed``).

    Args:
        dataset: the map-style dataset.
        keyed: whether ``dataset`` takes the ``(epoch, index)`` pair itself (an
            :class:`seedwise.augment.AugmentedDataset` does, and so does any dataset
            that sets ``seedwise_epoch_keyed = True``).
        worker_seeds: the stream whose child ``[epoch][worker_id]`` seeds a worker's
            globals; None leaves the globals as torch set them.
        sample_seeds: if given, every sample is made with the global RNGs seeded from
            ``(sample_seeds, epoch, index)``, restored afterwards (see
            :class:`~seedwise.data._sample_globals.SampleGlobals`).
    """

    def __init__(
        self, dataset: Any, *, keyed: bool, worker_seeds: Seeds | None, sample_seeds: Seeds | None = None
    ) -> None:
        self.dataset = dataset
        self.keyed = keyed
        self.worker_seeds = worker_seeds
        self.sample_seeds = sample_seeds
        self._sample = SampleGlobals(sample_seeds) if sample_seeds is not None else None
        # Set only in worker processes, by the worker_init_fn.
        self._worker_id: int | None = None
        self._seeded_epoch: int | None = None

    def _seedwise_seed_worker(self, epoch: int, worker_id: int) -> None:
        """Seed this worker's globals for ``epoch`` (called in the worker process only)."""
        self._worker_id = worker_id
        self._seeded_epoch = epoch
        if self.worker_seeds is not None:
            seed_globals(self.worker_seeds[epoch][worker_id])

    def _enter(self, epoch: int) -> None:
        if self._worker_id is not None and epoch != self._seeded_epoch:
            self._seedwise_seed_worker(epoch, self._worker_id)

    def _fetch(self, key: tuple[int, int]) -> Any:
        return self.dataset[key] if self.keyed else self.dataset[key[1]]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        self._enter(key[0])
        if self._sample is not None:
            return self._sample.run(self._fetch, [key])[0]
        return self._fetch(key)

    @property
    def __getitems__(self) -> Callable[[Sequence[tuple[int, int]]], list[Any]]:
        """Fetch a whole batch in one call (torch's fetcher uses it when present).

        One call per batch keeps the view's cost per sample at that of a list
        comprehension; a wrapped dataset's own ``__getitems__`` is forwarded.
        """
        return self._getitems

    def _getitems(self, keys: Sequence[tuple[int, int]]) -> list[Any]:
        if not keys:
            return []
        self._enter(keys[0][0])  # a batch never spans two epochs
        if self._sample is not None:  # the globals are set per sample
            return self._sample.run(self._fetch, keys)
        batched: Callable[[list[Any]], list[Any]] | None = getattr(self.dataset, "__getitems__", None)
        if self.keyed:
            if batched:
                return batched(list(keys))
            get = self.dataset.__getitem__
            return [get(key) for key in keys]
        if batched:
            return batched([index for _, index in keys])
        get = self.dataset.__getitem__
        return [get(index) for _, index in keys]

    def __len__(self) -> int:
        return len(self.dataset)

    def __repr__(self) -> str:
        return f"EpochIndexedDataset({self.dataset!r}, keyed={self.keyed})"
