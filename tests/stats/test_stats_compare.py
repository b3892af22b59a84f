"""compare() and p_improvement() agree with scipy and apply Bouthillier et al.'s rule."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.stats

from seedwise import Seeds
from seedwise.stats import compare, p_improvement


@pytest.fixture
def ab(test_seed):
    rng = Seeds(test_seed).numpy()
    return rng.normal(0.80, 0.02, size=12), rng.normal(0.79, 0.03, size=9)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_unpaired_tests_match_scipy(ab, alternative):
    a, b = ab
    r = compare(a, b, seeds=Seeds(0), alternative=alternative, n_resamples=999)
    welch = scipy.stats.ttest_ind(a, b, equal_var=False, alternative=alternative)
    assert r.t_test == "Welch's t-test"
    assert r.t_statistic == pytest.approx(welch.statistic, rel=1e-12)
    assert r.t_df == pytest.approx(welch.df, rel=1e-12)
    assert r.t_pvalue == pytest.approx(welch.pvalue, rel=1e-12)
    mwu = scipy.stats.mannwhitneyu(a, b, alternative=alternative)
    assert r.rank_test == "Mann-Whitney U"
    assert (r.rank_statistic, r.rank_pvalue) == (pytest.approx(mwu.statistic), pytest.approx(mwu.pvalue, rel=1e-12))
    ci = scipy.stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)  # always two-sided
    assert (r.difference_ci_low, r.difference_ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert r.difference == pytest.approx(a.mean() - b.mean())


def test_cohens_d_uses_the_pooled_standard_deviation_and_g_corrects_it(ab):
    a, b = ab
    pooled = math.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    r = compare(a, b, seeds=Seeds(0), n_resamples=999)
    assert r.cohen_d == pytest.approx((a.mean() - b.mean()) / pooled)
    assert r.effect_size_name == "hedges_g"
    df = a.size + b.size - 2
    j = math.gamma(df / 2) / (math.sqrt(df / 2) * math.gamma((df - 1) / 2))
    assert r.effect_size == pytest.approx(j * r.cohen_d, rel=1e-12)
    assert r.effect_size_ci_low < r.effect_size < r.effect_size_ci_high


def test_paired_tests_match_scipy(ab):
    a, b = ab[0][:9], ab[1]
    r = compare(a, b, seeds=Seeds(0), paired=True, alternative="greater", n_resamples=999)
    rel = scipy.stats.ttest_rel(a, b, alternative="greater")
    assert r.t_test == "paired t-test" and r.t_pvalue == pytest.approx(rel.pvalue, rel=1e-12)
    ci = scipy.stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (r.difference_ci_low, r.difference_ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    w = scipy.stats.wilcoxon(a, b, alternative="greater")
    assert r.rank_test == "Wilcoxon signed-rank" and r.rank_pvalue == pytest.approx(w.pvalue, rel=1e-12)
    d = a - b
    assert r.effect_size_name == "hedges_g_z" and r.cohen_d == pytest.approx(d.mean() / d.std(ddof=1))
    j = math.gamma(4) / (math.sqrt(4) * math.gamma(3.5))  # J(8): 9 pairs
    assert r.effect_size == pytest.approx(j * r.cohen_d, rel=1e-12)


def test_permutation_test_is_exact_when_small_and_matches_scipy():
    a, b = np.array([0.91, 0.92, 0.95, 0.93]), np.array([0.90, 0.89, 0.92, 0.91, 0.88])
    r = compare(a, b, seeds=Seeds(0), n_resamples=999)
    assert r.permutation_exact and r.permutation_resamples == math.comb(9, 4)
    ref = scipy.stats.permutation_test(
        (a, b), lambda x, y, axis: x.mean(axis) - y.mean(axis), vectorized=True, n_resamples=np.inf
    )
    assert r.permutation_pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    # An exact test does not depend on the seeds.
    assert compare(a, b, seeds=Seeds(1), n_resamples=999).permutation_pvalue == r.permutation_pvalue
    paired = compare(a, b[:4], seeds=Seeds(0), paired=True, n_resamples=999)
    assert paired.permutation_exact and paired.permutation_resamples == 2**4


def test_permutation_test_samples_when_large(ab):
    a, b = ab
    r = compare(a, b, seeds=Seeds(0), n_resamples=999)
    assert not r.permutation_exact and r.permutation_resamples == 999
    assert 0 < r.permutation_pvalue <= 1


def test_p_improvement_estimate_is_the_mann_whitney_auc(ab):
    a, b = ab
    r = p_improvement(a, b, seeds=Seeds(0), n_resamples=999)
    u = scipy.stats.mannwhitneyu(a, b).statistic
    assert r.estimate == pytest.approx(u / (a.size * b.size))
    assert r.ci_low <= r.estimate <= r.ci_high
    paired = p_improvement([1.0, 2.0, 3.0, 4.0], [0.0, 2.0, 2.0, 5.0], seeds=Seeds(0), paired=True, n_resamples=999)
    assert paired.estimate == pytest.approx((1 + 0.5 + 1 + 0) / 4)


def test_decision_rule_of_bouthillier_et_al(test_seed):
    rng = Seeds(test_seed).numpy()
    better = compare(rng.normal(2.0, 1.0, 30), rng.normal(0.0, 1.0, 30), seeds=Seeds(0), n_resamples=999)
    assert better.decision == "A better"
    assert better.p_improvement.estimate > 0.75 and better.p_improvement.ci_low > 0.5
    assert better.aso.dominant
    worse = compare(rng.normal(0.0, 1.0, 30), rng.normal(2.0, 1.0, 30), seeds=Seeds(0), n_resamples=999)
    assert worse.decision == "B better" and not worse.aso.dominant
    same = compare(np.arange(20.0), np.arange(20.0) + 0.5, seeds=Seeds(0), n_resamples=999)
    assert same.decision == "not significant"
    assert "contains 0.5" in same.verdict


def test_degenerate_inputs_give_notes_not_warnings():
    r = compare([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], seeds=Seeds(0), paired=True, n_resamples=999)
    assert math.isnan(r.t_pvalue) and r.rank_pvalue == 1.0 and r.decision == "not significant"
    assert r.notes
    json.dumps(r.to_dict())
    u = compare([2.0, 2.0, 2.0], [1.0, 1.0, 1.0], seeds=Seeds(0), n_resamples=999)
    assert math.isnan(u.effect_size) and u.difference == 1.0 and u.p_improvement.estimate == 1.0


def test_nan_policy_omit_drops_failed_runs_and_pairs():
    a = [0.9, np.nan, 0.8, 0.85, 0.7]
    b = [0.6, 0.7, np.nan, 0.65, 0.6]
    r = compare(a, b, seeds=Seeds(0), nan_policy="omit", n_resamples=999)
    assert (r.n_a, r.n_b) == (4, 4)
    p = compare(a, b, seeds=Seeds(0), paired=True, nan_policy="omit", n_resamples=999)
    assert (p.n_a, p.n_b) == (3, 3)


def test_comparison_prints(ab):
    import io

    from rich.console import Console

    r = compare(*ab, seeds=Seeds(0), n_resamples=999)
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(r)
    text = console.export_text()
    for label in ("Welch's t-test", "Mann-Whitney U", "permutation test", "ASO eps_min", "P(A > B)", "decision"):
        assert label in text
    assert repr(r).startswith("Comparison(diff=")
    assert json.loads(json.dumps(r.to_dict()))["p_improvement"]["gamma"] == 0.75


def test_compare_draws_p_improvement_and_aso_from_the_same_named_streams(ab):
    a, b = ab
    from seedwise.stats import aso

    r = compare(a, b, seeds=Seeds(3), n_resamples=999)
    assert r.p_improvement == p_improvement(a, b, seeds=Seeds(3), n_resamples=999)
    assert r.aso == aso(a, b, seeds=Seeds(3))
