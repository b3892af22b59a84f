"""seedwise.data.DataLoader: same seeds, same batches, whatever the workers, batch size or ranks."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from data_loader_kit import KeyedNoise, Tiny, collect

import seedwise as sw
from seedwise.data import DataLoader

# Tests start more workers than a small CI machine has cores; torch warns, the tests need them.
pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")


def _globals():
    return (
        torch.get_rng_state(),
        np.random.get_state()[1].copy(),  # global-rng-ok: reading only
        random.getstate(),
    )


def _assert_globals_equal(a, b):
    assert torch.equal(a[0], b[0])
    assert np.array_equal(a[1], b[1])
    assert a[2] == b[2]


def test_same_batches_for_any_number_of_workers(test_seed):
    seeds = sw.Seeds(test_seed)
    dataset = KeyedNoise(26, seeds=seeds["augment"])
    reference = None
    for num_workers in (0, 1, 2, 3):
        loader = DataLoader(dataset, batch_size=4, shuffle=True, seeds=seeds, num_workers=num_workers)
        loader.set_epoch(1)
        batches = list(loader)
        if reference is None:
            reference = batches
            continue
        assert len(batches) == len(reference) == 7
        for (x, y), (rx, ry) in zip(batches, reference):
            assert torch.equal(x, rx) and torch.equal(y, ry)


def test_same_samples_for_any_batch_size(test_seed):
    seeds = sw.Seeds(test_seed)
    dataset = KeyedNoise(40, seeds=seeds["augment"])
    runs = []
    for batch_size in (1, 7, 32):
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, seeds=seeds)
        loader.set_epoch(2)
        runs.append(collect(loader))
    for x, y in runs[1:]:
        assert torch.equal(x, runs[0][0]) and torch.equal(y, runs[0][1])
    assert sorted(runs[0][1].tolist()) == sorted(i % 5 for i in range(40))


@pytest.mark.parametrize("world_size", [1, 2, 4])
def test_ranks_together_are_the_single_process_run(world_size, test_seed):
    seeds = sw.Seeds(test_seed)
    dataset = KeyedNoise(32, seeds=seeds["augment"])
    single = DataLoader(dataset, batch_size=8, shuffle=True, seeds=seeds)
    single.set_epoch(1)
    x1, y1 = collect(single)
    per_rank = []
    for rank in range(world_size):
        loader = DataLoader(
            dataset, batch_size=8 // world_size, shuffle=True, seeds=seeds, rank=rank, world_size=world_size
        )
        loader.set_epoch(1)
        per_rank.append(collect(loader))
    # Rank r holds positions r, r + world_size, ... of the global order.
    x = torch.stack([per_rank[p % world_size][0][p // world_size] for p in range(32)])
    y = torch.stack([per_rank[p % world_size][1][p // world_size] for p in range(32)])
    assert torch.equal(x, x1) and torch.equal(y, y1)


def test_different_seeds_or_epochs_give_different_orders(test_seed):
    seeds = sw.Seeds(test_seed)
    dataset = Tiny(40)

    def labels(loader_seeds, epoch):
        loader = DataLoader(dataset, batch_size=40, shuffle=True, seeds=loader_seeds)
        loader.set_epoch(epoch)
        return next(iter(loader))[0][:, 0, 0, 0]

    same = labels(seeds, 0)
    assert torch.equal(same, labels(sw.Seeds(test_seed), 0))
    assert not torch.equal(same, labels(seeds, 1))
    assert not torch.equal(same, labels(seeds.override(data_order=test_seed + 1), 0))
    # The order is the data_order stream only: another stream's override changes nothing.
    assert torch.equal(same, labels(seeds.override(augment=1), 0))


def test_no_shuffle_keeps_the_dataset_order():
    loader = DataLoader(Tiny(10), batch_size=3, seeds=sw.Seeds(0))
    x, _ = collect(loader)
    assert torch.equal(x[:, 0, 0, 0], torch.arange(10, dtype=torch.float32) * 100)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_iterating_leaves_the_callers_global_rngs_alone(num_workers, test_seed):
    before = _globals()
    loader = DataLoader(
        KeyedNoise(20, seeds=sw.Seeds(test_seed)),
        batch_size=3,
        shuffle=True,
        seeds=sw.Seeds(test_seed),
        num_workers=num_workers,
    )
    for _ in range(2):
        for _batch in loader:
            pass
        loader.set_epoch(loader.epoch + 1)
    _assert_globals_equal(before, _globals())


def test_the_plain_torch_loader_does_touch_them():
    # The reason the test above matters: torch draws its base seed from the global RNG.
    before = _globals()
    for _ in torch.utils.data.DataLoader(Tiny(4), batch_size=2):
        pass
    assert not torch.equal(before[0], torch.get_rng_state())


def test_drop_last_and_unbatched(test_seed):
    seeds = sw.Seeds(test_seed)
    loader = DataLoader(Tiny(10), batch_size=4, shuffle=True, seeds=seeds, drop_last=True)
    assert len(loader) == 2 and [len(y) for _, y in loader] == [4, 4]
    unbatched = DataLoader(Tiny(10), batch_size=None, shuffle=True, seeds=seeds)
    assert len(unbatched) == 10
    samples = list(unbatched)
    x, _ = collect(DataLoader(Tiny(10), batch_size=10, shuffle=True, seeds=seeds))
    assert torch.equal(torch.stack([s[0] for s in samples]), x)


def test_torch_arguments_pass_through(test_seed):
    def collate(batch):
        return torch.stack([x for x, _ in batch]).sum()

    loader = DataLoader(Tiny(6), batch_size=3, seeds=sw.Seeds(test_seed), collate_fn=collate)
    assert [float(v) for v in loader] == [float(sum(Tiny(6)[i][0].sum() for i in r)) for r in ([0, 1, 2], [3, 4, 5])]


def test_batched_fetching_is_forwarded(test_seed):
    class Batched(Tiny):
        calls = 0

        def __getitems__(self, indices):
            type(self).calls += 1
            return [self[i] for i in indices]

    loader = DataLoader(Batched(9), batch_size=3, shuffle=True, seeds=sw.Seeds(test_seed))
    x, _ = collect(loader)
    assert Batched.calls == 3
    assert torch.equal(x, collect(DataLoader(Tiny(9), batch_size=3, shuffle=True, seeds=sw.Seeds(test_seed)))[0])


def test_auto_epoch_advances_after_each_complete_pass(test_seed):
    seeds = sw.Seeds(test_seed)
    auto = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds, auto_epoch=True)
    manual = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds)
    for epoch in range(3):
        manual.set_epoch(epoch)
        assert auto.epoch == epoch
        assert torch.equal(collect(auto)[0], collect(manual)[0])
    assert auto.epoch == 3
