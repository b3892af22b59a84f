"""The tf.data source's order and shards: seedwise's torch-side order and DistributedSampler layout, without torch."""

from __future__ import annotations

import numpy as np
import pytest

from seedwise import Seeds
from seedwise.data import SeededSampler, epoch_order
from seedwise.data._shard import shard as torch_side_shard
from seedwise.frameworks.tensorflow import _order


@pytest.mark.parametrize("n", [0, 1, 5, 16, 17])
@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_shard_is_the_loaders_layout(n, world_size, drop_last):
    order = np.random.default_rng(n).permutation(n)
    for rank in range(world_size):
        assert np.array_equal(
            _order.shard(order, rank, world_size, drop_last), torch_side_shard(order, rank, world_size, drop_last)
        )


@pytest.mark.parametrize("shuffle", [True, False])
def test_epoch_indices_are_the_samplers(shuffle):
    s = Seeds(5)["data_order"]
    for epoch in (0, 3):
        for rank in range(3):
            sampler = SeededSampler(23, seeds=s, shuffle=shuffle, rank=rank, world_size=3)
            got = _order.epoch_indices(s, epoch, 23, shuffle=shuffle, rank=rank, world_size=3, drop_last=False)
            assert np.array_equal(got, sampler.indices(epoch))
    assert np.array_equal(
        _order.epoch_indices(s, 2, 23, shuffle=True, rank=0, world_size=1, drop_last=False), epoch_order(s, 2, 23)
    )


@pytest.mark.parametrize("drop_last", [False, True])
def test_plan_serves_one_epochs_worth_from_any_batch(drop_last):
    s = Seeds(1)["data_order"]
    n, bs = 23, 4
    per_epoch = _order.batches_per_epoch(n, bs, 1, drop_last)
    assert per_epoch == (5 if drop_last else 6)
    kw = {"batch_size": bs, "shuffle": True, "rank": 0, "world_size": 1, "drop_last": drop_last}
    whole = np.concatenate(
        [
            _order.epoch_indices(s, e, n, shuffle=True, rank=0, world_size=1, drop_last=False)[
                : per_epoch * bs if drop_last else None
            ]
            for e in (2, 3)
        ]
    )
    for start in range(per_epoch):
        rest, following = _order.plan(s, 2, start, n, **kw)
        n_batches = -(-len(rest) // bs) + len(following) // bs
        assert n_batches == per_epoch
        assert np.array_equal(rest, whole[start * bs : (per_epoch * bs if drop_last else n)])
        first_next = per_epoch * bs if drop_last else n
        assert np.array_equal(following, whole[first_next : first_next + start * bs])
