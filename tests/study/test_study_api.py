"""``Study``'s arguments: ``n_seeds`` is the count, ``seeds`` the root Seeds; the old spellings warn and still work."""

from __future__ import annotations

import importlib
import sys

import pytest
import study_fns

from seedwise import Seeds
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.study import Design, Study


def _study(**kwargs) -> Study:
    return Study(study_fns.synthetic, name="s", sources=("init", "data_order"), design="all", store=None, **kwargs)


def test_n_seeds_is_the_count_and_seeds_the_root():
    study = _study(n_seeds=3, seeds=Seeds(7))
    assert study.n_seeds == 3 and study.seeds == Seeds(7)
    assert study.design == Design.create(sources=("init", "data_order"), design="all", n_seeds=3, base_seed=7)
    assert [c.key for c in study.cells] == ["all/0", "all/1", "all/2"]
    default = _study()
    assert default.n_seeds == 8 and default.seeds == Seeds(0)


def test_old_count_spelling_warns_and_means_the_same_study():
    with pytest.warns(
        DeprecationWarning, match=r"^Study\(seeds=3\) as a count is deprecated: write n_seeds=3"
    ) as caught:
        old = _study(seeds=3)
    assert old.design == _study(n_seeds=3).design
    assert [w.filename for w in caught] == [__file__]  # points at the caller's line, not at seedwise
    with pytest.raises(InvalidArgumentError, match="^Study: give the number"):
        _study(seeds=3, n_seeds=3)


def test_old_base_seed_spelling_warns_and_means_the_same_study():
    with pytest.warns(DeprecationWarning, match=r"seeds=sw.Seeds\(5\)"):
        old = _study(n_seeds=2, base_seed=5)
    assert old.design == _study(n_seeds=2, seeds=Seeds(5)).design
    with pytest.warns(DeprecationWarning), pytest.raises(InvalidArgumentError, match="^base_seed: seed"):
        _study(base_seed=-1)


def test_design_create_old_count_spelling_warns():
    with pytest.warns(DeprecationWarning, match="n_seeds=4"):
        old = Design.create(sources=("init",), seeds=4)
    assert old == Design.create(sources=("init",), n_seeds=4)
    with pytest.warns(DeprecationWarning, match="Design.n_seeds"):
        assert old.seeds == 4


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seeds": Seeds(0)["init"]}, InvalidArgumentError, r"root Seeds such as sw.Seeds\(0\)"),
        ({"seeds": Seeds(0).override(init=3)}, InvalidArgumentError, "root Seeds"),
        ({"seeds": "0"}, InvalidTypeError, "seeds must be the study's root seedwise.Seeds"),
        ({"seeds": Seeds(1), "base_seed": 1}, InvalidArgumentError, "once"),
        ({"n_seeds": 0}, InvalidArgumentError, "n_seeds must be >= 1"),
        ({"n_seeds": 2.0}, InvalidTypeError, "n_seeds must be an int"),
    ],
)
def test_bad_seed_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        _study(**kwargs)


def test_count_given_twice_is_an_error():
    with pytest.raises(InvalidArgumentError, match="once, as n_seeds="):
        _study(n_seeds=3, seeds=3)


def test_old_train_module_warns_and_reexports():
    sys.modules.pop("seedwise.study.train", None)
    with pytest.warns(DeprecationWarning, match="seedwise.study.spec"):
        train = importlib.import_module("seedwise.study.train")
    from seedwise.study.reporter import Reporter
    from seedwise.study.spec import TrainSpec
    from seedwise.study.worker import execute

    assert (train.TrainSpec, train.Reporter, train.execute) == (TrainSpec, Reporter, execute)
