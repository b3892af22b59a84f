"""SeededSampler: the order is a pure function of (stream, epoch); ranks shard it exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import seedwise as sw
from seedwise import stateless as S
from seedwise.data import SeededSampler
from seedwise.errors import InvalidArgumentError, InvalidTypeError


def test_order_is_the_stateless_permutation_of_the_epoch(test_seed):
    seeds = sw.Seeds(test_seed)["data_order"]
    sampler = SeededSampler(40, seeds=seeds)
    for epoch in (0, 1, 7):
        sampler.set_epoch(epoch)
        assert np.array_equal(np.fromiter(sampler, dtype=np.int64), S.permutation(seeds, epoch, 40))
    assert sorted(sampler) == list(range(40))


def test_same_seeds_same_order_different_seeds_or_epochs_differ(test_seed):
    a = SeededSampler(100, seeds=sw.Seeds(test_seed))
    b = SeededSampler(100, seeds=sw.Seeds(test_seed))
    c = SeededSampler(100, seeds=sw.Seeds(test_seed)["other"])
    assert list(a) == list(b)
    assert list(a) != list(c)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    assert list(a) == list(a)  # without set_epoch the epoch repeats (DistributedSampler convention)


def test_no_shuffle_is_range():
    assert list(SeededSampler(range(6), seeds=sw.Seeds(0), shuffle=False)) == list(range(6))


@pytest.mark.parametrize("world_size", [1, 2, 4])
def test_interleaved_ranks_are_the_single_process_order(world_size, test_seed):
    seeds = sw.Seeds(test_seed)
    n = 48  # divisible: no padding
    single = SeededSampler(n, seeds=seeds)
    single.set_epoch(3)
    shards = []
    for rank in range(world_size):
        s = SeededSampler(n, seeds=seeds, rank=rank, world_size=world_size)
        s.set_epoch(3)
        shards.append(list(s))
    union = [shards[p % world_size][p // world_size] for p in range(n)]
    assert union == list(single)


@settings(max_examples=25)
@given(n=st.integers(0, 40), world_size=st.integers(1, 6), seed=st.integers(0, 2**64 - 1), epoch=st.integers(0, 5))
def test_padding_and_dropping_are_honest(n, world_size, seed, epoch):
    seeds = sw.Seeds(seed)
    order = SeededSampler(n, seeds=seeds).global_order(epoch).tolist()
    padded = [
        SeededSampler(n, seeds=seeds, rank=r, world_size=world_size).indices(epoch).tolist() for r in range(world_size)
    ]
    dropped = [
        SeededSampler(n, seeds=seeds, rank=r, world_size=world_size, drop_last=True).indices(epoch).tolist()
        for r in range(world_size)
    ]
    # Every rank has the same number of indices.
    assert len({len(p) for p in padded}) == 1 and len({len(d) for d in dropped}) == 1
    total = len(padded[0]) * world_size
    union = [padded[p % world_size][p // world_size] for p in range(total)]
    # pad: the whole order, then its first few elements again (as DistributedSampler pads)
    assert union[:n] == order
    assert union[n:] == (order * world_size)[: total - n]
    assert total - n < world_size
    # drop: a prefix of the order, no index twice
    kept = len(dropped[0]) * world_size
    assert [dropped[p % world_size][p // world_size] for p in range(kept)] == order[:kept]
    assert n - kept < world_size


def test_sampler_state_round_trips_through_json(test_seed):
    seeds = sw.Seeds(test_seed)
    a = SeededSampler(30, seeds=seeds, rank=1, world_size=3)
    a.set_epoch(2)
    it = iter(a)
    head = [next(it) for _ in range(4)]
    state = json.loads(json.dumps(a.state_dict()))
    assert state["epoch"] == 2 and state["position"] == 4
    rest = list(it)
    b = SeededSampler(30, seeds=seeds, rank=1, world_size=3)
    b.load_state_dict(state)
    b.set_epoch(2)  # same epoch: keeps the restored position
    assert list(b) == rest
    assert list(b) == head + rest  # the next pass starts over
    b.load_state_dict(state)
    b.set_epoch(3)  # another epoch starts at its beginning
    assert list(b) == b.indices(3).tolist()


def test_state_from_another_configuration_is_refused(test_seed):
    state = SeededSampler(30, seeds=sw.Seeds(test_seed)).state_dict()
    with pytest.raises(InvalidArgumentError, match="different seeds"):
        SeededSampler(30, seeds=sw.Seeds(test_seed)["x"]).load_state_dict(state)
    with pytest.raises(InvalidArgumentError, match="dataset_length"):
        SeededSampler(31, seeds=sw.Seeds(test_seed)).load_state_dict(state)
    with pytest.raises(InvalidArgumentError, match="position"):
        SeededSampler(30, seeds=sw.Seeds(test_seed)).load_state_dict({**state, "position": 31})
    with pytest.raises(InvalidArgumentError, match="state_dict"):
        SeededSampler(30, seeds=sw.Seeds(test_seed)).load_state_dict({"epoch": 0})


def test_sampler_leaves_global_rngs_alone(test_seed):
    before = (torch.get_rng_state(), np.random.get_state()[1].copy())  # global-rng-ok: reading only
    list(SeededSampler(1000, seeds=sw.Seeds(test_seed)))
    assert torch.equal(before[0], torch.get_rng_state())
    assert np.array_equal(before[1], np.random.get_state()[1])  # global-rng-ok


def test_sampler_validates_its_arguments():
    with pytest.raises(InvalidArgumentError, match=r"rank must be in \[0, world_size\)"):
        SeededSampler(10, seeds=sw.Seeds(0), rank=2, world_size=2)
    with pytest.raises(InvalidArgumentError, match="world_size"):
        SeededSampler(10, seeds=sw.Seeds(0), world_size=0)
    with pytest.raises(InvalidTypeError, match="seeds is required"):
        SeededSampler(10, seeds=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="shuffle must be a bool"):
        SeededSampler(10, seeds=sw.Seeds(0), shuffle=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="IterableDataset"):
        SeededSampler(iter(range(3)), seeds=sw.Seeds(0))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="epoch"):
        SeededSampler(10, seeds=sw.Seeds(0)).set_epoch(-1)


def test_sampler_repr_is_readable():
    text = repr(SeededSampler(10, seeds=sw.Seeds(3)["data_order"], rank=1, world_size=2))
    assert text == (
        "SeededSampler(n=10, seeds=Seeds(3)['data_order'], shuffle=True, rank=1, world_size=2, "
        "drop_last=False, epoch=0, position=0)"
    )


def test_known_answer_order():
    # Frozen: a seed must give the same data order in every release.
    seeds = sw.Seeds(0)["data_order"]
    assert SeededSampler(10, seeds=seeds).indices(0).tolist() == [9, 0, 5, 4, 3, 7, 2, 6, 1, 8]
    assert SeededSampler(10, seeds=seeds).indices(1).tolist() == [4, 3, 5, 8, 2, 9, 0, 6, 1, 7]
    # padded to 12 with [9, 0]; rank 1 of 4 takes positions 1, 5, 9
    assert SeededSampler(10, seeds=seeds, rank=1, world_size=4).indices(0).tolist() == [0, 7, 8]
