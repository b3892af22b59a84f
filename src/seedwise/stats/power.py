"""How many seeds? Sample sizes for a t-test and for the P(A > B) test.

* :func:`seeds_needed`: runs per arm for a two-sample t-test to detect a difference
  ``delta`` between means when runs vary with standard deviation ``std``, found by
  iterating the exact power of the test (noncentral t with ``2n - 2`` degrees of freedom,
  both tails for a two-sided test), the same quantity as statsmodels'
  ``TTestIndPower().solve_power(effect_size=delta / std, ...)`` rounded up.
* :func:`seeds_needed_p_improvement`: runs per arm for Bouthillier et al.'s test of
  P(A > B) (2021, section 5), Noether's (1987) sample size for the Mann-Whitney test::

      N = (z_{1-alpha} + z_{1-beta})^2 / (6 (gamma - 1/2)^2)

  rounded up: 29 at ``gamma = 0.75``, ``alpha = beta = 0.05``.
"""

from __future__ import annotations

import math
import numbers

import scipy.stats

from seedwise._validate import check_choice
from seedwise.errors import InvalidArgumentError
from seedwise.stats._checks import ALTERNATIVES, open_unit, positive

__all__ = ["seeds_needed", "seeds_needed_p_improvement", "t_test_power"]

_MAX_N = 2**40


def t_test_power(n: int, effect_size: float, alpha: float = 0.05, alternative: str = "two-sided") -> float:
    """Power of the two-sample t-test with ``n`` runs per arm at standardised ``effect_size``."""
    df = 2 * n - 2
    nc = effect_size * math.sqrt(n / 2.0)
    if alternative == "two-sided":
        crit = scipy.stats.t.isf(alpha / 2.0, df)
        return float(scipy.stats.nct.sf(crit, df, nc) + scipy.stats.nct.cdf(-crit, df, nc))
    if alternative == "less":
        nc = -nc
    crit = scipy.stats.t.isf(alpha, df)
    return float(scipy.stats.nct.sf(crit, df, nc))


def seeds_needed(
    std: float, delta: float, power: float = 0.8, alpha: float = 0.05, alternative: str = "two-sided"
) -> int:
    """Runs per arm for a two-sample t-test to detect a difference ``delta`` with ``power``.

    Args:
        std: the standard deviation of the metric across seeds (from a pilot study).
        delta: the smallest difference of means worth detecting (its sign matters only
            for one-sided alternatives).
        power: the chance of detecting such a difference (0.8 is customary).
        alpha: the false-positive rate of the test.
        alternative: ``"two-sided"``, ``"greater"`` (A > B) or ``"less"``.

    Example:
        >>> seeds_needed(std=0.5, delta=0.5)   # one standard deviation
        17
    """
    std = positive("std", std)
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not math.isfinite(delta) or delta == 0:
        raise InvalidArgumentError(f"delta must be a finite non-zero number (the difference to detect), got {delta!r}")
    power = open_unit("power", power, "0.8")
    alpha = open_unit("alpha", alpha, "0.05")
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    if power <= alpha:
        raise InvalidArgumentError(f"power ({power:g}) must exceed alpha ({alpha:g}): a test reaches alpha by chance")
    effect = float(delta) / std
    if alternative == "two-sided":
        effect = abs(effect)
    elif (alternative == "greater") != (effect > 0):
        raise InvalidArgumentError(
            f"alternative={alternative!r} cannot detect delta={delta:g} of the other sign; "
            "flip the sign of delta or use alternative='two-sided'"
        )
    else:
        effect = abs(effect)
        alternative = "greater"
    if t_test_power(2, effect, alpha, alternative) >= power:
        return 2
    low, high = 2, 4  # power(low) < target <= power(high)
    while t_test_power(high, effect, alpha, alternative) < power:
        low, high = high, high * 2
        if high > _MAX_N:
            raise InvalidArgumentError(
                f"delta={delta:g} is too small against std={std:g}: more than 2**40 runs per arm needed"
            )
    while high - low > 1:
        mid = (low + high) // 2
        if t_test_power(mid, effect, alpha, alternative) >= power:
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
    z = scipy.stats.norm.ppf(1.0 - alpha) + scipy.stats.norm.ppf(1.0 - beta)
    if z <= 0:
        raise InvalidArgumentError(f"alpha + beta must be below 1, got alpha={alpha:g}, beta={beta:g}")
    n = z * z / (6.0 * (gamma - 0.5) ** 2)
    return max(2, math.ceil(n - 1e-9))
