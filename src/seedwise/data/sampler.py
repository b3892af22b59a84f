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
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sized
from typing import Any

import numpy as np
import torch.utils.data

from seedwise import stateless
from seedwise._validate import check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds, as_seeds

__all__ = ["SeededSampler"]

_STATE_FORMAT = 1


def _length(data_source: Sized | int) -> int:
    if isinstance(data_source, numbers.Integral) and not isinstance(data_source, bool):
        return check_int("data_source", data_source, low=0)
    try:
        return len(data_source)  # type: ignore[arg-type]
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
        rank: this process's rank in ``[0, world_size)``.
        world_size: the number of ranks sharing the data.
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
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
    ) -> None:
        self._n = _length(data_source)
        self.seeds = as_seeds(seeds, "seeds")
        if not isinstance(shuffle, bool):
            raise InvalidTypeError(f"shuffle must be a bool, got {type(shuffle).__name__} {shuffle!r}")
        if not isinstance(drop_last, bool):
            raise InvalidTypeError(f"drop_last must be a bool, got {type(drop_last).__name__} {drop_last!r}")
        self.world_size = check_int("world_size", world_size, low=1)
        self.rank = check_int("rank", rank, low=0)
        if self.rank >= self.world_size:
            raise InvalidArgumentError(
                f"rank must be in [0, world_size) = [0, {self.world_size}), got rank={self.rank}; ranks count from 0"
            )
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.epoch = 0
        self._position = 0  # indices yielded so far in this epoch
        self._resume = False  # next iteration starts at _position (set by load_state_dict)
        self._cache: tuple[int, np.ndarray] | None = None

    # -- the order ------------------------------------------------------------------

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
        if self.drop_last:
            return self._n // self.world_size
        return -(-self._n // self.world_size)

    def global_order(self, epoch: int) -> np.ndarray:
        """The single-process order of ``epoch`` (length ``n``, int64, no padding)."""
        epoch = check_int("epoch", epoch, low=0, high=2**64)
        if not self.shuffle:
            return np.arange(self._n, dtype=np.int64)
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        order = stateless.permutation(self.seeds, epoch, self._n)
        order.setflags(write=False)
        self._cache = (epoch, order)
        return order

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """This rank's indices for ``epoch`` (default: the current one), in order."""
        order = self.global_order(self.epoch if epoch is None else epoch)
        total = self.total_size
        if total > self._n:  # pad by repeating the start of the order, as DistributedSampler does
            reps = -(-total // max(self._n, 1))
            order = np.tile(order, reps)[:total] if self._n else order
        else:
            order = order[:total]
        return order[self.rank : total : self.world_size]

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
        return {
            "seedwise_sampler": _STATE_FORMAT,
            "epoch": self.epoch,
            "position": self._position,
            "dataset_length": self._n,
            "shuffle": self.shuffle,
            "rank": self.rank,
            "world_size": self.world_size,
            "drop_last": self.drop_last,
            "order_key": _key_hex(self.seeds),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume at the position saved by :meth:`state_dict` (on the next iteration)."""
        epoch, position = _check_state(state, "seedwise_sampler", self._describe(), self.num_samples, "position")
        self.epoch, self._position, self._resume = epoch, position, True

    def _describe(self) -> dict[str, Any]:
        return {
            "dataset_length": self._n,
            "shuffle": self.shuffle,
            "rank": self.rank,
            "world_size": self.world_size,
            "drop_last": self.drop_last,
            "order_key": _key_hex(self.seeds),
        }

    def __repr__(self) -> str:
        shard = f", rank={self.rank}, world_size={self.world_size}" if self.world_size > 1 else ""
        return (
            f"SeededSampler(n={self._n}, seeds={self.seeds!r}, shuffle={self.shuffle}{shard}, "
            f"drop_last={self.drop_last}, epoch={self.epoch}, position={self._position})"
        )


def _key_hex(seeds: Seeds) -> str:
    return "".join(f"{int(w):016x}" for w in seeds.key)


def _check_state(
    state: object, marker: str, expected: dict[str, Any], limit: int, position_key: str
) -> tuple[int, int]:
    """Validate a saved state against this sampler/loader; return (epoch, position)."""
    if not isinstance(state, dict):
        raise InvalidTypeError(f"state must be a dict from state_dict(), got {type(state).__name__}")
    version = state.get(marker)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidArgumentError(
            f"not a {marker} state (no {marker!r} format field); pass the dict state_dict() returned"
        )
    if version > _STATE_FORMAT:
        raise InvalidArgumentError(f"this state was written by a newer seedwise (format {version}); upgrade seedwise")
    for key, value in expected.items():
        if key not in state:
            raise InvalidArgumentError(f"state has no {key!r}; pass the dict state_dict() returned")
        if state[key] != value:
            what = "seeds" if key == "order_key" else key
            raise InvalidArgumentError(
                f"state was saved with a different {what} ({state[key]!r}, this one has {value!r}); "
                f"the saved position only means something for the same {what}: build the loader as it was"
            )
    try:
        epoch = check_int("state['epoch']", state["epoch"], low=0, high=2**64)
        position = check_int(f"state[{position_key!r}]", state[position_key], low=0, high=limit + 1)
    except KeyError as exc:
        raise InvalidArgumentError(f"state has no {exc.args[0]!r}; pass the dict state_dict() returned") from None
    return epoch, position
