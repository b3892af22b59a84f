"""How many seeds? Sample sizes for a t-test and for the P(A > B) test.

* :func:`t_test_power`: the exact power of the two-sample t-test (noncentral t with
  ``2n - 2`` degrees of freedom, both tails when two-sided) or of the paired t-test
  (``n - 1`` degrees of freedom). The noncentral t is integrated directly
  (:mod:`seedwise.stats._nct`): scipy's and statsmodels' return NaN in a third of the
  cells a search visits, which made :func:`seeds_needed` stop too early or too late.
* :func:`seeds_needed`: the smallest ``n`` whose power reaches ``power``; the same
  quantity as statsmodels' ``TTestIndPower().solve_power(effect_size=delta / std, ...)``
  (``TTestPower`` when paired) rounded up, where statsmodels is defined.
* :func:`seeds_needed_p_improvement`: runs per arm for Bouthillier et al.'s test of
  P(A > B) (2021, section 5), Noether's (1987) sample size for the Mann-Whitney test::

      N = (z_{1-alpha} + z_{1-beta})^2 / (6 (gamma - 1/2)^2)

  rounded up: 29 at ``gamma = 0.75``, ``alpha = beta = 0.05``.
"""

from __future__ import annotations

import math

import scipy.stats

from seedwise._validate import check_bool, check_choice, check_int, check_real
from seedwise.errors import InvalidArgumentError
from seedwise.stats._checks import ALTERNATIVES, open_unit, positive
from seedwise.stats._nct import nct_sf

__all__ = ["seeds_needed", "seeds_needed_p_improvement", "t_test_power"]

_MAX_N = 2**40


def _power(n: int, effect: float, alpha: float, alternative: str, paired: bool) -> float:
    """The power, arguments already validated; ``effect`` >= 0 unless one-sided."""
    if paired:
        df, nc = float(n - 1), effect * math.sqrt(n)
    else:
        df, nc = float(2 * n - 2), effect * math.sqrt(n / 2.0)
    if alternative == "two-sided":
        crit = float(scipy.stats.t.isf(alpha / 2.0, df))
        return min(1.0, nct_sf(crit, df, nc) + nct_sf(crit, df, -nc))
    if alternative == "less":
        nc = -nc
    return nct_sf(float(scipy.stats.t.isf(alpha, df)), df, nc)


def t_test_power(
    n: int, effect_size: float, alpha: float = 0.05, alternative: str = "two-sided", *, paired: bool = False
) -> float:
    """Power of the t-test with ``n`` runs per arm (``n`` pairs when ``paired``).

    Args:
        n: runs per arm, at least 2.
        effect_size: the standardised difference: ``delta / std`` (two-sample), or the
            mean paired difference over the standard deviation of the differences (paired).
        alpha: the false-positive rate of the test.
        alternative: ``"two-sided"``, ``"greater"`` (A > B) or ``"less"``.
        paired: the paired t-test (``n - 1`` degrees of freedom) instead of the two-sample one.

    Example:
        >>> round(t_test_power(4, 5.0, alpha=0.01), 3)
        0.99
    """
    paired = check_bool("paired", paired)
    n = check_int("n", n, low=2)
    effect = check_real("effect_size", effect_size, what="a number (delta / std)")
    alpha = open_unit("alpha", alpha, "0.05")
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    return _power(n, effect, alpha, alternative, paired)


def seeds_needed(
    std: float,
    delta: float,
    power: float = 0.8,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    *,
    paired: bool = False,
) -> int:
    """Runs per arm for a t-test to detect a difference ``delta`` with ``power``.

    Args:
        std: the standard deviation of the metric across seeds (from a pilot study); when
            ``paired``, the standard deviation of the paired differences ``a[i] - b[i]``
            (for runs of standard deviation ``s`` whose pairs correlate by ``r``, that is
            ``s * sqrt(2 * (1 - r))``).
        delta: the smallest difference of means worth detecting (its sign matters only
            for one-sided alternatives).
        power: the chance of detecting such a difference (0.8 is customary).
        alpha: the false-positive rate of the test.
        alternative: ``"two-sided"``, ``"greater"`` (A > B) or ``"less"``.
        paired: A and B run on the same seeds and are compared pair by pair (the design a
            seedwise study with ``paired=`` arms gives): the number of pairs for a paired t-test.

    Example:
        >>> seeds_needed(std=0.5, delta=0.5)   # one standard deviation
        17
        >>> seeds_needed(std=0.5, delta=0.5, paired=True)   # differences as spread as single runs
        10
    """
    paired = check_bool("paired", paired)
    std = positive("std", std)
    delta = check_real("delta", delta, what="a number (the difference to detect)")
    if delta == 0:
        raise InvalidArgumentError("delta must be a non-zero number (the difference to detect), got 0")
    power = open_unit("power", power, "0.8")
    alpha = open_unit("alpha", alpha, "0.05")
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    if power <= alpha:
        raise InvalidArgumentError(f"power ({power:g}) must exceed alpha ({alpha:g}): a test reaches alpha by chance")
    effect = delta / std
    if alternative != "two-sided" and (alternative == "greater") != (effect > 0):
        raise InvalidArgumentError(
            f"alternative={alternative!r} cannot detect delta={delta:g} of the other sign; "
            "flip the sign of delta or use alternative='two-sided'"
        )
    effect = abs(effect)
    alternative = "two-sided" if alternative == "two-sided" else "greater"

    def enough(n: int) -> bool:
        return _power(n, effect, alpha, alternative, paired) >= power

    if enough(2):
        return 2
    low, high = 2, 4  # not enough at low, enough at high
    while not enough(high):
        low, high = high, high * 2
        if high > _MAX_N:
            raise InvalidArgumentError(
                f"delta={delta:g} is too small against std={std:g}: more than 2**40 runs per arm needed"
            )
    while high - low > 1:
        mid = (low + high) // 2
        if enough(mid):
            high = mid
        else:
            low = mid
    return high


def seeds_needed_p_improvement(gamma: float = 0.75, alpha: float = 0.05, beta: float = 0.05) -> int:
    """Runs per arm to detect P(A > B) >= ``gamma`` (Noether 1987, as in Bouthillier et al. 2021).

    Args:
        gamma: the probability of improvement to detect (> 0.5; 0.75 recommended).
        alpha: false-positive rate (one-sided).
        beta: false-negative rate (1 - power).

    Example:
        >>> seeds_needed_p_improvement(gamma=0.75, alpha=0.05, beta=0.05)
        29
    """
    gamma = open_unit("gamma", gamma, "0.75")
    if gamma <= 0.5:
        raise InvalidArgumentError(f"gamma must be above 0.5 (0.75 recommended), got {gamma:g}")
    alpha = open_unit("alpha", alpha, "0.05")
    beta = open_unit("beta", beta, "0.05")
    z = float(scipy.stats.norm.ppf(1.0 - alpha) + scipy.stats.norm.ppf(1.0 - beta))
    if z <= 0:
        raise InvalidArgumentError(f"alpha + beta must be below 1, got alpha={alpha:g}, beta={beta:g}")
    n = z * z / (6.0 * (gamma - 0.5) ** 2)
    return max(2, math.ceil(n - 1e-9))
