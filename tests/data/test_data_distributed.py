"""Rank and world size: given, or from the torch.distributed process group, never silently everything.

With a real process group (2 processes under torchrun, and Lightning's DDP) the shards
are checked in test_data_torchrun.py and test_data_lightning.py. Here: the launcher
case without a process group, which must fail loudly, and the argument rules.
"""

from __future__ import annotations

import pytest
import torch
from data_loader_kit import Tiny

import seedwise as sw
from seedwise.data import DataLoader, SeededSampler
from seedwise.errors import InvalidArgumentError


@pytest.fixture
def launched(monkeypatch):
    """This process as torchrun starts rank 1 of 2, before init_process_group."""
    assert not torch.distributed.is_initialized()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")


def test_a_launched_process_without_a_process_group_cannot_load_everything(launched, test_seed):
    loader = DataLoader(Tiny(10), batch_size=2, shuffle=True, seeds=sw.Seeds(test_seed))  # building is fine
    fix = r"WORLD_SIZE=2 processes \(RANK=1.*init_process_group\(\) before iterating.*pass rank= and world_size="
    with pytest.raises(InvalidArgumentError, match=fix):
        next(iter(loader))
    with pytest.raises(InvalidArgumentError, match="not initialised"):
        len(loader)
    with pytest.raises(InvalidArgumentError, match="not initialised"):
        loader.state_dict()
    with pytest.raises(InvalidArgumentError, match="not initialised"):
        list(SeededSampler(10, seeds=sw.Seeds(test_seed)))
    assert "rank=?, world_size=? (torch.distributed not initialised)" in repr(loader)  # a repr never raises


def test_explicit_ranks_or_all_the_data_still_work_under_a_launcher(launched, test_seed):
    seeds = sw.Seeds(test_seed)
    sharded = DataLoader(Tiny(10), batch_size=2, shuffle=True, seeds=seeds, rank=1, world_size=2)
    everything = DataLoader(Tiny(10), batch_size=2, shuffle=True, seeds=seeds, world_size=1)
    assert (len(sharded), len(everything)) == (3, 5)
    assert (everything.rank, everything.world_size) == (0, 1)
    labels = torch.cat([y for _, y in everything])
    assert torch.equal(torch.cat([y for _, y in sharded]), labels[1::2])


def test_alone_the_loader_is_rank_0_of_1(monkeypatch, test_seed):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    loader = DataLoader(Tiny(10), batch_size=2, seeds=sw.Seeds(test_seed))
    assert (loader.rank, loader.world_size, len(loader)) == (0, 1, 5)
    assert (loader.sampler.rank, loader.sampler.world_size) == (0, 1)
    monkeypatch.setenv("WORLD_SIZE", "1")  # torchrun --nproc-per-node 1
    assert len(loader) == 5


def test_a_rank_needs_its_world_size(test_seed):
    with pytest.raises(InvalidArgumentError, match="without world_size: pass world_size= with rank="):
        DataLoader(Tiny(10), seeds=sw.Seeds(test_seed), rank=0)
    with pytest.raises(InvalidArgumentError, match=r"rank must be in \[0, world_size\) = \[0, 2\)"):
        SeededSampler(10, seeds=sw.Seeds(test_seed), rank=2, world_size=2)
