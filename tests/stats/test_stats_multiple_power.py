"""Bonferroni / Holm / Benjamini-Hochberg match statsmodels; sample sizes match statsmodels and the paper."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedwise.stats import (
    benjamini_hochberg,
    bonferroni,
    holm,
    seeds_needed,
    seeds_needed_p_improvement,
    t_test_power,
)

multitest = pytest.importorskip("statsmodels.stats.multitest")
power_mod = pytest.importorskip("statsmodels.stats.power")

pvalue_lists = st.lists(
    st.one_of(st.floats(0.0, 1.0, allow_nan=False), st.sampled_from([0.0, 0.01, 0.025, 0.05, 0.1, 1.0])),
    min_size=1,
    max_size=30,
)


@settings(max_examples=30)
@given(pvalue_lists)
def test_bonferroni_matches_statsmodels(p):
    reject, adjusted, _, _ = multitest.multipletests(p, alpha=0.05, method="bonferroni")
    ours = bonferroni(p, alpha=0.05)
    assert np.allclose(ours.adjusted, adjusted, rtol=1e-12, atol=1e-15)
    assert list(ours.reject) == list(reject)
    # Holm rejects everything Bonferroni does
    assert all(h or not b for h, b in zip(holm(p, alpha=0.05).reject, ours.reject))


def test_bonferroni_next_to_holm_textbook_example():
    # Holm (1979)-style example: m = 4, alpha = 0.05
    p = [0.01, 0.04, 0.03, 0.005]
    assert bonferroni(p).adjusted == pytest.approx((0.04, 0.16, 0.12, 0.02))
    assert bonferroni(p).reject == (True, False, False, True)
    assert holm(p).adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert "bonferroni" in repr(bonferroni(p))


@settings(max_examples=30)
@given(pvalue_lists)
def test_holm_matches_statsmodels(p):
    reject, adjusted, _, _ = multitest.multipletests(p, alpha=0.05, method="holm")
    ours = holm(p, alpha=0.05)
    assert np.allclose(ours.adjusted, adjusted, rtol=1e-12, atol=1e-15)
    assert list(ours.reject) == list(reject)


@settings(max_examples=30)
@given(pvalue_lists)
def test_benjamini_hochberg_matches_statsmodels(p):
    reject, adjusted, _, _ = multitest.multipletests(p, alpha=0.1, method="fdr_bh")
    ours = benjamini_hochberg(p, alpha=0.1)
    assert np.allclose(ours.adjusted, adjusted, rtol=1e-12, atol=1e-15)
    assert list(ours.reject) == list(reject)


def test_corrections_keep_order_and_print():
    r = holm([0.04, 0.01, 0.03])
    assert r.adjusted == pytest.approx((0.06, 0.03, 0.06))
    assert np.asarray(r).shape == (3,)
    assert "holm" in repr(r) and r.to_dict()["reject"] == [False, True, False]


@pytest.mark.parametrize("effect", [0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.5])
@pytest.mark.parametrize("power", [0.8, 0.9])
@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_seeds_needed_matches_statsmodels(effect, power, alternative):
    sm_alt = "larger" if alternative == "greater" else alternative
    n = power_mod.TTestIndPower().solve_power(effect_size=effect, alpha=0.05, power=power, alternative=sm_alt)
    ours = seeds_needed(std=2.0, delta=2.0 * effect, power=power, alpha=0.05, alternative=alternative)
    assert ours == max(2, math.ceil(n - 1e-6))
    assert t_test_power(ours, effect, 0.05, alternative) >= power
    if ours > 2:
        assert t_test_power(ours - 1, effect, 0.05, alternative) < power


def test_power_function_matches_statsmodels():
    for n in (3, 10, 40):
        ref = power_mod.TTestIndPower().power(effect_size=0.7, nobs1=n, alpha=0.05, ratio=1.0)
        assert t_test_power(n, 0.7) == pytest.approx(ref, rel=1e-9)


def test_seeds_needed_p_improvement_reproduces_bouthillier_29():
    assert seeds_needed_p_improvement(gamma=0.75, alpha=0.05, beta=0.05) == 29
    assert seeds_needed_p_improvement() == 29
    # Closer to 0.5 needs many more runs; a larger gamma, fewer.
    assert seeds_needed_p_improvement(gamma=0.6) > 29 > seeds_needed_p_improvement(gamma=0.9)


def test_seeds_needed_is_monotone():
    assert seeds_needed(std=1.0, delta=0.5) > seeds_needed(std=1.0, delta=1.0) > seeds_needed(std=1.0, delta=2.0)
    assert seeds_needed(std=1.0, delta=-0.5) == seeds_needed(std=1.0, delta=0.5)
    assert seeds_needed(std=1.0, delta=0.5, power=0.95) > seeds_needed(std=1.0, delta=0.5, power=0.8)
