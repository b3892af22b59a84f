"""describe(), intervals and IQM agree with scipy on the same inputs."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import scipy.stats

from seedwise import Seeds
from seedwise.stats import bootstrap_ci, describe, iqm, t_interval, variance_interval


def test_small_sample_uses_scipy_t_interval(test_seed):
    x = Seeds(test_seed).numpy().normal(0.9, 0.02, size=7)
    d = describe(x, seeds=Seeds(1))
    low, high = scipy.stats.t.interval(0.95, 6, loc=x.mean(), scale=scipy.stats.sem(x))
    assert d.ci_method == "t"
    assert d.ci_low == pytest.approx(low, rel=1e-12)
    assert d.ci_high == pytest.approx(high, rel=1e-12)
    assert d.mean == pytest.approx(np.mean(x), rel=1e-12)
    assert d.std == pytest.approx(np.std(x, ddof=1), rel=1e-12)
    assert d.median == np.median(x) and d.min == x.min() and d.max == x.max()


def test_large_sample_uses_scipy_bca_with_the_seeds_rng(test_seed):
    x = Seeds(test_seed).numpy().standard_exponential(size=50)
    seeds = Seeds(5)
    d = describe(x, seeds=seeds, confidence=0.9, n_resamples=2000)
    ref = scipy.stats.bootstrap(
        (x,),
        np.mean,
        confidence_level=0.9,
        n_resamples=2000,
        method="BCa",
        vectorized=True,
        rng=seeds["bootstrap"].numpy(),
    )
    assert d.ci_method == "BCa"
    assert d.ci_low == ref.confidence_interval.low
    assert d.ci_high == ref.confidence_interval.high
    assert d.ci_low < d.mean < d.ci_high


def test_failures_are_counted_and_left_out():
    d = describe([0.9, float("nan"), 0.8, 0.7, np.nan], seeds=Seeds(0))
    assert (d.n, d.failures, d.n_valid) == (5, 2, 3)
    assert d.mean == pytest.approx(0.8)
    assert any("failed" in note for note in d.notes)


def test_all_failed_and_single_and_constant_values():
    d = describe([np.nan, np.nan], seeds=Seeds(0))
    assert d.failures == 2 and math.isnan(d.mean) and d.ci_method == "none"
    one = describe([0.5], seeds=Seeds(0))
    assert one.mean == 0.5 and one.ci_method == "none" and math.isnan(one.std)
    const = describe([0.25] * 12, seeds=Seeds(0))
    assert (const.ci_low, const.ci_high, const.ci_method) == (0.25, 0.25, "degenerate")


def test_iqm_is_the_25_percent_trimmed_mean():
    x = np.array([100.0, 1, 2, 3, 4, 5, 6, 7, -50.0])
    assert iqm(x) == scipy.stats.trim_mean(x, 0.25)
    assert describe(x, seeds=Seeds(0)).iqm == iqm(x)


def test_intervals_match_scipy_formulas(test_seed):
    x = Seeds(test_seed).numpy().normal(size=12)
    ci = t_interval(x, confidence=0.8)
    assert (ci.low, ci.high) == pytest.approx(scipy.stats.t.interval(0.8, 11, loc=x.mean(), scale=scipy.stats.sem(x)))
    v = variance_interval(x)
    s2 = np.var(x, ddof=1)
    assert v.low == pytest.approx(11 * s2 / scipy.stats.chi2.ppf(0.975, 11))
    assert v.high == pytest.approx(11 * s2 / scipy.stats.chi2.ppf(0.025, 11))


def test_bootstrap_ci_two_samples_paired_and_percentile(test_seed):
    rng = Seeds(test_seed).numpy()
    x, y = rng.normal(size=50), rng.normal(size=50)
    ci = bootstrap_ci(
        (x, y),
        lambda a, b, axis=-1: np.mean(a - b, axis=axis),
        seeds=Seeds(3),
        paired=True,
        method="percentile",
        n_resamples=1000,
        vectorized=True,
    )
    ref = scipy.stats.bootstrap(
        (x, y),
        lambda a, b, axis=-1: np.mean(a - b, axis=axis),
        paired=True,
        method="percentile",
        n_resamples=1000,
        vectorized=True,
        rng=Seeds(3)["bootstrap"].numpy(),
    )
    assert (ci.low, ci.high) == (ref.confidence_interval.low, ref.confidence_interval.high)
    assert ci.method == "percentile"


def test_bootstrap_ci_of_the_mean_equals_describes(test_seed):
    x = Seeds(test_seed).numpy().normal(size=60)
    d = describe(x, seeds=Seeds(9), n_resamples=999)
    ci = bootstrap_ci(x, np.mean, seeds=Seeds(9), n_resamples=999, vectorized=True)
    assert (ci.low, ci.high, ci.method) == (d.ci_low, d.ci_high, d.ci_method)


def test_results_are_json_and_print(test_seed):
    from rich.console import Console

    d = describe(list(Seeds(test_seed).numpy().normal(size=51)) + [float("nan")], seeds=Seeds(0))
    text = json.dumps(d.to_dict())
    assert json.loads(text)["failures"] == 1
    assert repr(d).startswith("Description(n=52, failures=1, mean=")
    console = Console(record=True, width=100, file=io.StringIO())
    console.print(d)
    text = console.export_text()
    assert "IQM" in text and "95% CI of mean (BCa)" in text
