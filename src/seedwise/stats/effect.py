"""Standardised effect sizes with exact confidence intervals: Hedges' g (and Cohen's d).

Cohen's d, the difference of means over the pooled standard deviation, is biased
upwards in small samples: its expectation is ``delta / J(df)`` with (Hedges 1981;
Hedges and Olkin 1985, eq. 5.3)::

    J(df) = Gamma(df / 2) / (sqrt(df / 2) Gamma((df - 1) / 2))

0.798 at 3 + 3 runs (``df = 4``): d is 25% too large there. **Hedges' g** ``= J(df) d``
is unbiased for normal runs. Paired runs use ``d_z``, the mean difference over the
standard deviation of the differences, and ``g_z = J(n - 1) d_z``.

The **confidence interval** inverts the noncentral t distribution of the t statistic
(Steiger and Fouladi 1997; Hedges and Olkin 1985, section 5.B): the statistic
``t = d / sqrt(1/n_a + 1/n_b)`` (paired: ``d_z sqrt(n)``) is noncentral t with ``df``
degrees of freedom and noncentrality ``delta / sqrt(1/n_a + 1/n_b)``; the bounds are
the noncentralities that put ``t`` at the ``1 - alpha/2`` and ``alpha/2`` quantiles,
scaled back and multiplied by ``J``. It is exact for normal runs with equal spread in
both arms (the pooled-variance model of d). The noncentral t comes from
:mod:`seedwise.stats._nct`, finite where scipy's returns NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
import scipy.special

from seedwise.stats._checks import confidence_level, magnitude_scale
from seedwise.stats._nct import nct_cdf
from seedwise.stats._result import Result, fmt, fmt_ci
from seedwise.stats.improvement import paired_or_not

__all__ = ["EffectSize", "effect_size", "hedges_correction"]


@dataclass(frozen=True, repr=False)
class EffectSize(Result):
    """A standardised difference A - B with its confidence interval.

    Attributes:
        name: ``"hedges_g"`` (unpaired) or ``"hedges_g_z"`` (paired).
        estimate: Hedges' g (or g_z); ci_low, ci_high: its interval at ``confidence``.
        cohen_d: the uncorrected d (or d_z); correction: ``J(df)``, so ``estimate = correction * cohen_d``.
        df: the degrees of freedom of the t statistic.
        notes: why an estimate or interval is undefined.
    """

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    cohen_d: float
    correction: float
    df: int
    notes: tuple[str, ...] = ()

    def title(self) -> str:
        return "effect size"

    def rows(self) -> list[tuple[str, str]]:
        label = "Hedges' g_z (paired)" if self.name == "hedges_g_z" else "Hedges' g"
        rows = [
            (f"{label}, {self.confidence:.0%} CI", f"{fmt(self.estimate)} {fmt_ci(self.ci_low, self.ci_high)}"),
            ("Cohen's d (uncorrected)" if self.name == "hedges_g" else "d_z (uncorrected)", fmt(self.cohen_d)),
        ]
        return rows + [("note", note) for note in self.notes]

    def __repr__(self) -> str:
        return (
            f"EffectSize({self.name}={fmt(self.estimate)} {fmt_ci(self.ci_low, self.ci_high)}, "
            f"cohen_d={fmt(self.cohen_d)}, df={self.df})"
        )


def hedges_correction(df: float) -> float:
    """``J(df)``, the factor that makes Cohen's d unbiased (NaN for ``df <= 1``, where E[d] is infinite)."""
    if df <= 1:
        return math.nan
    return math.exp(scipy.special.gammaln(df / 2.0) - scipy.special.gammaln((df - 1.0) / 2.0)) / math.sqrt(df / 2.0)


def _noncentrality(t: float, df: float, target: float) -> float:
    """The noncentrality ``nc`` with ``P(T <= t | nc) = target`` (the cdf falls as nc rises)."""

    def f(nc: float) -> float:
        return nct_cdf(t, df, nc) - target

    step = 2.0 + abs(t) / 4.0
    low, high = t - step, t + step
    while f(low) < 0:
        low -= step
        step *= 2
    while f(high) > 0:
        high += step
        step *= 2
    return float(scipy.optimize.brentq(f, low, high, xtol=1e-12, rtol=1e-12))


def _interval(t: float, df: float, scale: float, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    return _noncentrality(t, df, 1.0 - alpha / 2.0) * scale, _noncentrality(t, df, alpha / 2.0) * scale


def _effect(x: np.ndarray, y: np.ndarray, paired: bool, confidence: float) -> EffectSize:
    factor = magnitude_scale(x, y)
    x, y = x * factor, y * factor
    notes: list[str] = []
    if paired:
        diff = x - y
        name, df = "hedges_g_z", x.size - 1
        sd = float(np.std(diff, ddof=1))
        d = float(np.mean(diff)) / sd if sd > 0 else math.nan
        scale = 1.0 / math.sqrt(x.size)
        if sd == 0:
            notes.append("every pair differs by the same amount: the standardised effect is undefined")
    else:
        name, df = "hedges_g", x.size + y.size - 2
        sd = math.sqrt(((x.size - 1) * np.var(x, ddof=1) + (y.size - 1) * np.var(y, ddof=1)) / df)
        d = (float(np.mean(x)) - float(np.mean(y))) / sd if sd > 0 else math.nan
        scale = math.sqrt(1.0 / x.size + 1.0 / y.size)
        if sd == 0:
            notes.append("both A and B have zero spread: the standardised effect is undefined")
    j = hedges_correction(df)
    low = high = math.nan
    if math.isfinite(d) and math.isfinite(j):
        low, high = _interval(d / scale, df, scale, confidence)
        low, high = j * low, j * high
    elif math.isfinite(d):
        notes.append("one degree of freedom: Hedges' correction (and the interval) is undefined; run more seeds")
    return EffectSize(name, j * d, low, high, confidence, d, j, int(df), tuple(notes))


def effect_size(
    a: Any, b: Any, *, paired: bool = False, confidence: float = 0.95, nan_policy: str = "raise"
) -> EffectSize:
    """Hedges' g of A - B with an exact confidence interval (normal runs).

    Args:
        a, b: one score per run (at least 2 each); equal length when ``paired``.
        paired: A and B ran on the same seeds, ``a[i]`` with ``b[i]``: ``g_z`` from the differences.
        confidence: coverage of the interval.
        nan_policy: ``"raise"`` on NaN (failed runs) or ``"omit"`` them (pairs, when paired).

    Example:
        >>> e = effect_size([0.91, 0.93, 0.92], [0.90, 0.91, 0.89])
        >>> round(e.correction, 4), round(e.estimate / e.cohen_d, 4)   # d is 25% too large at 3 + 3
        (0.7979, 0.7979)
    """
    confidence = confidence_level(confidence)
    x, y = paired_or_not(a, b, paired=paired, nan_policy=nan_policy, min_n=2)
    return _effect(x, y, paired, confidence)
