"""A loader state resumes on another number of processes and batch size at the exact next global sample (issue 17).

The expected samples are written out from the rule in docs/data.md, independently of the
implementation: the epoch's global order is ``stateless.permutation(seeds["data_order"],
epoch, n)``; a run resumed at global position ``p`` on ``w`` ranks continues with
``order[p:]``, padded to a multiple of ``w`` by repeating ``order[0], order[1], ...``
(or cut to one with ``drop_last``), rank ``r`` taking every ``w``-th position from ``r``.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from data_loader_kit import Indices
from hypothesis import given, settings
from hypothesis import strategies as st

import seedwise as sw
from seedwise import stateless as S
from seedwise.data import DataLoader, ResumePoint
from seedwise.errors import InvalidArgumentError

N = 50  # not a multiple of 3, 4 or 8: the padding is part of what is checked
EPOCH = 3


def _order(seeds, epoch=EPOCH, n=N):
    return S.permutation(seeds["data_order"], epoch, n).tolist()


def _loaders(seeds, world_size, batch_size, n=N, **kwargs):
    out = [
        DataLoader(
            Indices(n), batch_size=batch_size, shuffle=True, seeds=seeds, rank=r, world_size=world_size, **kwargs
        )
        for r in range(world_size)
    ]
    for loader in out:
        loader.set_epoch(EPOCH)
    return out


def _consume(loader, batches):
    """Take ``batches`` batches from a fresh pass of ``loader``; return the indices."""
    it = iter(loader)
    return [int(i) for _ in range(batches) for i in next(it)]


def _expected_rest(order, position, world_size, drop_last=False, batch_size=1):
    """Each rank's samples after resuming at ``position`` on ``world_size`` ranks (in batches of ``batch_size``)."""
    rest = order[position:]
    if drop_last:  # the tail that does not fill every rank, then each rank's incomplete last batch
        rest = rest[: len(rest) // world_size * world_size]
        per_rank = len(rest) // world_size // batch_size * batch_size
        return [rest[r::world_size][:per_rank] for r in range(world_size)]
    pad = -len(rest) % world_size
    rest = rest + (order * (pad // max(len(order), 1) + 1))[:pad]
    return [rest[r::world_size] for r in range(world_size)]


def _resume(state, seeds, world_size, batch_size, n=N, **kwargs):
    """Load ``state`` into ``world_size`` fresh loaders; return each rank's batches of the rest of the epoch."""
    loaders = [
        DataLoader(
            Indices(n), batch_size=batch_size, shuffle=True, seeds=seeds, rank=r, world_size=world_size, **kwargs
        )
        for r in range(world_size)
    ]
    for loader in loaders:
        loader.load_state_dict(json.loads(json.dumps(state)))
        loader.set_epoch(state["epoch"] if isinstance(state, dict) else state[0]["epoch"])  # the usual loop
    return loaders, [[[int(i) for i in batch] for batch in loader] for loader in loaders]


@pytest.mark.parametrize("new_world_size", [1, 2, 3, 8])
@pytest.mark.parametrize("new_batch_size", [4, 3])
def test_mid_epoch_state_from_4_ranks_resumes_at_the_next_global_sample(new_world_size, new_batch_size, test_seed):
    seeds = sw.Seeds(test_seed)
    order = _order(seeds)
    saved = _loaders(seeds, 4, batch_size=4)
    consumed = [_consume(loader, 2) for loader in saved]  # every rank: 2 batches of 4
    assert sorted(i for c in consumed for i in c) == sorted(order[:32])  # global positions 0..31
    state = saved[2].state_dict()  # any rank's state stands for all (lockstep)
    assert (state["epoch"], state["position"], state["world_size"]) == (EPOCH, 32, 4)
    loaders, rest = _resume(state, seeds, new_world_size, new_batch_size)
    expected = _expected_rest(order, 32, new_world_size)
    for r in range(new_world_size):
        assert [i for b in rest[r] for i in b] == expected[r]
        assert all(len(b) == new_batch_size for b in rest[r][:-1])
    # Before + after: every sample of the epoch, the tail's padding apart.
    after = [i for r in range(new_world_size) for i in expected[r]]
    assert sorted(order[:32] + after[: N - 32]) == list(range(N)) or new_world_size > 1
    assert sorted(set(after)) == sorted(set(order[32:]) | set(order[: -(N - 32) % new_world_size]))
    # The resumed run's own state goes on from there; the next epoch is a normal one.
    assert loaders[0].state_dict()["position"] == N
    loaders[0].set_epoch(EPOCH + 1)
    assert [int(i) for b in loaders[0] for i in b] == _expected_rest(_order(seeds, EPOCH + 1), 0, new_world_size)[0]


@pytest.mark.parametrize("new_world_size", [1, 2, 3, 8])
def test_end_of_epoch_state_resumes_as_a_finished_epoch(new_world_size, test_seed):
    seeds = sw.Seeds(test_seed)
    saved = _loaders(seeds, 4, batch_size=4)
    for loader in saved:
        assert len(list(loader)) == 4  # 13 samples each: 4, 4, 4, 1
    state = saved[0].state_dict()
    assert (state["epoch"], state["position"]) == (EPOCH, N)
    loaders, rest = _resume(state, seeds, new_world_size, 5)
    assert rest == [[] for _ in range(new_world_size)]  # the interrupted run had finished the epoch
    for r, loader in enumerate(loaders):
        loader.set_epoch(EPOCH + 1)
        assert [int(i) for b in loader for i in b] == _expected_rest(_order(seeds, EPOCH + 1), 0, new_world_size)[r]


def test_drop_last_state_resumes_with_the_new_tail_rule(test_seed):
    seeds = sw.Seeds(test_seed)
    order = _order(seeds)
    saved = _loaders(seeds, 4, batch_size=3, drop_last=True)
    for loader in saved:
        _consume(loader, 3)
    state = saved[1].state_dict()
    assert state["position"] == 36
    _, rest = _resume(state, seeds, 3, 2, drop_last=True)
    expected = _expected_rest(order, 36, 3, drop_last=True)  # 14 left: 12 kept, 2 dropped
    assert [[i for b in r for i in b] for r in rest] == expected
    assert [len(b) for b in rest[0]] == [2, 2]
    finished = _loaders(seeds, 4, batch_size=3, drop_last=True)[0]
    list(finished)  # 12 samples per rank, the last 2 of the order dropped
    assert finished.state_dict()["position"] == N  # finished: no sample of this epoch is left
    assert _resume(finished.state_dict(), seeds, 1, 4)[1] == [[]]


def test_a_v1_state_from_a_fixed_world_size_still_resumes(test_seed):
    seeds = sw.Seeds(test_seed)
    order = _order(seeds)
    key = "".join(f"{int(w):016x}" for w in seeds["data_order"].key)
    v1 = {"seedwise_loader": 1, "epoch": EPOCH, "samples": 8, "batches": 2, "batch_size": 4, "dataset_length": N,
          "shuffle": True, "rank": 3, "world_size": 4, "drop_last": False, "order_key": key}  # fmt: skip
    _, rest = _resume(v1, seeds, 2, 4)
    assert [[i for b in r for i in b] for r in rest] == _expected_rest(order, 32, 2)


# -- ranks that stopped at different positions --------------------------------------


def test_drifted_ranks_resume_from_the_smallest_and_count_the_repeats(test_seed):
    seeds = sw.Seeds(test_seed)
    order = _order(seeds)
    saved = _loaders(seeds, 4, batch_size=4)
    for r, loader in enumerate(saved):
        _consume(loader, 3 if r == 1 else 2)  # rank 1 was a batch ahead when the job died
    states = [loader.state_dict() for loader in saved]
    # Rank 0 stopped first, at global position 32; rank 1 had consumed 33, 37, 41 and 45 too.
    with pytest.warns(UserWarning, match="4 samples that a rank ahead had already consumed will be served again"):
        _, rest = _resume(states, seeds, 2, 4)
    assert [[i for b in r for i in b] for r in rest] == _expected_rest(order, 32, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        point = DataLoader(Indices(N), batch_size=4, shuffle=True, seeds=seeds).load_state_dict(states)
    assert point == ResumePoint(epoch=EPOCH, position=32, finished=False, repeated=4, saved_world_size=4)


def test_when_rank_0_is_ahead_the_position_is_rank_1s(test_seed):
    seeds = sw.Seeds(test_seed)
    order = _order(seeds)
    saved = _loaders(seeds, 4, batch_size=4)
    for r, loader in enumerate(saved):
        _consume(loader, 3 if r == 0 else 2)
    # Positions 0..32 were all consumed (32 by rank 0); rank 1 stopped before 33.
    with pytest.warns(UserWarning, match="3 samples"):
        _, rest = _resume([s.state_dict() for s in saved], seeds, 2, 4)
    assert [[i for b in r for i in b] for r in rest] == _expected_rest(order, 33, 2)


def test_a_rank_already_in_the_next_epoch(test_seed):
    seeds = sw.Seeds(test_seed)
    saved = _loaders(seeds, 4, batch_size=4, auto_epoch=True)
    for r, loader in enumerate(saved):
        if r == 3:
            list(loader)  # rank 3 finished the epoch (13 samples) and moved on (auto_epoch)
            _consume(loader, 1)  # and took a batch of the next: 4 more samples served again later
        else:
            _consume(loader, 2)
    states = [loader.state_dict() for loader in saved]
    assert states[3]["epoch"] == EPOCH + 1
    # Rank 3 had consumed positions 35, 39, 43 and 47 past 32 (51 is padding), and 4 samples of the next epoch.
    with pytest.warns(UserWarning, match="8 samples"):
        point = DataLoader(Indices(N), batch_size=4, shuffle=True, seeds=seeds).load_state_dict(states)
    assert (point.epoch, point.position, point.repeated) == (EPOCH, 32, 8)


def test_a_list_of_states_must_be_one_run(test_seed):
    seeds = sw.Seeds(test_seed)
    saved = _loaders(seeds, 4, batch_size=4)
    states = [loader.state_dict() for loader in saved]
    loader = DataLoader(Indices(N), batch_size=4, shuffle=True, seeds=seeds)
    with pytest.raises(InvalidArgumentError, match=r"one state per rank.*got ranks \[0, 1, 3\]"):
        loader.load_state_dict([states[0], states[1], states[3]])
    other = _loaders(seeds, 2, batch_size=4)[1].state_dict()
    with pytest.raises(InvalidArgumentError, match="one state per rank"):
        loader.load_state_dict([*states[:3], other])
    with pytest.raises(InvalidArgumentError, match="more than one epoch apart"):
        loader.load_state_dict([*states[:3], {**states[3], "epoch": EPOCH + 2}])
    with pytest.raises(sw.InvalidTypeError, match="one such dict per rank"):
        loader.load_state_dict([])


# -- what cannot match ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [({"n": N + 1}, "dataset_length"), ({"shuffle": False}, "shuffle"), ({"seeds": "other"}, "seeds")],
)
def test_a_state_whose_order_cannot_match_is_refused(change, field, test_seed):
    seeds = sw.Seeds(test_seed)
    saved = _loaders(seeds, 4, batch_size=4)
    _consume(saved[0], 1)
    state = saved[0].state_dict()
    loader = DataLoader(
        Indices(change.get("n", N)),
        batch_size=4,
        shuffle=change.get("shuffle", True),
        seeds=seeds["x"] if "seeds" in change else seeds,
        rank=0,
        world_size=2,
    )
    with pytest.raises(InvalidArgumentError, match=f"state was saved with a different {field}"):
        loader.load_state_dict(state)


# -- any world size, batch size and kill point -------------------------------------


@settings(max_examples=40)
@given(
    n=st.integers(1, 40),
    saved_world=st.integers(1, 5),
    new_world=st.integers(1, 5),
    batch_sizes=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    drop_last=st.booleans(),
    data=st.data(),
    seed=st.integers(0, 2**32),
)
def test_any_resume_continues_the_global_order(n, saved_world, new_world, batch_sizes, drop_last, data, seed):
    seeds = sw.Seeds(seed)
    order = _order(seeds, n=n)
    saved = _loaders(seeds, saved_world, batch_sizes[0], n=n, drop_last=drop_last)
    k = data.draw(st.integers(0, len(saved[0])))
    consumed = [_consume(loader, k) for loader in saved]
    state = saved[data.draw(st.integers(0, saved_world - 1))].state_dict()
    position = state["position"]
    # Every sample before the position was consumed by some rank (at the end of an epoch with
    # drop_last, the position is n and the dropped tail was never consumed).
    served = min(position, len(consumed[0]) * saved_world)
    assert [consumed[p % saved_world][p // saved_world] for p in range(served)] == order[:served]
    assert position >= n or served == position
    _, rest = _resume(state, seeds, new_world, batch_sizes[1], n=n, drop_last=drop_last)
    if position >= n:
        assert rest == [[] for _ in range(new_world)]
    else:
        assert [[i for b in r for i in b] for r in rest] == _expected_rest(
            order, position, new_world, drop_last, batch_sizes[1]
        )
        assert len({len(r) for r in rest}) == 1  # every rank has as many batches left: no collective hangs


def test_the_state_before_the_first_batch_is_the_loaded_position(test_seed):
    seeds = sw.Seeds(test_seed)
    saved = _loaders(seeds, 4, batch_size=4)
    _consume(saved[0], 2)
    loader = DataLoader(Indices(N), batch_size=5, shuffle=True, seeds=seeds, rank=1, world_size=3)
    loader.load_state_dict(saved[0].state_dict())
    state = loader.state_dict()
    assert (state["position"], state["origin"], state["samples"], state["world_size"]) == (32, 2, 10, 3)
    assert np.array_equal(
        [int(i) for b in loader for i in b], _expected_rest(_order(seeds), 32, 3)[1]
    )  # and the pass starts there
