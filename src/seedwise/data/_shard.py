"""Sharding an epoch's global order across ranks: pure functions of (order, rank, world size, origin).

The layout, as in :class:`torch.utils.data.distributed.DistributedSampler`: the global
order from position ``origin`` on is padded to a multiple of ``world_size`` by repeating
the first elements of the order (or, with ``drop_last``, cut down to one), and rank ``r``
takes positions ``origin + r``, ``origin + r + world_size``, ... Interleaving the ranks'
shards gives back the global order from ``origin`` (plus the padding).

``origin`` is 0 for an epoch run from its start. A loader resumed at global position
``p`` on ``world_size`` ranks uses ``origin = p % world_size`` and starts every rank
``p // world_size`` samples into its shard, so that the ranks continue exactly at ``p``
and all have the same number of samples left (a rank with fewer batches than the
others would hang the collective operations of distributed training).
"""

from __future__ import annotations

import numpy as np

__all__ = ["shard", "shard_length"]


def shard_length(n: int, world_size: int, drop_last: bool, origin: int = 0) -> int:
    """How many positions each rank takes from the global order of ``n`` samples, starting at ``origin``."""
    rest = max(n - origin, 0)
    return rest // world_size if drop_last else -(-rest // world_size)


def shard(order: np.ndarray, rank: int, world_size: int, drop_last: bool, origin: int = 0) -> np.ndarray:
    """Rank ``rank``'s indices of ``order`` (the global order of one epoch), from ``origin`` on."""
    n = len(order)
    total = shard_length(n, world_size, drop_last, origin) * world_size
    rest = order[origin:]
    if total > len(rest):  # pad by repeating the start of the order, as DistributedSampler does
        reps = -(-(total - len(rest)) // max(n, 1))
        rest = np.concatenate([rest, np.tile(order, reps)[: total - len(rest)]]) if n else rest
    return rest[rank:total:world_size]
