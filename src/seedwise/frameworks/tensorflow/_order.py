"""Which samples a tf.data source serves, and in which order: pure functions of (stream, epoch, rank).

The order of epoch ``e`` over ``n`` samples is ``seedwise.stateless.permutation(seeds, e, n)``,
the order :func:`seedwise.data.epoch_order` gives torch users, and it is sharded across
ranks in the layout of :mod:`seedwise.data._shard` (``DistributedSampler``'s: the order is
padded to a multiple of ``world_size`` by repeating its start, or cut with ``drop_last``,
and rank ``r`` takes positions ``r, r + world_size, ...``). ``seedwise.data`` imports
torch, which a TensorFlow process should not pay for, so the few lines of the layout
are repeated here; a test checks that both give the same shards.

An iterator of the source always serves :func:`batches_per_epoch` batches, starting at a
batch of an epoch (:func:`plan`): the rest of that epoch, then as many batches of the next
epoch as were skipped. So a tf.data pipeline that starts mid-epoch after a resume still
has the length Keras was told, and what it serves is always the run's own sequence.
"""

from __future__ import annotations

import numpy as np

from seedwise import stateless
from seedwise.seeds import Seeds

__all__ = ["shard", "epoch_indices", "batches_per_epoch", "plan"]


def shard(order: np.ndarray, rank: int, world_size: int, drop_last: bool) -> np.ndarray:
    """Rank ``rank``'s positions of ``order`` (``DistributedSampler``'s layout, as ``seedwise.data``)."""
    n = len(order)
    per_rank = n // world_size if drop_last else -(-n // world_size)
    total = per_rank * world_size
    if total > n and n:
        order = np.concatenate([order, np.tile(order, -(-(total - n) // n))[: total - n]])
    return order[rank:total:world_size]


def epoch_indices(
    seeds: Seeds, epoch: int, n: int, *, shuffle: bool, rank: int, world_size: int, drop_last: bool
) -> np.ndarray:
    """This rank's dataset indices for ``epoch``, in order (int64)."""
    order = stateless.permutation(seeds, epoch, n) if shuffle else np.arange(n, dtype=np.int64)
    return shard(order, rank, world_size, drop_last)


def batches_per_epoch(n: int, batch_size: int, world_size: int, drop_last: bool) -> int:
    """How many batches one rank serves per epoch."""
    per_rank = n // world_size if drop_last else -(-n // world_size)
    return per_rank // batch_size if drop_last else -(-per_rank // batch_size)


def plan(
    seeds: Seeds,
    epoch: int,
    start: int,
    n: int,
    *,
    batch_size: int,
    shuffle: bool,
    rank: int,
    world_size: int,
    drop_last: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The indices an iterator starting at batch ``start`` of ``epoch`` serves: ``(rest, next)``.

    ``rest`` is epoch ``epoch`` from batch ``start`` on, ``next`` the first ``start``
    batches of epoch ``epoch + 1``; each is cut into batches on its own, so a short last
    batch of ``rest`` stays short.
    """
    per_epoch = batches_per_epoch(n, batch_size, world_size, drop_last)

    def indices(e: int) -> np.ndarray:
        return epoch_indices(seeds, e, n, shuffle=shuffle, rank=rank, world_size=world_size, drop_last=drop_last)

    rest = indices(epoch)[start * batch_size : per_epoch * batch_size]
    if start == 0:
        return rest, np.zeros(0, dtype=np.int64)
    return rest, indices(epoch + 1)[: start * batch_size]
