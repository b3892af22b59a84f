"""Almost Stochastic Order: basic properties and agreement with deepsig's algorithm."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from seedwise import Seeds
from seedwise.stats import aso, violation_ratio


def _grid_ratio(a, b, dt=0.005):
    """deepsig's violation ratio as its documentation describes it: the two empirical quantile
    functions (sorted value at index ceil(n t) - 1) summed on the grid t = 0, dt, 2 dt, ..."""
    a, b = np.sort(a), np.sort(b)

    def q(x, t):
        return x[np.clip(np.ceil(x.size * t).astype(int) - 1, 0, x.size - 1)]

    t = np.arange(0.0, 1.0, dt)
    diff = q(b, t) - q(a, t)
    return float(np.sum(np.maximum(diff, 0) ** 2) / np.sum(diff**2))


def test_exact_ratio_agrees_with_deepsig_grid(test_seed):
    rng = Seeds(test_seed).numpy()
    a, b = rng.normal(0.3, 1.0, 13), rng.normal(0.0, 1.5, 17)
    assert violation_ratio(a, b) == pytest.approx(_grid_ratio(a, b, dt=1e-5), abs=1e-3)
    assert violation_ratio(a, b) == pytest.approx(_grid_ratio(a, b), abs=0.03)


def test_known_case_by_hand():
    # Quantiles of a: 0 then 3; of b: 1 then 2 (t in halves). Differences b - a: +1, -1.
    assert violation_ratio([0.0, 3.0], [1.0, 2.0]) == pytest.approx(0.5)
    # a = (0, 4), b = (1, 2): differences +1 (violation) and -2: 1 / (1 + 4).
    assert violation_ratio([0.0, 4.0], [1.0, 2.0]) == pytest.approx(0.2)


def test_symmetry():
    rng = np.random.default_rng(0)  # test data only
    a, b = rng.normal(size=9), rng.normal(size=11)
    assert violation_ratio(a, b) == pytest.approx(1.0 - violation_ratio(b, a))


def test_dominant_a_gives_eps_near_zero(test_seed):
    rng = Seeds(test_seed).numpy()
    res = aso(rng.normal(3.0, 1.0, 20), rng.normal(0.0, 1.0, 20), seeds=Seeds(0))
    assert res.violation_ratio < 0.02 and res.eps_min < 0.1 and res.dominant
    rev = aso(rng.normal(0.0, 1.0, 20), rng.normal(3.0, 1.0, 20), seeds=Seeds(0))
    assert rev.eps_min > 0.9 and not rev.dominant


def test_same_distribution_gives_about_one_half(test_seed):
    rng = Seeds(test_seed).numpy()
    ratios = [violation_ratio(rng.normal(size=30), rng.normal(size=30)) for _ in range(300)]
    assert abs(np.mean(ratios) - 0.5) < 0.1
    # The ratio of one pair of samples is U-shaped around 0.5 (a chance shift of the means
    # pushes it towards 0 or 1), so look at many pairs: eps_min is an upper bound, and
    # most pairs are far from "dominant".
    results = [aso(rng.normal(size=20), rng.normal(size=20), seeds=Seeds(i), n_resamples=300) for i in range(40)]
    assert all(r.eps_min >= r.violation_ratio for r in results)
    assert np.median([r.eps_min for r in results]) > 0.5
    # False "A dominates" claims under the null are rare (about 4% at n = 20, threshold 0.2).
    assert np.mean([r.dominant for r in results]) <= 0.2


def test_eps_min_is_the_upper_bound_of_deepsig():
    rng = np.random.default_rng(1)  # test data only
    a, b = rng.normal(0.5, 1.0, 15), rng.normal(0.0, 1.0, 15)
    res = aso(a, b, seeds=Seeds(0), confidence=0.95)
    expected = res.violation_ratio + scipy.stats.norm.ppf(0.95) * res.sigma / math.sqrt(15 * 15 / 30)
    assert res.eps_min == pytest.approx(min(max(expected, 0.0), 1.0))
    # More confidence, a larger bound.
    assert aso(a, b, seeds=Seeds(0), confidence=0.99).eps_min >= res.eps_min


def test_fixed_resample_size_is_deepsigs_older_estimator():
    rng = np.random.default_rng(2)  # test data only
    a, b = rng.normal(0.2, 1.0, 12), rng.normal(0.0, 1.0, 9)
    res = aso(a, b, seeds=Seeds(0), resample_size=500, n_resamples=300)
    scale = math.sqrt(12 * 9 / 21)
    assert res.resample_size == 500
    assert res.eps_min == pytest.approx(min(1.0, res.violation_ratio + scipy.stats.norm.ppf(0.95) * res.sigma / scale))
    assert res.sigma > 0


def test_identical_samples_are_undecided():
    assert violation_ratio([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 0.5
