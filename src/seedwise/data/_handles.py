"""What a trainer reaches through a loader: its ``sampler`` and ``batch_sampler``.

Trainers signal a new epoch in different places: Lightning calls
``loader.sampler.set_epoch(e)`` (and ``loader.batch_sampler.sampler.set_epoch(e)``),
Accelerate's loaders call ``batch_sampler.set_epoch``, the Hugging Face ``Trainer`` calls
``loader.set_epoch``. Every one of them moves the seedwise loader, so no trainer repeats
epoch 0 because it called the "wrong" one.

The batches themselves are the loader's: they travel as ``(epoch, index)`` keys through
a view of the dataset, and the loader counts what it served for exact resumption. A
torch ``DataLoader`` rebuilt from ``loader.batch_sampler`` (what ``accelerate``'s
``skip_first_batches`` and Lightning's sampler injection do to a torch loader) would lose
all of that, so iterating the ``batch_sampler`` raises instead of silently feeding keys
to a dataset that does not expect them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sized
from typing import Any

from seedwise.data.sampler import SeededSampler
from seedwise.errors import InvalidTypeError
from seedwise.seeds import Seeds

__all__ = ["LoaderSampler", "BatchSamplerView"]


class LoaderSampler(SeededSampler):
    """The :class:`SeededSampler` of a loader: ``set_epoch`` on it moves the loader too."""

    def __init__(
        self,
        data_source: Sized | int,
        *,
        seeds: Seeds,
        shuffle: bool,
        rank: int | None,
        world_size: int | None,
        drop_last: bool,
        on_epoch: Callable[[int], None],
    ) -> None:
        super().__init__(
            data_source, seeds=seeds, shuffle=shuffle, rank=rank, world_size=world_size, drop_last=drop_last
        )
        # A weak reference: the loader owns its sampler, not the other way round.
        self._on_epoch = weakref.WeakMethod(on_epoch)

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` from the next iteration on, in this sampler and its loader."""
        super().set_epoch(epoch)
        callback = self._on_epoch()
        if callback is not None:
            callback(self.epoch)


class BatchSamplerView:
    """``loader.batch_sampler``: ``set_epoch``, ``sampler``, ``batch_size``, ``drop_last`` and ``len``; not iterable."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    @property
    def sampler(self) -> SeededSampler:
        """The loader's sampler (Lightning calls ``batch_sampler.sampler.set_epoch``)."""
        sampler: SeededSampler = self._loader.sampler
        return sampler

    @property
    def batch_size(self) -> int | None:
        size: int | None = self._loader.batch_size
        return size

    @property
    def drop_last(self) -> bool:
        return bool(self._loader.drop_last)

    def set_epoch(self, epoch: int) -> None:
        """Move the loader to ``epoch`` (as ``loader.set_epoch``)."""
        self._loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self._loader)

    def __iter__(self) -> Iterator[Any]:
        raise InvalidTypeError(
            "the batch_sampler of a seedwise.data.DataLoader cannot be iterated on its own: a torch DataLoader "
            "rebuilt from it would lose seedwise's (epoch, index) keys, augmentation and resume position. "
            "Iterate the seedwise loader itself; a trainer that rebuilds loaders needs its seedwise integration"
        )

    def __repr__(self) -> str:
        return f"BatchSamplerView(batch_size={self.batch_size}, drop_last={self.drop_last})"
