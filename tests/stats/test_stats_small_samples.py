"""With 2 or 3 runs a bootstrap collapses: no "significant" decision and no ASO dominance may come of it.

Before, compare([.5, .7], [.4, .45]) said "A better" with P(A>B) = 1 [1, 1] and eps_min = 0,
while the exact Mann-Whitney and permutation p-values were 0.33; with A and B from one
distribution, "A/B better" came out in 23-50% of comparisons at n = 2-3. These tests
simulate that false-positive rate (fixed seed, stated tolerance).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from seedwise import Seeds
from seedwise.stats import aso, compare, p_improvement
from seedwise.stats.aso import ASO_MIN_N
from seedwise.stats.improvement import min_runs_for_significance

CALLED = ("A better", "B better")


def test_the_reported_case_is_not_significant():
    r = compare([0.5, 0.7], [0.4, 0.45], seeds=Seeds(0))
    assert r.p_improvement.estimate == 1.0  # the bootstrap interval is still [1, 1] ...
    assert r.decision == "not significant"  # ... but it no longer decides
    assert r.p_improvement.exact_pvalue == pytest.approx(1 / 3)
    assert r.p_improvement.exact_pvalue == pytest.approx(scipy.stats.mannwhitneyu([0.5, 0.7], [0.4, 0.45]).pvalue)
    assert not r.aso.dominant
    assert any("no outcome can be significant" in n for n in r.notes)
    assert any(f"at least {ASO_MIN_N} runs" in n for n in r.notes)
    assert "exact" in r.verdict or "p = 0.333" in r.verdict


def test_minimum_runs_follow_from_the_exact_tests():
    # unpaired: smallest two-sided p = 2 / C(2n, n): 0.1 at 3 + 3, 0.029 at 4 + 4
    assert min_runs_for_significance(0.95) == 4
    # paired (sign test): 2 / 2**n: 0.0625 at 5 pairs, 0.031 at 6
    assert min_runs_for_significance(0.95, paired=True) == 6
    assert min_runs_for_significance(0.99) == 5  # 2 / C(10, 5) = 0.0079


@pytest.mark.parametrize("paired", [False, True])
def test_no_decision_below_the_minimum_whatever_the_data(paired):
    rng = np.random.default_rng(5)
    for n in range(2, min_runs_for_significance(paired=paired)):
        for r in range(40):
            a, b = rng.normal(3.0, 1.0, size=n), rng.normal(0.0, 1.0, size=n)  # a large true difference
            result = p_improvement(a, b, seeds=Seeds(r), paired=paired, n_resamples=200)
            assert result.decision == "not significant"
            assert result.notes and "no outcome can be significant" in result.notes[0]


@pytest.mark.parametrize("paired", [False, True])
def test_false_positive_rate_of_the_decision_at_small_n(paired):
    """A and B from one distribution, n = 2..6 runs per arm: "A/B better" at most 5% (+ 3 SE)."""
    rng = np.random.default_rng(20240601)
    reps, called = 100, 0
    sizes = range(2, 7)
    for n in sizes:
        for r in range(reps):
            a, b = rng.normal(size=n), rng.normal(size=n)
            called += p_improvement(a, b, seeds=Seeds(r), paired=paired, n_resamples=300).decision in CALLED
    total = reps * len(sizes)
    rate = called / total
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / total), rate  # measured before: 0.15 unpaired, 0.19 paired


def test_aso_declares_no_dominance_below_its_minimum():
    rng = np.random.default_rng(8)
    for n in range(2, ASO_MIN_N):
        for r in range(30):
            result = aso(rng.normal(2.0, 1.0, size=n), rng.normal(0.0, 1.0, size=n), seeds=Seeds(r), n_resamples=200)
            assert not result.dominant and result.notes
    big = aso(rng.normal(2.0, 1.0, size=ASO_MIN_N), rng.normal(-2.0, 0.5, size=ASO_MIN_N), seeds=Seeds(0))
    assert big.dominant and not big.notes


def test_aso_false_dominance_rate_from_the_minimum():
    """Both from one distribution at 6-8 runs: eps_min < 0.2 at most 5% (+ 3 SE); 10% at 3 runs before."""
    rng = np.random.default_rng(99)
    reps, dominant = 150, 0
    sizes = range(ASO_MIN_N, ASO_MIN_N + 3)
    for n in sizes:
        for r in range(reps):
            dominant += aso(rng.normal(size=n), rng.normal(size=n), seeds=Seeds(r), n_resamples=500).dominant
    total = reps * len(sizes)
    assert dominant / total <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / total)


def test_ties_use_an_exact_permutation_distribution():
    a, b = [1.0, 2.0, 2.0, 3.0, 3.0], [2.0, 2.0, 1.0, 1.0, 0.0]
    r = p_improvement(a, b, seeds=Seeds(0), n_resamples=200)
    ref = scipy.stats.mannwhitneyu(a, b, method=scipy.stats.PermutationMethod(n_resamples=np.inf)).pvalue
    assert r.exact_test == "Mann-Whitney U test (exact, with ties)" and r.exact_pvalue == pytest.approx(ref)
    paired = p_improvement(a, b, seeds=Seeds(0), paired=True, n_resamples=200)
    wins, losses = 3, 1  # one tie dropped
    assert paired.exact_test == "sign test"
    assert paired.exact_pvalue == pytest.approx(scipy.stats.binomtest(wins, wins + losses).pvalue)
