"""Stateless distributions over Philox: pure in (key, counter), right shapes, ranges and laws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from seedwise import Seeds
from seedwise import stateless as S

U64 = st.integers(0, 2**64 - 1)


def test_pure_in_counter_whatever_the_grouping():
    s = Seeds(1)["aug"]
    idx = np.arange(100)
    whole = S.uniform(s, (3, idx), size=5)
    one_by_one = np.stack([S.uniform(s, (3, i), size=5) for i in idx])
    shuffled = np.random.default_rng(0).permutation(idx)
    assert np.array_equal(whole, one_by_one)
    assert np.array_equal(S.uniform(s, (3, shuffled), size=5), whole[shuffled])


def test_more_than_four_values_per_position():
    s = Seeds(2)
    big = S.raw(s, 7, size=10)
    assert np.array_equal(big[:4], S.raw(s, 7, size=4))
    assert len(set(big.tolist())) == 10


def test_counters_and_keys_change_output():
    s = Seeds(3)
    assert not np.array_equal(S.uniform(s, (0, 5)), S.uniform(s, (1, 5)))
    assert not np.array_equal(S.uniform(s, (0, 5)), S.uniform(s, (0, 6)))
    assert not np.array_equal(S.uniform(s, 5), S.uniform(Seeds(4), 5))


def test_shapes():
    s = Seeds(0)
    assert S.uniform(s, np.arange(6).reshape(2, 3), size=(4, 5)).shape == (2, 3, 4, 5)
    assert S.uniform(s, 3).shape == ()
    assert S.normal(s, np.arange(4), size=2).shape == (4, 2)
    assert S.permutation(s, np.arange(3), 10).shape == (3, 10)
    assert S.raw(s, np.arange(3), size=0).shape == (3, 0)


@given(seed=st.integers(0, 2**32), low=st.floats(-1e6, 1e6), width=st.floats(0, 1e6))
def test_uniform_in_range(seed, low, width):
    u = S.uniform(Seeds(seed), np.arange(200), low=low, high=low + width)
    assert np.all(u >= low) and np.all(u <= low + width)


@given(seed=st.integers(0, 2**32), low=st.integers(-(2**40), 2**40), span=st.integers(1, 2**40))
def test_integers_in_range(seed, low, span):
    v = S.integers(Seeds(seed), np.arange(200), low, low + span)
    assert v.dtype == np.int64
    assert np.all(v >= low) and np.all(v < low + span)


def test_distributions():
    s = Seeds(2024)
    n = np.arange(50_000)
    assert stats.kstest(S.uniform(s["u"], n), "uniform").pvalue > 1e-4
    assert stats.kstest(S.normal(s["n"], n), "norm").pvalue > 1e-4
    counts = np.bincount(S.integers(s["i"], n, 0, 10), minlength=10)
    assert stats.chisquare(counts).pvalue > 1e-4
    b = S.bernoulli(s["b"], n, 0.3)
    assert abs(b.mean() - 0.3) < 0.01
    z = S.normal(s["m"], n, loc=5.0, scale=2.0)
    assert abs(z.mean() - 5) < 0.05 and abs(z.std() - 2) < 0.05


def test_permutation_is_a_permutation_and_uniform():
    s = Seeds(5)
    perms = S.permutation(s, np.arange(3000), 4)
    assert np.array_equal(np.sort(perms, axis=1), np.tile(np.arange(4), (3000, 1)))
    first = np.bincount(perms[:, 0], minlength=4)
    assert stats.chisquare(first).pvalue > 1e-4


def test_dtype_option():
    assert S.uniform(Seeds(0), np.arange(3), dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda: S.uniform(5, 0), TypeError),
        (lambda: S.uniform(None, 0), TypeError),
        (lambda: S.uniform(np.zeros(3, np.uint64), 0), ValueError),
        (lambda: S.uniform(Seeds(0), -1), ValueError),
        (lambda: S.uniform(Seeds(0), 1.5), TypeError),
        (lambda: S.uniform(Seeds(0), (1, 2, 3, 4)), ValueError),
        (lambda: S.uniform(Seeds(0), 0, size=-1), ValueError),
        (lambda: S.uniform(Seeds(0), 0, size="a"), TypeError),
        (lambda: S.uniform(Seeds(0), 0, low=1.0, high=0.0), ValueError),
        (lambda: S.integers(Seeds(0), 0, 5, 5), ValueError),
        (lambda: S.integers(Seeds(0), 0, 0.5, 3), TypeError),
        (lambda: S.bernoulli(Seeds(0), 0, 1.5), ValueError),
        (lambda: S.permutation(Seeds(0), 0, -2), ValueError),
        (lambda: S.normal(Seeds(0), 0, scale=-1.0), ValueError),
        (lambda: S.philox(np.zeros(3, np.uint64), np.zeros(2, np.uint64)), ValueError),
        (lambda: S.uniform(Seeds(0), np.array([True, False])), TypeError),
    ],
)
def test_bad_arguments(call, exc):
    with pytest.raises(exc):
        call()


def test_scalar_counters():
    s = Seeds(1)
    v = S.integers(s, (0, 3), 0, 10)
    assert v.shape == () and 0 <= int(v) < 10
    assert S.integers(s, 3, 5).shape == ()
    assert S.uniform(s, (0, 3)).shape == ()
