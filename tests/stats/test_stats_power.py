"""t-test power without NaN, checked against an independent integral and simulation; seeds_needed's known answers.

scipy's noncentral t (and statsmodels, which calls it) returns NaN in about a third of the
(n, effect, alpha) cells a sample-size search visits, so scipy is not a reference here:
the reference is the noncentral t integrated the other way round (conditioning on the
chi-square, not on the normal, as seedwise does), in mpmath at 30 digits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.stats import seeds_needed, t_test_power

mpmath = pytest.importorskip("mpmath")
power_mod = pytest.importorskip("statsmodels.stats.power")


def _reference_sf(c: float, df: int, nc: float) -> float:
    """P(T > c) = E_V[Phi(nc - c sqrt(V / df))], V ~ chi2(df): mpmath, 30 digits."""
    with mpmath.workdps(30):
        k = mpmath.mpf(df) / 2
        log_norm = -k * mpmath.log(2) - mpmath.loggamma(k)

        def integrand(v):
            return mpmath.exp(log_norm + (k - 1) * mpmath.log(v) - v / 2) * mpmath.ncdf(nc - c * mpmath.sqrt(v / df))

        spread = 12 * mpmath.sqrt(2 * df)
        points = [0, max(df - spread, df / 4), df, df + spread, mpmath.inf]
        return float(mpmath.quad(integrand, points))


def _reference_power(n: int, d: float, alpha: float, alternative: str, paired: bool = False) -> float:
    df, nc = (n - 1, d * math.sqrt(n)) if paired else (2 * n - 2, d * math.sqrt(n / 2))
    if alternative == "two-sided":
        crit = float(scipy.stats.t.isf(alpha / 2, df))
        return _reference_sf(crit, df, nc) + _reference_sf(crit, df, -nc)
    return _reference_sf(float(scipy.stats.t.isf(alpha, df)), df, nc)


GRID = [
    (n, d, alpha, alt)
    for n in (2, 3, 4, 6, 11, 19, 40, 150)
    for d in (0.3, 1.0, 2.0, 5.0)
    for alpha in (0.001, 0.01, 0.05)
    for alt in ("two-sided", "greater")
    if (n * d * d < 2000)  # the integrals of power ~1 - 1e-300 add nothing
]


def test_the_grid_covers_scipys_nan_cells_and_high_power():
    powers = [_power_or_nan_scipy(*cell) for cell in GRID]
    assert sum(math.isnan(p) for p in powers) >= 10  # scipy alone is no reference here
    ours = [t_test_power(n, d, alpha, alt) for n, d, alpha, alt in GRID]
    assert sum(p >= 0.95 for p, (_, _, a, _) in zip(ours, GRID) if a <= 0.01) >= 20


def _power_or_nan_scipy(n, d, alpha, alt):
    df, nc = 2 * n - 2, d * math.sqrt(n / 2)
    if alt == "two-sided":
        crit = scipy.stats.t.isf(alpha / 2, df)
        return float(scipy.stats.nct.sf(crit, df, nc) + scipy.stats.nct.cdf(-crit, df, nc))
    return float(scipy.stats.nct.sf(scipy.stats.t.isf(alpha, df), df, nc))


@pytest.mark.parametrize(("n", "d", "alpha", "alternative"), GRID[::4])
def test_power_equals_an_independent_integral(n, d, alpha, alternative):
    ours = t_test_power(n, d, alpha, alternative)
    assert math.isfinite(ours)
    assert ours == pytest.approx(_reference_power(n, d, alpha, alternative), abs=1e-9)


@pytest.mark.parametrize(("n", "d"), [(2, 3.0), (5, 1.2), (9, 2.5), (30, 0.6)])
def test_paired_power_equals_an_independent_integral(n, d):
    for alpha, alternative in ((0.01, "two-sided"), (0.001, "greater")):
        ours = t_test_power(n, d, alpha, alternative, paired=True)
        assert ours == pytest.approx(_reference_power(n, d, alpha, alternative, paired=True), abs=1e-9)


def test_no_nan_anywhere():
    for n in (2, 3, 5, 8, 13, 100, 10_000, 2**30):
        for d in (0.0, 1e-4, 0.5, 3.0, 50.0):
            for alpha in (1e-6, 0.001, 0.05, 0.5, 0.9):
                for alt in ("two-sided", "greater", "less"):
                    p = t_test_power(n, d, alpha, alt)
                    assert 0.0 <= p <= 1.0, (n, d, alpha, alt, p)


SIMULATED = [
    # (n, d, alpha, alternative, paired): cells where scipy's nct is NaN or the power is >= 0.95
    (4, 5.0, 0.01, "two-sided", False),
    (19, 2.0, 0.001, "two-sided", False),
    (16, 2.0, 0.001, "two-sided", False),
    (3, 4.0, 0.05, "greater", False),
    (6, 2.5, 0.01, "two-sided", True),
]


@pytest.mark.parametrize(("n", "d", "alpha", "alternative", "paired"), SIMULATED)
def test_power_matches_simulated_t_tests(n, d, alpha, alternative, paired):
    trials = 40_000
    rng = np.random.default_rng(20240518)
    if paired:
        diff = rng.normal(d, 1.0, size=(trials, n))
        p = scipy.stats.ttest_1samp(diff, 0.0, axis=1, alternative=alternative).pvalue
    else:
        a, b = rng.normal(d, 1.0, size=(trials, n)), rng.normal(0.0, 1.0, size=(trials, n))
        p = scipy.stats.ttest_ind(a, b, axis=1, alternative=alternative).pvalue
    simulated = float(np.mean(p < alpha))
    ours = t_test_power(n, d, alpha, alternative, paired=paired)
    se = math.sqrt(max(ours * (1 - ours), 1e-4) / trials)
    assert abs(simulated - ours) < 4.5 * se, (simulated, ours)


def test_seeds_needed_known_answers():
    assert t_test_power(4, 5.0, alpha=0.01) == pytest.approx(0.990, abs=5e-4)  # scipy: NaN
    # The search stopped at 16 (power 0.968) when NaN counted as "enough"...
    assert seeds_needed(std=1, delta=2.0, power=0.99, alpha=0.001) == 19
    assert t_test_power(18, 2.0, 0.001) < 0.99 <= t_test_power(19, 2.0, 0.001)
    # ... and ran on to 1785 when it counted as "not enough".
    assert seeds_needed(std=1, delta=0.2, power=0.9, alpha=0.001) == 1048
    assert t_test_power(1047, 0.2, 0.001) < 0.9 <= t_test_power(1048, 0.2, 0.001)


@pytest.mark.parametrize("effect", [0.2, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_paired_seeds_needed_matches_statsmodels(effect, alternative):
    sm_alt = "larger" if alternative == "greater" else alternative
    n = power_mod.TTestPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, alternative=sm_alt)
    ours = seeds_needed(std=1.5, delta=1.5 * effect, power=0.8, alternative=alternative, paired=True)
    assert ours == max(2, math.ceil(n - 1e-6))
    ref = power_mod.TTestPower().power(effect_size=effect, nobs=ours, alpha=0.05, alternative=sm_alt)
    assert t_test_power(ours, effect, alternative=alternative, paired=True) == pytest.approx(ref, rel=1e-8)


def test_pairing_needs_fewer_seeds_when_pairs_correlate():
    std, r = 1.0, 0.6
    unpaired = seeds_needed(std=std, delta=0.5)
    paired = seeds_needed(std=std * math.sqrt(2 * (1 - r)), delta=0.5, paired=True)
    assert paired < unpaired


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (lambda: t_test_power(0, 1.0), InvalidArgumentError, "n must be >= 2"),
        (lambda: t_test_power(1, 1.0), InvalidArgumentError, "n must be >= 2"),
        (lambda: t_test_power(2.5, 1.0), InvalidTypeError, "n must be an int"),
        (lambda: t_test_power(5, 1.0, alpha=5), InvalidArgumentError, "alpha"),
        (lambda: t_test_power(5, 1.0, alpha=0.0), InvalidArgumentError, "alpha"),
        (lambda: t_test_power(5, 1.0, alternative="bogus"), InvalidArgumentError, "'two-sided', 'greater', 'less'"),
        (lambda: t_test_power(5, float("nan")), InvalidArgumentError, "effect_size"),
        (lambda: t_test_power(5, "big"), InvalidTypeError, "effect_size"),
        (lambda: t_test_power(5, 1.0, paired=1), InvalidTypeError, "paired"),
        (lambda: seeds_needed(std=1.0, delta=1.0, alpha=5), InvalidArgumentError, "alpha"),
        (lambda: seeds_needed(std=1.0, delta=float("inf")), InvalidArgumentError, "delta"),
        (lambda: seeds_needed(std=1.0, delta=1.0, paired="yes"), InvalidTypeError, "paired"),
    ],
)
def test_bad_arguments_raise(call, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace("'", "'")):
        call()
