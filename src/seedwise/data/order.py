"""The data order of an epoch, whole or cut into batches: what every training loop iterates.

The order of epoch ``e`` over ``n`` samples is ``seedwise.stateless.permutation(seeds, e, n)``:
a pure function of (stream, epoch), so a resumed run, another rank or another process
computes the same order without any saved RNG state. :func:`epoch_batches` cuts it into
consecutive batches; a training loop written by hand needs nothing else::

    for epoch in range(epochs):
        for idx in sw.data.epoch_batches(seeds["data_order"], epoch, len(x), batch_size=64):
            loss = loss_fn(model(x[idx]), y[idx])
            ...

Given a list of K streams (one per ensemble member), both functions return K orders at
once, one row per stream: member ``i``'s order depends on its own stream only, so it is the
same whatever K is. :class:`seedwise.data.SeededSampler` computes the same order and shards
it by rank for torch's ``DataLoader``.
"""

from __future__ import annotations

import numpy as np

from seedwise import stateless
from seedwise._validate import check_bool, check_int
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import SeedLike, Seeds, as_seeds

__all__ = ["epoch_order", "epoch_batches"]

#: One data-order stream, or one per ensemble member.
Streams = SeedLike | list[SeedLike] | tuple[SeedLike, ...]


def _streams(seeds: Streams) -> Seeds | list[Seeds]:
    if isinstance(seeds, (list, tuple)):
        if not seeds:
            raise InvalidArgumentError("seeds must be a stream or a non-empty list of streams (one per member), got []")
        return [as_seeds(s, f"seeds[{i}]") for i, s in enumerate(seeds)]
    return as_seeds(seeds, "seeds")


def epoch_order(seeds: Streams, epoch: int, n: int) -> np.ndarray:
    """The sample order of ``epoch``: ``stateless.permutation(seeds, epoch, n)``, int64 ``(n,)``.

    Args:
        seeds: the data-order stream (e.g. ``root["data_order"]``), or a list of K streams
            for K orders at once: then the result is ``(K, n)``, row ``i`` the order of
            ``seeds[i]``.
        epoch: the epoch (``>= 0``); each epoch has its own order.
        n: the number of samples.
    """
    streams = _streams(seeds)
    e = check_int("epoch", epoch, low=0)
    size = check_int("n", n, low=0)
    if isinstance(streams, Seeds):
        return stateless.permutation(streams, e, size)
    return np.stack([stateless.permutation(s, e, size) for s in streams])


def epoch_batches(seeds: Streams, epoch: int, n: int, batch_size: int, *, drop_last: bool = False) -> list[np.ndarray]:
    """:func:`epoch_order` cut into consecutive batches of ``batch_size`` indices.

    Batch ``b`` is ``order[..., b * batch_size : (b + 1) * batch_size]`` (a view): ``(B,)``
    for one stream, ``(K, B)`` for a list of K streams. The last batch is shorter when
    ``batch_size`` does not divide ``n``; ``drop_last=True`` leaves it out. Concatenated,
    the batches are the epoch's order, so the batch size never changes which sample comes
    when.
    """
    order = epoch_order(seeds, epoch, n)
    size = check_int("batch_size", batch_size, low=1)
    length = order.shape[-1]
    stop = length - length % size if check_bool("drop_last", drop_last) else length
    return [order[..., start : start + size] for start in range(0, stop, size)]
