"""epoch_order / epoch_batches: the one data-order path of the training loops, pinned bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import seedwise as sw
from seedwise import stateless as S
from seedwise.data import SeededSampler, epoch_batches, epoch_order
from seedwise.errors import InvalidArgumentError, InvalidTypeError


def test_known_answers():
    stream = sw.Seeds(0)["data_order"]
    assert epoch_order(stream, 0, 10).tolist() == [9, 0, 5, 4, 3, 7, 2, 6, 1, 8]
    assert [b.tolist() for b in epoch_batches(stream, 1, 10, 4)] == [[4, 3, 5, 8], [2, 9, 0, 6], [1, 7]]
    members = [sw.Seeds(0)[i]["data_order"] for i in range(2)]
    got = [b.tolist() for b in epoch_batches(members, 1, 10, 4, drop_last=True)]
    assert got == [[[0, 1, 2, 3], [4, 2, 0, 7]], [[9, 5, 4, 7], [5, 6, 9, 8]]]


@pytest.mark.parametrize(("n", "batch_size"), [(10, 4), (12, 4), (7, 1), (3, 8), (0, 5)])
def test_batches_are_the_stateless_permutation_cut_in_order(n, batch_size, test_seed):
    stream = sw.Seeds(test_seed)["data_order"]
    for epoch in (0, 3):
        order = S.permutation(stream, epoch, n)
        assert np.array_equal(epoch_order(stream, epoch, n), order)
        batches = epoch_batches(stream, epoch, n, batch_size)
        assert len(batches) == -(-n // batch_size)
        assert all(b.dtype == np.int64 and len(b) == batch_size for b in batches[:-1])
        assert np.array_equal(np.concatenate(batches) if batches else np.zeros(0, np.int64), order)
        kept = epoch_batches(stream, epoch, n, batch_size, drop_last=True)
        assert len(kept) == n // batch_size and all(len(b) == batch_size for b in kept)
        assert np.array_equal(np.concatenate(kept) if kept else np.zeros(0, np.int64), order[: len(kept) * batch_size])


def test_the_sampler_has_the_same_order(test_seed):
    stream = sw.Seeds(test_seed)["data_order"]
    sampler = SeededSampler(50, seeds=stream)
    sampler.set_epoch(2)
    assert np.array_equal(np.fromiter(sampler, dtype=np.int64), np.concatenate(epoch_batches(stream, 2, 50, 16)))


def test_one_row_per_stream_independent_of_how_many(test_seed):
    root = sw.Seeds(test_seed)
    streams = [root[i]["data_order"] for i in range(4)]
    orders = epoch_order(streams, 1, 30)
    assert orders.shape == (4, 30) and len({tuple(o) for o in orders}) == 4
    for i, stream in enumerate(streams):
        assert np.array_equal(orders[i], epoch_order(stream, 1, 30))
    assert np.array_equal(epoch_order(streams[:2], 1, 30), orders[:2])  # row i does not depend on K
    batches = epoch_batches(tuple(streams), 1, 30, 8)
    assert [b.shape for b in batches] == [(4, 8), (4, 8), (4, 8), (4, 6)]
    assert np.array_equal(np.concatenate(batches, axis=1), orders)


def test_same_seeds_same_order_other_seeds_or_epochs_differ(test_seed):
    stream = sw.Seeds(test_seed)["data_order"]
    assert np.array_equal(epoch_order(stream, 0, 100), epoch_order(stream, 0, 100))
    assert np.array_equal(epoch_order(test_seed, 0, 100), epoch_order(sw.Seeds(test_seed), 0, 100))  # an int seed
    assert not np.array_equal(epoch_order(stream, 0, 100), epoch_order(sw.Seeds(test_seed)["other"], 0, 100))
    assert not np.array_equal(epoch_order(stream, 0, 100), epoch_order(stream, 1, 100))


def test_leaves_global_rngs_alone(test_seed):
    before = (torch.get_rng_state(), np.random.get_state()[1].copy())  # global-rng-ok: reading only
    epoch_batches([sw.Seeds(test_seed)[i] for i in range(3)], 0, 1000, 64)
    assert torch.equal(before[0], torch.get_rng_state())
    assert np.array_equal(before[1], np.random.get_state()[1])  # global-rng-ok


def test_validates_its_arguments():
    stream = sw.Seeds(0)
    with pytest.raises(InvalidTypeError, match="seeds is required"):
        epoch_order(None, 0, 10)  # type: ignore[arg-type]  # the error under test
    with pytest.raises(InvalidArgumentError, match="non-empty list of streams"):
        epoch_order([], 0, 10)
    with pytest.raises(InvalidTypeError, match=r"seeds\[1\]"):
        epoch_order([stream, 2.5], 0, 10)  # type: ignore[list-item]  # the error under test
    with pytest.raises(InvalidArgumentError, match="epoch must be >= 0"):
        epoch_order(stream, -1, 10)
    with pytest.raises(InvalidTypeError, match="n must be an int"):
        epoch_order(stream, 0, 10.0)  # type: ignore[arg-type]  # the error under test
    with pytest.raises(InvalidArgumentError, match="batch_size must be >= 1"):
        epoch_batches(stream, 0, 10, 0)
    with pytest.raises(InvalidTypeError, match="drop_last must be True or False"):
        epoch_batches(stream, 0, 10, 2, drop_last=1)  # type: ignore[arg-type]  # the error under test
