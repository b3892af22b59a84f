"""Seeds: derivation is stable (golden values), children are independent, errors are clear."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import seedwise as sw
from seedwise import Seeds

# -- golden values: a user's seed must mean the same thing in every release ---------


def test_golden_numpy_draws():
    assert Seeds(0)["init"].numpy().random(3).tolist() == [0.39430526246525566, 0.4092529069439048, 0.419330262734232]


def test_golden_keys_and_ints():
    assert Seeds(0)["init"].key.tolist() == [1923312475840068244, 11993130425807545335]
    assert int(Seeds(0)["init"]) == 13077208730084539991
    assert int(Seeds(0)) == 6821695136126347212
    assert Seeds(2**128 - 1)["a"][5].key.tolist() == [14958497572112217476, 16417468777669065914]
    assert Seeds(42).spawn(3)[2].key.tolist() == [3256706157778772902, 8907442531967158415]


def test_golden_torch_and_python():
    g = Seeds(0)["init"].torch()
    assert torch.rand(3, generator=g).tolist() == [0.3147602081298828, 0.7906851768493652, 0.7609811425209045]
    assert Seeds(0)["init"].python().random() == 0.31188976808571467


# -- structure ------------------------------------------------------------------------


def test_children_are_stable_and_distinct():
    s = Seeds(7)
    assert s["a"] == s["a"] and hash(s["a"]) == hash(Seeds(7)["a"])
    assert np.array_equal(s["a"].key, Seeds(7)["a"].key)
    keys = {tuple(s[name].key.tolist()) for name in ("a", "b", "init", "init.weight", "é", 0, 1)}
    assert len(keys) == 7


def test_name_and_index_never_collide():
    s = Seeds(3)
    assert not np.array_equal(s["0"].key, s[0].key)
    assert not np.array_equal(s["a"]["b"].key, s["a/b"].key)
    assert not np.array_equal(s["ab"].key, s["a"]["b"].key)


def test_child_and_nesting():
    s = Seeds(1)
    assert s.child("a", 2, "b") == s["a"][2]["b"]
    assert s["a"][2]["b"].path == ("a", 2, "b")


def test_spawn_child_i_independent_of_n():
    s = Seeds(5)
    assert s.spawn(2)[1] == s.spawn(16)[1] == s[1]
    assert s.spawn(3, start=4) == [s[4], s[5], s[6]]
    assert s.spawn(0) == []


def test_independent_children_statistically():
    """First draws of 4000 sibling streams are uniform and adjacent siblings uncorrelated."""
    s = Seeds(123)["many"]
    first = np.array([sw.stateless.uniform(s[i], 0, size=2) for i in range(4000)])
    assert stats.kstest(first[:, 0], "uniform").pvalue > 1e-4
    r = np.corrcoef(first[:-1, 0], first[1:, 0])[0, 1]
    assert abs(r) < 4 / math.sqrt(4000)
    named = np.array([s[f"layer{i}.weight"].numpy().random() for i in range(2000)])
    assert stats.kstest(named, "uniform").pvalue > 1e-4


def test_override_changes_only_the_named_stream():
    base = Seeds(42)
    over = base.override(init=7)
    assert np.array_equal(over["init"].key, Seeds(7)["init"].key)
    assert np.array_equal(over["init"]["layer"].key, Seeds(7)["init"]["layer"].key)
    assert not np.array_equal(over["init"].key, base["init"].key)
    for name in ("data_order", "augment", "dropout", "initx"):
        assert np.array_equal(over[name].key, base[name].key)
    assert np.array_equal(over.key, base.key)


def test_override_nested_and_innermost_wins():
    s = Seeds(1).override({("a", "b"): 5})
    assert np.array_equal(s["a"]["b"]["c"].key, Seeds(5)["a"]["b"]["c"].key)
    assert np.array_equal(s["a"]["x"].key, Seeds(1)["a"]["x"].key)
    t = Seeds(1).override(a=2).override({("a", "b"): 3})
    assert np.array_equal(t["a"]["b"].key, Seeds(3)["a"]["b"].key)
    assert np.array_equal(t["a"]["c"].key, Seeds(2)["a"]["c"].key)
    # overriding on a child is the same as a path from the root
    assert np.array_equal(Seeds(1)["a"].override(b=5)["b"].key, s["a"]["b"].key)


def test_override_replaces_previous_value():
    s = Seeds(9).override(init=1).override(init=2)
    assert s == Seeds(9).override(init=2)


def test_immutable_and_hashable():
    s = Seeds(1)
    d = {s["a"]: 1}
    assert d[Seeds(1)["a"]] == 1
    s["b"]  # deriving a child does not change the parent
    assert s.path == ()


def test_repr():
    assert repr(Seeds(42)["init"]) == "Seeds(42)['init']"
    assert repr(Seeds(42).override(init=7)["init"][3]) == "Seeds(42).override(init=7)['init'][3]"
    assert repr(Seeds(42)["a"].override(b=3)["b"]) == "Seeds(42)['a'].override(b=3)['b']"


@given(
    entropy=st.integers(0, 2**128 - 1),
    path=st.lists(st.one_of(st.text(min_size=1, max_size=8), st.integers(0, 2**64 - 1)), max_size=4),
    over=st.integers(0, 2**128 - 1),
)
def test_json_round_trip(entropy, path, over):
    s = Seeds(entropy).override(x=over).child(*path)
    back = Seeds.from_json(s.to_json())
    assert back == s
    assert np.array_equal(back.key, s.key)
    assert json.loads(s.to_json())["entropy"] == str(entropy)


def test_pickle_goes_through_json():
    s = Seeds(3).override(a=4)["a"]
    assert pickle.loads(pickle.dumps(s)) == s


def test_conversions_are_fresh_and_deterministic():
    s = Seeds(11)["x"]
    assert np.array_equal(s.numpy().random(4), s.numpy().random(4))
    assert torch.equal(torch.randn(4, generator=s.torch()), torch.randn(4, generator=s.torch()))
    assert s.python().random() == s.python().random()
    assert not np.array_equal(s.numpy().random(4), Seeds(12)["x"].numpy().random(4))
    assert 0 <= int(s) < 2**64
    assert int(s) == s.__index__()


def test_as_seeds():
    assert sw.as_seeds(3) == Seeds(3)
    s = Seeds(4)["a"]
    assert sw.as_seeds(s) is s


# -- bad input: each raises a clear TypeError/ValueError naming what was expected -----

BAD_ENTROPY = [
    (1.5, TypeError),
    (2.0, TypeError),
    (True, TypeError),
    (False, TypeError),
    (-1, ValueError),
    (2**128, ValueError),
    ("42", TypeError),
    (None, TypeError),
    ([1, 2], TypeError),
    (np.float64(3.0), TypeError),
    (b"1", TypeError),
    (complex(1, 0), TypeError),
]


@pytest.mark.parametrize("value,exc", BAD_ENTROPY)
def test_bad_entropy(value, exc):
    with pytest.raises(exc, match="non-negative int|below 2\\*\\*128|must be"):
        Seeds(value)
    assert issubclass(exc, (TypeError, ValueError))


def test_numpy_ints_accepted():
    assert Seeds(np.int64(5)) == Seeds(5)
    assert Seeds(np.uint64(5)) == Seeds(5)


def test_float_error_suggests_fix():
    with pytest.raises(TypeError, match=r"use int\(2\.0\)"):
        Seeds(2.0)


BAD_CHILD = [
    ("", ValueError),
    (-1, ValueError),
    (1.0, TypeError),
    (None, TypeError),
    (True, TypeError),
    (2**64, ValueError),
    (("a",), TypeError),
]


@pytest.mark.parametrize("name,exc", BAD_CHILD)
def test_bad_child(name, exc):
    with pytest.raises(exc):
        Seeds(0)[name]


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda s: s.spawn(-1), ValueError),
        (lambda s: s.spawn(2.0), ValueError),
        (lambda s: s.spawn(2, start=-1), ValueError),
        (lambda s: s.override(), ValueError),
        (lambda s: s.override(init=-3), ValueError),
        (lambda s: s.override(init=1.5), TypeError),
        (lambda s: s.override([1, 2]), TypeError),
        (lambda s: s.override({(): 3}), ValueError),
        (lambda s: list(s), TypeError),
        (lambda s: Seeds.from_json("{"), ValueError),
        (lambda s: Seeds.from_json("[]"), ValueError),
        (lambda s: Seeds.from_json('{"seedwise_seeds": 99, "entropy": "1", "path": [], "overrides": []}'), ValueError),
        (lambda s: Seeds.from_json('{"seedwise_seeds": 1}'), ValueError),
        (lambda s: Seeds.from_json(3), TypeError),
        (lambda s: sw.as_seeds(None), TypeError),
        (lambda s: sw.as_seeds(-5), ValueError),
    ],
)
def test_bad_arguments(call, exc):
    with pytest.raises(exc):
        call(Seeds(0))


def test_errors_are_seedwise_errors():
    with pytest.raises(sw.SeedwiseError):
        Seeds(-1)
    with pytest.raises(sw.SeedwiseError):
        Seeds(0)[""]
