"""``SeededSampler``: a data order that is a pure function of (stream, epoch), sharded by rank.

The global order of epoch ``e`` is ``seedwise.stateless.permutation(seeds, e, n)`` (or
``range(n)`` without shuffling): it does not depend on anything drawn before, so a
resumed process, another rank or another worker count computes the same order.

Sharding follows :class:`torch.utils.data.distributed.DistributedSampler`: the global
order is padded (by repeating its first elements) to a multiple of ``world_size``, or
with ``drop_last=True`` cut down to one, and rank ``r`` takes positions
``r, r + world_size, r + 2 * world_size, ...``. Interleaving the ranks' shards therefore
gives back exactly the single-process order (plus the padding), for any world size; and
batch ``b`` of every rank together is batch ``b`` of one process with a batch
``world_size`` times larger.

Left out, ``rank`` and ``world_size`` come from the initialised ``torch.distributed``
process group, looked up when they are needed rather than when the sampler is built
(see :mod:`seedwise.data._world`).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sized
from typing import Any

import numpy as np
import torch.utils.data

from seedwise._validate import check_int
from seedwise.data._shard import shard, shard_length
from seedwise.data._state import SAMPLER_FORMAT, check_marker, check_same, key_hex, read_int
from seedwise.data._world import check_world, describe_world, resolve_world
from seedwise.data.order import epoch_order
from seedwise.errors import InvalidTypeError
from seedwise.seeds import Seeds, as_seeds

__all__ = ["SeededSampler"]


def _length(data_source: Sized | int) -> int:
    if isinstance(data_source, numbers.Integral) and not isinstance(data_source, bool):
        return check_int("data_source", data_source, low=0)
    try:
        return len(data_source)  # type: ignore[arg-type]  # no __len__: the TypeError below says what to pass
    except TypeError:
        raise InvalidTypeError(
            f"data_source must be a dataset with __len__ or its length (an int), got {type(data_source).__name__}; "
            "an IterableDataset has no indices to order"
        ) from None


class SeededSampler(torch.utils.data.Sampler[int]):
    """Yields this rank's dataset indices for the current epoch, in a seeded order.

    Args:
        data_source: a map-style dataset (anything with ``len``) or its length.
        seeds: the data-order stream. The order of epoch ``e`` is a pure function of
            ``(seeds, e)``. (:class:`seedwise.data.DataLoader` passes
            ``seeds["data_order"]``.)
        shuffle: False gives ``range(n)`` every epoch (still sharded by rank).
        rank: this process's rank in ``[0, world_size)``; None (default): the process
            group's rank, or 0 outside distributed training.
        world_size: the number of ranks sharing the data; None (default): the process
            group's size, or 1 outside distributed training. Under ``torchrun`` (or
            another launcher that sets ``WORLD_SIZE``) before the process group is
            initialised, leaving them out raises instead of giving every rank the same data.
        drop_last: False pads the order to a multiple of ``world_size`` by repeating
            its first elements (every sample is seen, a few twice, as in
            ``DistributedSampler``); True drops the last ``n % world_size`` samples of
            each epoch's order instead (no sample is seen twice).

    Call :meth:`set_epoch` at the start of every epoch (the ``DistributedSampler``
    convention), otherwise every epoch repeats the order of epoch 0. :meth:`state_dict`
    holds the epoch and how many indices this sampler has yielded in it;
    :meth:`load_state_dict` makes the next iteration resume after them. (Behind a
    ``torch`` DataLoader with workers, indices are fetched ahead of the batches you
    consume: use :class:`seedwise.data.DataLoader`, whose state counts consumed batches.)
    """

    def __init__(
        self,
        data_source: Sized | int,
        *,
        seeds: Seeds | int,
        shuffle: bool = True,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
    ) -> None:
        self._n = _length(data_source)
        self.seeds = as_seeds(seeds, "seeds")
        if not isinstance(shuffle, bool):
            raise InvalidTypeError(f"shuffle must be a bool, got {type(shuffle).__name__} {shuffle!r}")
        if not isinstance(drop_last, bool):
            raise InvalidTypeError(f"drop_last must be a bool, got {type(drop_last).__name__} {drop_last!r}")
        self._rank, self._world_size = check_world(rank, world_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.epoch = 0
        self._position = 0  # indices yielded so far in this epoch
        self._resume = False  # next iteration starts at _position (set by load_state_dict)
        self._cache: tuple[int, np.ndarray] | None = None

    # -- the order ------------------------------------------------------------------

    def world(self) -> tuple[int, int]:
        """``(rank, world_size)`` now: as given, else from the process group (see the module doc)."""
        return resolve_world(self._rank, self._world_size)

    @property
    def rank(self) -> int:
        """This process's rank: as given, else the process group's (0 outside distributed training)."""
        return self.world()[0]

    @property
    def world_size(self) -> int:
        """The number of ranks: as given, else the process group's size (1 outside distributed training)."""
        return self.world()[1]

    @property
    def dataset_length(self) -> int:
        """The number of samples in the dataset (all ranks together)."""
        return self._n

    @property
    def total_size(self) -> int:
        """Length of the global order after padding or dropping: ``num_samples * world_size``."""
        return self.num_samples * self.world_size

    @property
    def num_samples(self) -> int:
        """How many indices this rank yields per epoch."""
        return shard_length(self._n, self.world_size, self.drop_last)

    def global_order(self, epoch: int) -> np.ndarray:
        """The single-process order of ``epoch`` (length ``n``, int64, no padding)."""
        epoch = check_int("epoch", epoch, low=0, high=2**64)
        if not self.shuffle:
            return np.arange(self._n, dtype=np.int64)
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        order = epoch_order(self.seeds, epoch, self._n)
        order.setflags(write=False)
        self._cache = (epoch, order)
        return order

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """This rank's indices for ``epoch`` (default: the current one), in order."""
        order = self.global_order(self.epoch if epoch is None else epoch)
        rank, world_size = self.world()
        return shard(order, rank, world_size, self.drop_last)

    # -- Sampler protocol -----------------------------------------------------------

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        start = self._position if self._resume else 0
        self._resume = False
        indices = self.indices()
        self._position = start
        return self._generate(indices, start)

    def _generate(self, indices: np.ndarray, start: int) -> Iterator[int]:
        for i in range(start, len(indices)):
            self._position = i + 1
            yield int(indices[i])

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` from the next iteration on.

        A new epoch starts at its first index. Setting the current epoch again keeps a
        position restored by :meth:`load_state_dict`, so the usual
        ``for epoch in range(start, end): sampler.set_epoch(epoch)`` loop resumes
        correctly after loading.
        """
        epoch = check_int("epoch", epoch, low=0, high=2**64)
        if epoch != self.epoch:
            self.epoch = epoch
            self._position = 0
            self._resume = False

    # -- state ----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the epoch, the position in it, and what the order depends on."""
        return {"seedwise_sampler": SAMPLER_FORMAT, "epoch": self.epoch, "position": self._position, **self._describe()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume at the position saved by :meth:`state_dict` (on the next iteration).

        The position counts this rank's indices, so the state only fits a sampler with
        the same rank and world size. (:class:`seedwise.data.DataLoader` keeps a global
        position and resumes at any world size.)
        """
        check_marker(state, "seedwise_sampler", SAMPLER_FORMAT)
        check_same(state, self._describe())
        epoch = read_int(state, "epoch", high=2**64)
        self.epoch, self._position, self._resume = epoch, read_int(state, "position", high=self.num_samples + 1), True

    def _describe(self) -> dict[str, Any]:
        rank, world_size = self.world()
        return {
            "dataset_length": self._n,
            "shuffle": self.shuffle,
            "rank": rank,
            "world_size": world_size,
            "drop_last": self.drop_last,
            "order_key": key_hex(self.seeds),
        }

    def __repr__(self) -> str:
        world = describe_world(self.world)
        return (
            f"SeededSampler(n={self._n}, seeds={self.seeds!r}, shuffle={self.shuffle}{world}, "
            f"drop_last={self.drop_last}, epoch={self.epoch}, position={self._position})"
        )
