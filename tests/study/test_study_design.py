"""Designs: the right runs, the right seeds, the same on every machine."""

from __future__ import annotations

import pytest

from seedwise import Seeds
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.study import Design

SOURCES = ("init", "data_order", "dropout")


def _keys(design: Design) -> list[str]:
    return [c.key for c in design.cells()]


def test_one_at_a_time_runs_each_source_then_all():
    d = Design.create(sources=SOURCES, design="one-at-a-time", n_seeds=3)
    assert _keys(d) == [f"{s}/{i}" for s in (*SOURCES, "all") for i in range(3)]
    assert d.n_runs == len(d.cells()) == 12


def test_one_at_a_time_varies_only_its_source():
    d = Design.create(sources=SOURCES, design="one-at-a-time", n_seeds=4, base_seed=5)
    base = Seeds(5)
    cells = {c.key: c for c in d.cells()}
    for s in SOURCES:
        for i in range(4):
            seeds = cells[f"{s}/{i}"].seeds
            for other in SOURCES:
                same = seeds[other].seed_sequence.entropy == base[other].seed_sequence.entropy
                assert same == (other != s), (s, i, other)
    # Different levels of a source are different streams; a level is never the base.
    entropies = [cells[f"init/{i}"].seeds["init"].seed_sequence.entropy for i in range(4)]
    assert len(set(entropies)) == 4 and 5 not in entropies


def test_all_group_varies_every_source_independently_of_one_at_a_time():
    d = Design.create(sources=SOURCES, design="one-at-a-time", n_seeds=3)
    cells = {c.key: c for c in d.cells()}
    for i in range(3):
        for s in SOURCES:
            assert cells[f"all/{i}"].seeds[s].seed_sequence.entropy != Seeds(0)[s].seed_sequence.entropy
            assert cells[f"all/{i}"].seeds[s].seed_sequence.entropy != cells[f"{s}/{i}"].seeds[s].seed_sequence.entropy


def test_all_design():
    d = Design.create(sources=SOURCES, design="all", n_seeds=5)
    assert _keys(d) == [f"all/{i}" for i in range(5)]


def test_factorial_crosses_levels():
    d = Design.create(sources=("init", "data_order"), design="factorial", n_seeds=3)
    cells = d.cells()
    assert len(cells) == d.n_runs == 9
    assert {tuple(c.levels.items()) for c in cells} == {
        (("init", i), ("data_order", j)) for i in range(3) for j in range(3)
    }
    by_levels = {tuple(c.levels.values()): c for c in cells}
    # init level 1 is the same stream whatever data_order's level is, and differs from level 2.
    e = lambda c, s: c.seeds[s].seed_sequence.entropy  # noqa: E731
    assert e(by_levels[(1, 0)], "init") == e(by_levels[(1, 2)], "init") != e(by_levels[(2, 0)], "init")
    assert e(by_levels[(0, 1)], "data_order") == e(by_levels[(2, 1)], "data_order")
    assert cells[4].key == "factorial/init=1,data_order=1"


def test_replicates_keep_every_seed_at_the_base():
    d = Design.create(sources=SOURCES, design="all", n_seeds=2, base_seed=9, replicates=3)
    reps = [c for c in d.cells() if c.group == "replicate"]
    assert [c.key for c in reps] == ["replicate/0", "replicate/1", "replicate/2"]
    assert all(c.seeds == Seeds(9) for c in reps)


def test_paired_arms_share_seeds_and_merge_config():
    d = Design.create(
        sources=SOURCES,
        design="all",
        n_seeds=2,
        config={"lr": 0.1, "epochs": 3},
        paired={"A": {"lr": 0.1}, "B": {"lr": 0.01}},
    )
    cells = d.cells()
    assert [c.key for c in cells] == ["A:all/0", "A:all/1", "B:all/0", "B:all/1"]
    assert cells[0].seeds == cells[2].seeds and cells[1].seeds == cells[3].seeds
    assert cells[2].config == {"lr": 0.01, "epochs": 3}


def test_same_design_same_runs_and_json_round_trip():
    a = Design.create(sources=SOURCES, design="factorial", n_seeds=2, base_seed=3, replicates=1)
    b = Design.from_dict(a.to_dict())
    assert [(c.key, c.seeds.to_json()) for c in a.cells()] == [(c.key, c.seeds.to_json()) for c in b.cells()]
    assert a.to_dict() == b.to_dict()
    assert "factorial" in repr(a) and "9 runs" in repr(a)


def test_base_seed_changes_every_run():
    a = Design.create(sources=SOURCES, n_seeds=2, base_seed=0).cells()
    b = Design.create(sources=SOURCES, n_seeds=2, base_seed=1).cells()
    assert all(x.seeds["init"].seed_sequence.entropy != y.seeds["init"].seed_sequence.entropy for x, y in zip(a, b))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"design": "grid"}, InvalidArgumentError, "one-at-a-time"),
        ({"n_seeds": 0}, InvalidArgumentError, "n_seeds"),
        ({"n_seeds": 2.0}, InvalidTypeError, "n_seeds"),
        ({"sources": []}, InvalidArgumentError, "sources"),
        ({"sources": ["init", "init"]}, InvalidArgumentError, "repeat"),
        ({"sources": ["all"]}, InvalidArgumentError, "reserved"),
        ({"sources": ["a/b"]}, InvalidArgumentError, "source"),
        ({"design": "factorial", "n_seeds": 1}, InvalidArgumentError, "two levels"),
        ({"base_seed": -1}, InvalidArgumentError, "^base_seed: seed"),
        ({"config": {"f": object()}}, InvalidTypeError, "JSON"),
        ({"config": [1]}, InvalidTypeError, "config"),
        ({"paired": {"A": {}}}, InvalidArgumentError, "two arm"),
        ({"replicates": -1}, InvalidArgumentError, "replicates"),
        ({"design": "factorial", "n_seeds": 400, "sources": ["a", "b"]}, InvalidArgumentError, "runs"),
    ],
)
def test_bad_designs_are_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        Design.create(**kwargs)


def test_sources_from_comma_string():
    assert Design.create(sources="init, dropout", n_seeds=1).sources == ("init", "dropout")
