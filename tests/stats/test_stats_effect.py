"""Hedges' g and its interval: the textbook correction, scipy's noncentral t, and simulation.

Cohen's d is about 25% too large at 3 + 3 runs (Hedges and Olkin 1985: J(4) = 0.7979).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from seedwise.errors import InvalidArgumentError
from seedwise.stats import compare, effect_size
from seedwise.stats.effect import hedges_correction


def test_hedges_correction_textbook_values():
    # J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)) for m degrees of freedom (Hedges 1981)
    for df, j in [(2, 0.5642), (4, 0.7979), (10, 0.9228), (20, 0.9619), (50, 0.9849)]:
        assert hedges_correction(df) == pytest.approx(j, abs=1e-4)
        assert hedges_correction(df) == pytest.approx(math.gamma(df / 2) / math.sqrt(df / 2) / math.gamma((df - 1) / 2))
    # the usual approximation 1 - 3 / (4 df - 1)
    assert hedges_correction(200) == pytest.approx(1 - 3 / (4 * 200 - 1), abs=1e-5)
    assert math.isnan(hedges_correction(1))


def test_g_is_unbiased_where_d_is_25_percent_too_large():
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 1.0, size=(20_000, 3)), rng.normal(0.0, 1.0, size=(20_000, 3))
    pooled = np.sqrt((a.var(axis=1, ddof=1) + b.var(axis=1, ddof=1)) / 2)
    d = (a.mean(axis=1) - b.mean(axis=1)) / pooled
    g = hedges_correction(4) * d
    se = d.std() / math.sqrt(d.size)
    assert abs(d.mean() - 1.0 / 0.7979) < 4 * se  # E[d] = delta / J(4): 25% too large
    assert abs(g.mean() - 1.0) < 4 * se * 0.7979


def _scipy_interval(t, df, scale, confidence=0.95):
    alpha = 1 - confidence
    lo = scipy.optimize.brentq(lambda nc: scipy.stats.nct.cdf(t, df, nc) - (1 - alpha / 2), t - 8, t + 8)
    hi = scipy.optimize.brentq(lambda nc: scipy.stats.nct.cdf(t, df, nc) - alpha / 2, t - 8, t + 8)
    return lo * scale, hi * scale


@pytest.mark.parametrize(("n_a", "n_b", "shift"), [(3, 3, 1.0), (5, 8, 0.3), (12, 12, -0.8), (20, 6, 2.0)])
def test_interval_equals_the_noncentral_t_inversion_with_scipy(n_a, n_b, shift):
    rng = np.random.default_rng(n_a * 100 + n_b)
    a, b = rng.normal(shift, 1.0, n_a), rng.normal(0.0, 1.0, n_b)
    e = effect_size(a, b)
    df = n_a + n_b - 2
    pooled = math.sqrt(((n_a - 1) * a.var(ddof=1) + (n_b - 1) * b.var(ddof=1)) / df)
    d = (a.mean() - b.mean()) / pooled
    scale = math.sqrt(1 / n_a + 1 / n_b)
    lo, hi = _scipy_interval(d / scale, df, scale)  # finite on these cells
    j = hedges_correction(df)
    assert e.cohen_d == pytest.approx(d, rel=1e-12) and e.estimate == pytest.approx(j * d, rel=1e-12)
    assert (e.ci_low, e.ci_high) == (pytest.approx(j * lo, abs=1e-7), pytest.approx(j * hi, abs=1e-7))


def test_paired_interval_equals_the_noncentral_t_inversion_with_scipy():
    rng = np.random.default_rng(11)
    a = rng.normal(0.0, 1.0, 9)
    b = a - rng.normal(0.7, 0.5, 9)
    e = effect_size(a, b, paired=True)
    diff = a - b
    dz = diff.mean() / diff.std(ddof=1)
    lo, hi = _scipy_interval(dz * 3.0, 8, 1 / 3.0)
    assert e.name == "hedges_g_z" and e.cohen_d == pytest.approx(dz)
    assert (e.ci_low, e.ci_high) == (pytest.approx(hedges_correction(8) * lo, abs=1e-7),
                                     pytest.approx(hedges_correction(8) * hi, abs=1e-7))  # fmt: skip


def test_interval_covers_by_simulation():
    """200 simulated 4 + 4 comparisons, delta = 1.5: the 95% interval of g covers delta (tolerance 0.045)."""
    rng = np.random.default_rng(2024)
    hits = 0
    for _ in range(200):
        e = effect_size(rng.normal(1.5, 1.0, 4), rng.normal(0.0, 1.0, 4))
        hits += e.ci_low <= 1.5 <= e.ci_high
    assert abs(hits / 200 - 0.95) < 0.045


def test_a_huge_effect_has_a_finite_interval():
    e = effect_size([10.0, 10.1, 10.2, 10.05], [0.0, 0.1, 0.05, 0.12])
    assert all(math.isfinite(v) for v in (e.estimate, e.ci_low, e.ci_high))
    assert e.ci_low < e.estimate < e.ci_high


def test_compare_reports_g_its_interval_and_d():
    a, b = [0.91, 0.93, 0.92], [0.90, 0.91, 0.89]
    r = compare(a, b, seeds=__import__("seedwise").Seeds(0), n_resamples=200)
    e = effect_size(a, b)
    assert (r.effect_size, r.effect_size_ci_low, r.effect_size_ci_high, r.cohen_d) == (
        e.estimate, e.ci_low, e.ci_high, e.cohen_d
    )  # fmt: skip
    assert r.effect_size / r.cohen_d == pytest.approx(0.7979, abs=1e-4)
    assert any("Hedges g" in label for label, _ in r.rows())


def test_degenerate_and_bad_input():
    e = effect_size([1.0, 1.0], [2.0, 2.0])
    assert math.isnan(e.estimate) and e.notes
    one_df = effect_size([1.0, 2.0], [0.0, 0.5], paired=True)  # 2 pairs: 1 degree of freedom
    assert math.isnan(one_df.estimate) and "one degree of freedom" in one_df.notes[0]
    with pytest.raises(InvalidArgumentError, match="equal length"):
        effect_size([1.0, 2.0, 3.0], [1.0, 2.0], paired=True)
    with pytest.raises(InvalidArgumentError, match="0.95"):
        effect_size([1.0, 2.0], [1.0, 2.0], confidence=95)
