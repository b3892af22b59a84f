"""state_dict / load_state_dict: an interrupted run resumes at the exact next batch, also in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from data_loader_kit import KeyedNoise, Tiny
from hypothesis import given, settings
from hypothesis import strategies as st

import seedwise as sw
from seedwise.data import DataLoader
from seedwise.errors import InvalidArgumentError, InvalidTypeError

# Tests start more workers than a small CI machine has cores; torch warns, the tests need them.
pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")

HERE = Path(__file__).parent


def _loader(seeds, **kwargs):
    return DataLoader(KeyedNoise(45, seeds=seeds["augment"]), batch_size=4, shuffle=True, seeds=seeds, **kwargs)


def _epoch(loader, epoch):
    loader.set_epoch(epoch)
    return [(x, y) for x, y in loader]


def _assert_same(batches, reference):
    assert len(batches) == len(reference)
    for (x, y), (rx, ry) in zip(batches, reference):
        assert torch.equal(x, rx) and torch.equal(y, ry)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_resume_in_process_yields_exactly_the_remaining_batches(num_workers, test_seed):
    seeds = sw.Seeds(test_seed)
    reference = _epoch(_loader(seeds), 3)
    interrupted = _loader(seeds, num_workers=num_workers)
    interrupted.set_epoch(3)
    it = iter(interrupted)
    for _ in range(5):  # the workers have fetched further ahead than this
        next(it)
    state = json.loads(json.dumps(interrupted.state_dict()))
    assert (state["epoch"], state["samples"], state["batches"]) == (3, 20, 5)
    del it
    resumed = _loader(seeds, num_workers=num_workers)
    resumed.load_state_dict(state)
    resumed.set_epoch(3)  # the usual loop: same epoch keeps the position
    _assert_same(list(resumed), reference[5:])
    assert resumed.state_dict()["samples"] == 45
    _assert_same(_epoch(resumed, 4), _epoch(_loader(seeds), 4))  # then the next epoch as normal


@pytest.mark.slow  # starts a Python process that imports torch
def test_resume_in_a_fresh_process(tmp_path, test_seed):
    seeds = sw.Seeds(test_seed)
    uninterrupted = _loader(seeds)
    reference = _epoch(uninterrupted, 2)
    following = _epoch(uninterrupted, 3)
    interrupted = _loader(seeds, num_workers=2)
    interrupted.set_epoch(2)
    for k, _batch in enumerate(interrupted):
        if k == 6:  # interrupted while holding batch 6
            break
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"test_seed": test_seed, "loader": interrupted.state_dict()}))
    out = tmp_path / "rest.npz"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    subprocess.run(
        [sys.executable, str(HERE / "resume_script.py"), str(state_file), str(out), "2"],
        check=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    with np.load(out, allow_pickle=False) as saved:
        rest = [
            (torch.from_numpy(saved[f"x{k}"]), torch.from_numpy(saved[f"y{k}"]))
            for k in range(sum(1 for name in saved.files if name.startswith("x")))
        ]
        after = [
            (torch.from_numpy(saved[f"next_x{k}"]), torch.from_numpy(saved[f"next_y{k}"]))
            for k in range(sum(1 for name in saved.files if name.startswith("next_x")))
        ]
    _assert_same(rest, reference[7:])
    _assert_same(after, following)


def test_resume_with_another_batch_size_continues_at_the_same_sample(test_seed):
    seeds = sw.Seeds(test_seed)
    whole = torch.cat([y for _, y in DataLoader(Tiny(30), batch_size=30, shuffle=True, seeds=seeds)])
    a = DataLoader(Tiny(30), batch_size=4, shuffle=True, seeds=seeds)
    it = iter(a)
    next(it), next(it)
    b = DataLoader(Tiny(30), batch_size=7, shuffle=True, seeds=seeds)
    b.load_state_dict(a.state_dict())
    rest = [y for _, y in b]
    assert [len(y) for y in rest] == [7, 7, 7, 1]
    assert torch.equal(torch.cat(rest), whole[8:])


def test_state_after_the_last_batch_resumes_as_a_finished_epoch(test_seed):
    seeds = sw.Seeds(test_seed)
    a = DataLoader(Tiny(10), batch_size=4, shuffle=True, seeds=seeds)
    list(a)
    state = a.state_dict()
    assert (state["epoch"], state["samples"], state["batches"]) == (0, 10, 3)
    b = DataLoader(Tiny(10), batch_size=4, shuffle=True, seeds=seeds)
    b.load_state_dict(state)
    b.set_epoch(0)
    assert list(b) == []  # the interrupted run had finished epoch 0
    b.set_epoch(1)
    assert len(list(b)) == 3
    assert len(list(a)) == 3  # without a resume, another pass repeats the epoch (torch's convention)


def test_breaking_out_then_iterating_again_starts_the_epoch_over(test_seed):
    loader = DataLoader(Tiny(10), batch_size=3, shuffle=True, seeds=sw.Seeds(test_seed))
    first = [y for _, y in loader]
    for k, _ in enumerate(loader):
        if k == 1:
            break
    assert loader.state_dict()["samples"] == 6
    again = [y for _, y in loader]
    assert all(torch.equal(a, b) for a, b in zip(first, again)) and len(again) == 4


def test_auto_epoch_state_moves_to_the_next_epoch(test_seed):
    loader = DataLoader(Tiny(10), batch_size=5, shuffle=True, seeds=sw.Seeds(test_seed), auto_epoch=True)
    list(loader)
    assert (loader.state_dict()["epoch"], loader.state_dict()["samples"]) == (1, 0)


def test_a_state_from_another_loader_is_refused(test_seed):
    seeds = sw.Seeds(test_seed)
    state = DataLoader(Tiny(10), batch_size=2, shuffle=True, seeds=seeds).state_dict()
    with pytest.raises(InvalidArgumentError, match="different seeds"):
        DataLoader(Tiny(10), batch_size=2, shuffle=True, seeds=seeds["x"]).load_state_dict(state)
    with pytest.raises(InvalidArgumentError, match="shuffle"):
        DataLoader(Tiny(10), batch_size=2, seeds=seeds).load_state_dict(state)
    with pytest.raises(InvalidArgumentError, match="dataset_length"):
        DataLoader(Tiny(11), batch_size=2, shuffle=True, seeds=seeds).load_state_dict(state)
    with pytest.raises(InvalidArgumentError, match="samples"):
        DataLoader(Tiny(10), batch_size=2, shuffle=True, seeds=seeds).load_state_dict({**state, "samples": 11})
    with pytest.raises(InvalidArgumentError, match="seedwise_loader"):
        DataLoader(Tiny(10), batch_size=2, shuffle=True, seeds=seeds).load_state_dict({"epoch": 1, "samples": 0})
    with pytest.raises(InvalidTypeError, match="dict"):
        DataLoader(Tiny(10), seeds=seeds).load_state_dict("state")  # type: ignore[arg-type]


@settings(max_examples=25)
@given(
    n=st.integers(1, 23),
    batch_size=st.integers(1, 6),
    world_size=st.integers(1, 3),
    data=st.data(),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_resume_after_any_number_of_batches(n, batch_size, world_size, data, drop_last, seed):
    seeds = sw.Seeds(seed)
    rank = data.draw(st.integers(0, world_size - 1))

    def loader():
        out = DataLoader(
            Tiny(n),
            batch_size=batch_size,
            shuffle=True,
            seeds=seeds,
            rank=rank,
            world_size=world_size,
            drop_last=drop_last,
        )
        out.set_epoch(5)
        return out

    full = [y for _, y in loader()]
    k = data.draw(st.integers(0, len(full)))
    first = loader()
    it = iter(first)
    for _ in range(k):
        next(it)
    resumed = loader()
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    resumed.set_epoch(5)
    rest = [y for _, y in resumed]
    assert len(rest) == len(full) - k
    assert all(torch.equal(a, b) for a, b in zip(rest, full[k:]))


def test_persistent_workers_resume_break_and_restart(test_seed):
    seeds = sw.Seeds(test_seed)
    reference = {e: _epoch(_loader(seeds), e) for e in (0, 1)}
    loader = _loader(seeds, num_workers=2, persistent_workers=True)
    for k, _batch in enumerate(loader):
        if k == 2:
            break
    loader.load_state_dict(loader.state_dict())  # the same loader, its workers still alive
    _assert_same(list(loader), reference[0][3:])
    _assert_same(_epoch(loader, 1), reference[1])
    for k, _batch in enumerate(loader):  # break out of epoch 1, then iterate it again
        if k == 1:
            break
    _assert_same(list(loader), reference[1])


def test_an_abandoned_pass_cannot_steal_from_the_next(test_seed):
    loader = DataLoader(Tiny(12), batch_size=3, shuffle=True, seeds=sw.Seeds(test_seed))
    old = iter(loader)
    next(old)
    new = iter(loader)
    assert list(old) == []  # superseded: it stops instead of moving the position
    assert len(list(new)) == 4 and loader.state_dict()["samples"] == 12
