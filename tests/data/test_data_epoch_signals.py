"""The epoch follows whatever signal a trainer sends, and resume stays exact whichever it was (issue 13, item 1)."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
from data_loader_kit import KeyedNoise, Tiny

import seedwise as sw
from seedwise.data import DataLoader, SeededSampler
from seedwise.errors import InvalidArgumentError, InvalidTypeError

# Tests start more workers than a small CI machine has cores; torch warns, the tests need them.
pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")


def _reference(seeds, epoch, n=12, batch_size=5):
    """The batches of ``epoch`` from a loader told the epoch by set_epoch."""
    loader = DataLoader(Tiny(n), batch_size=batch_size, shuffle=True, seeds=seeds)
    loader.set_epoch(epoch)
    return list(loader)


def _assert_same(batches, reference):
    batches = list(batches)
    assert len(batches) == len(reference)
    for (x, y), (rx, ry) in zip(batches, reference):
        assert torch.equal(x, rx) and torch.equal(y, ry)


# -- the signals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "signal",
    [
        lambda loader, e: loader.set_epoch(e),
        lambda loader, e: loader.sampler.set_epoch(e),  # what Lightning calls
        lambda loader, e: loader.batch_sampler.set_epoch(e),  # what Accelerate's loaders call
        lambda loader, e: loader.batch_sampler.sampler.set_epoch(e),  # Lightning, through a batch sampler
    ],
    ids=["loader", "sampler", "batch_sampler", "batch_sampler.sampler"],
)
def test_every_trainer_signal_moves_the_epoch(signal, test_seed):
    seeds = sw.Seeds(test_seed)
    loader = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds)
    for epoch in range(3):
        signal(loader, epoch)
        assert loader.epoch == epoch
        _assert_same(loader, _reference(seeds, epoch))


def test_lightnings_repeated_epoch_0_is_gone(test_seed):
    # Lightning 2.6 calls loader.sampler.set_epoch(e); seedwise used to ignore it, so every
    # epoch had the order (and augmentation) of epoch 0.
    seeds = sw.Seeds(test_seed)
    loader = DataLoader(KeyedNoise(12, seeds=seeds["augment"]), batch_size=4, shuffle=True, seeds=seeds)
    epochs = []
    for epoch in range(2):
        loader.sampler.set_epoch(epoch)
        epochs.append(torch.cat([x for x, _ in loader]))
    assert not torch.equal(epochs[0], epochs[1])


def test_sampler_signal_resumes_exactly(test_seed):
    seeds = sw.Seeds(test_seed)
    first = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds)
    first.sampler.set_epoch(2)
    it = iter(first)
    next(it)
    state = json.loads(json.dumps(first.state_dict()))
    assert (state["epoch"], state["position"]) == (2, 5)
    resumed = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds)
    resumed.load_state_dict(state)
    resumed.sampler.set_epoch(2)  # the trainer's signal at the top of the resumed epoch keeps the position
    _assert_same(resumed, _reference(seeds, 2)[1:])


def test_moving_away_and_back_starts_the_epoch_over(test_seed):
    seeds = sw.Seeds(test_seed)
    loader = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds)
    loader.load_state_dict({**loader.state_dict(), "epoch": 1, "position": 5, "samples": 5})
    loader.sampler.set_epoch(2)
    loader.set_epoch(1)
    _assert_same(loader, _reference(seeds, 1))


def test_the_epoch_is_read_when_the_first_batch_is_asked_for(test_seed):
    # Lightning calls iter(loader) before it calls set_epoch (FitLoop.setup_data).
    seeds = sw.Seeds(test_seed)
    loader = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds, num_workers=1)
    it = iter(loader)
    loader.sampler.set_epoch(3)
    _assert_same(list(it), _reference(seeds, 3))


# -- auto_epoch ------------------------------------------------------------------------


def test_auto_epoch_advances_after_len_batches_with_zip(test_seed):
    # The example, verbatim: zip stops after len(loader) batches without asking
    # for one more, so the epoch must move when the last batch is served.
    loader = sw.data.DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=sw.Seeds(test_seed), auto_epoch=True)
    passes = []
    for _ in range(2):
        passes.append([b for _, b in zip(range(len(loader)), loader)])
    assert loader.epoch == 2
    _assert_same(passes[0], _reference(sw.Seeds(test_seed), 0))
    _assert_same(passes[1], _reference(sw.Seeds(test_seed), 1))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_auto_epoch_with_islice_and_workers(num_workers, test_seed):
    seeds = sw.Seeds(test_seed)
    loader = DataLoader(
        Tiny(12),
        batch_size=5,
        shuffle=True,
        seeds=seeds,
        auto_epoch=True,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )
    for epoch in range(3):
        _assert_same(list(itertools.islice(loader, len(loader))), _reference(seeds, epoch))
    assert loader.epoch == 3


def test_auto_epoch_state_after_the_last_batch_is_the_next_epoch(test_seed):
    seeds = sw.Seeds(test_seed)
    loader = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds, auto_epoch=True)
    it = iter(loader)
    for _ in range(3):
        next(it)  # the consumer holds the last batch: the epoch is served
    state = loader.state_dict()
    assert (state["epoch"], state["position"]) == (1, 0)
    resumed = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds, auto_epoch=True)
    resumed.load_state_dict(state)
    _assert_same(list(resumed), _reference(seeds, 1))
    assert resumed.epoch == 2


def test_auto_epoch_mid_epoch_resume(test_seed):
    seeds = sw.Seeds(test_seed)
    loader = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds, auto_epoch=True)
    list(loader)
    it = iter(loader)
    next(it)
    resumed = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds, auto_epoch=True)
    resumed.load_state_dict(loader.state_dict())
    _assert_same(list(resumed), _reference(seeds, 1)[1:])
    _assert_same(list(resumed), _reference(seeds, 2))


# -- what a trainer must not do silently ----------------------------------------------


def test_the_sampler_cannot_be_replaced(test_seed):
    loader = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=sw.Seeds(test_seed))
    assert isinstance(loader.sampler, SeededSampler)
    with pytest.raises(AttributeError):
        loader.sampler = torch.utils.data.SequentialSampler(range(12))  # type: ignore[misc]


def test_the_batch_sampler_cannot_feed_another_loader(test_seed):
    loader = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=sw.Seeds(test_seed))
    assert len(loader.batch_sampler) == 3 and loader.batch_sampler.batch_size == 5
    rebuilt = torch.utils.data.DataLoader(loader.dataset, batch_sampler=loader.batch_sampler)
    with pytest.raises(InvalidTypeError, match="cannot be iterated on its own"):
        next(iter(rebuilt))
    assert DataLoader(Tiny(3), batch_size=None, seeds=sw.Seeds(0)).batch_sampler is None


def test_accelerates_skip_first_batches_fails_loudly(test_seed):
    # What transformers' Trainer does to its loader when it resumes mid-epoch.
    accelerate = pytest.importorskip("accelerate")
    loader = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=sw.Seeds(test_seed))
    with pytest.raises(InvalidTypeError, match="cannot be iterated on its own"):
        list(accelerate.skip_first_batches(loader, 1))


# -- a consumer that fetches ahead -----------------------------------------------------


def test_state_without_the_prefetched_batches(test_seed):
    # Lightning's fetcher holds one batch ahead of the step it runs.
    seeds = sw.Seeds(test_seed)
    loader = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds, auto_epoch=True)
    it = iter(loader)
    next(it), next(it)
    assert loader.state_dict(prefetched=1)["position"] == 5
    assert loader.state_dict(prefetched=2)["position"] == 0
    next(it)  # the last batch: auto_epoch has moved on, the state before it has not
    assert (loader.state_dict()["epoch"], loader.state_dict()["position"]) == (1, 0)
    assert (loader.state_dict(prefetched=1)["epoch"], loader.state_dict(prefetched=1)["position"]) == (0, 10)
    resumed = DataLoader(Tiny(12), batch_size=5, shuffle=True, seeds=seeds)
    resumed.load_state_dict(loader.state_dict(prefetched=1))
    _assert_same(list(resumed), _reference(seeds, 0)[2:])
    with pytest.raises(InvalidArgumentError, match="prefetched=4"):
        loader.state_dict(prefetched=4)
