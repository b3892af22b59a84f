"""Issue 18 item 5: statistic names, extreme magnitudes, nan_policy where the errors suggest it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from seedwise import Seeds
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.stats import aso, bootstrap_ci, compare, iqm, t_interval, variance_interval

X = np.random.default_rng(4).normal(size=60)


@pytest.mark.parametrize(
    ("name", "fn"),
    [("mean", np.mean), ("median", np.median), ("std", lambda v, axis=-1: np.std(v, ddof=1, axis=axis))],
)
def test_bootstrap_ci_takes_a_statistic_by_name(name, fn):
    by_name = bootstrap_ci(X, name, seeds=Seeds(2), n_resamples=300)
    by_function = bootstrap_ci(X, fn, seeds=Seeds(2), n_resamples=300, vectorized=True)
    assert (by_name.low, by_name.high) == (by_function.low, by_function.high)


def test_bootstrap_ci_bad_statistic_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="statistic must be one of 'mean', 'median', 'iqm'"):
        bootstrap_ci(X, "average", seeds=Seeds(0))
    with pytest.raises(InvalidTypeError, match="statistic must be a function such as numpy.mean"):
        bootstrap_ci(X, 3, seeds=Seeds(0))


@pytest.mark.parametrize("scale", [1e308, 1e200, 1e-300])
def test_compare_at_extreme_magnitudes_equals_compare_at_unit_scale(scale):
    a, b = np.array([1.0, 1.1, 0.9, 1.05]), np.array([0.1, 0.2, 0.3, 0.15])
    ref = compare(a, b, seeds=Seeds(0), n_resamples=300)
    big = compare(a * scale, b * scale, seeds=Seeds(0), n_resamples=300)
    assert not big.notes or big.notes == ref.notes  # no overflow warnings turned into notes
    assert big.permutation_pvalue == ref.permutation_pvalue == pytest.approx(2 / 70)  # not 0.0
    for field in ("t_pvalue", "t_statistic", "effect_size", "effect_size_ci_low", "cohen_d", "rank_pvalue"):
        assert getattr(big, field) == pytest.approx(getattr(ref, field), rel=1e-9), field
    assert big.aso.eps_min == pytest.approx(ref.aso.eps_min, rel=1e-9)
    assert big.difference == pytest.approx(ref.difference * scale, rel=1e-9)
    assert big.difference_ci_high == pytest.approx(ref.difference_ci_high * scale, rel=1e-9)
    assert big.decision == ref.decision
    solo = aso(a * scale, b * scale, seeds=Seeds(0))
    assert solo.violation_ratio == ref.aso.violation_ratio


def test_compare_refuses_a_difference_beyond_float64():
    with pytest.raises(InvalidArgumentError, match="does not fit in a float64; rescale"):
        compare([1.7e308, 1.6e308, 1.75e308], [-1.7e308, -1.65e308, -1.6e308], seeds=Seeds(0), n_resamples=300)


@pytest.mark.parametrize(
    ("fn", "ref"),
    [
        (t_interval, lambda x: scipy.stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=scipy.stats.sem(x))),
        (variance_interval, None),
        (iqm, lambda x: scipy.stats.trim_mean(x, 0.25)),
    ],
)
def test_nan_policy_omit_is_accepted_where_the_error_suggests_it(fn, ref):
    values = [0.1, np.nan, 0.3, 0.25, 0.4]
    with pytest.raises(InvalidArgumentError, match="nan_policy='omit'"):
        fn(values)
    omitted = fn(values, nan_policy="omit")
    clean = fn([0.1, 0.3, 0.25, 0.4])
    assert omitted == clean if isinstance(clean, float) else tuple(omitted) == tuple(clean)
    if ref is not None:
        expected = ref(np.array([0.1, 0.3, 0.25, 0.4]))
        assert np.allclose(np.ravel(tuple(clean) if not isinstance(clean, float) else clean), np.ravel(expected))
    with pytest.raises(InvalidArgumentError, match="nan_policy"):
        fn(values, nan_policy="drop")


def test_aso_docstring_says_deepsig_returns_one_half_for_identical_samples():
    import seedwise.stats.aso as module

    assert "where deepsig returns 0" not in module.__doc__
    assert aso([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], seeds=Seeds(0)).violation_ratio == 0.5
    assert math.isfinite(aso([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], seeds=Seeds(0)).eps_min)
