"""P(A > B): the probability that a run of A beats a run of B, with a seeded CI.

Bouthillier et al. (2021), "Accounting for Variance in Machine Learning Benchmarks"
(MLSys), recommend testing this probability rather than a difference of means: it is
robust to outliers and speaks to practitioners ("A beats B in 80% of runs"). Their
decision rule: A is better when the estimate exceeds ``gamma`` (0.75 recommended:
meaningful) *and* the lower bound of its confidence interval exceeds 0.5
(significant). The interval is a percentile bootstrap, as in the paper, drawn from the
given seeds.

* unpaired: ``P(A > B) = mean over all pairs (i, j) of [a_i > b_j] + 0.5 [a_i = b_j]``
  (the Mann-Whitney U statistic divided by ``n m``);
* paired (A and B ran on the same seeds): ``mean_i [a_i > b_i] + 0.5 [a_i = b_i]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from seedwise._validate import check_choice
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import Seeds
from seedwise.stats._checks import (
    NAN_POLICIES,
    check_resamples,
    confidence_level,
    finite,
    open_unit,
    seeds_arg,
    values_1d,
)
from seedwise.stats._result import Result, fmt, fmt_ci
from seedwise.stats.intervals import _bootstrap

__all__ = ["PImprovement", "p_improvement", "DECISIONS"]

#: The outcomes of Bouthillier et al.'s decision rule.
DECISIONS = ("A better", "B better", "not meaningful", "not significant")


@dataclass(frozen=True, repr=False)
class PImprovement(Result):
    """P(A > B) with its CI and Bouthillier et al.'s decision.

    Attributes:
        estimate: the estimated probability that a run of A beats a run of B.
        ci_low, ci_high: its percentile-bootstrap interval; confidence: its coverage.
        gamma: the probability that counts as a meaningful improvement.
        paired: whether the runs were paired by seed.
        decision: ``"A better"`` (estimate > gamma and ci_low > 0.5), ``"B better"``
            (estimate < 1 - gamma and ci_high < 0.5), ``"not meaningful"`` (the interval
            excludes 0.5 but the estimate does not pass gamma) or ``"not significant"``
            (the interval contains 0.5).
    """

    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    gamma: float
    paired: bool
    decision: str
    ci_method: str = "percentile"

    @property
    def verdict(self) -> str:
        ci = f"P(A>B) = {self.estimate:.3f} {fmt_ci(self.ci_low, self.ci_high)}"
        return {
            "A better": f"A is better: {ci}, above gamma={self.gamma:g} and significant",
            "B better": f"B is better: {ci}, below 1-gamma={1 - self.gamma:g} and significant",
            "not meaningful": f"significant but not meaningful: {ci} does not pass gamma={self.gamma:g}",
            "not significant": f"no significant difference: {ci} contains 0.5",
        }[self.decision]

    def title(self) -> str:
        return "probability of improvement"

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("P(A > B)", fmt(self.estimate)),
            (f"{self.confidence:.0%} CI ({self.ci_method} bootstrap)", fmt_ci(self.ci_low, self.ci_high)),
            ("decision", self.verdict),
        ]

    def __repr__(self) -> str:
        return (
            f"PImprovement({self.estimate:.4f} {fmt_ci(self.ci_low, self.ci_high)}, gamma={self.gamma:g}, "
            f"decision={self.decision!r})"
        )


def _prob_unpaired(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.moveaxis(x, axis, -1)[..., :, None]
    y = np.moveaxis(y, axis, -1)[..., None, :]
    return np.mean(x > y, axis=(-2, -1)) + 0.5 * np.mean(x == y, axis=(-2, -1))


def _prob_paired(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x > y, axis=axis) + 0.5 * np.mean(x == y, axis=axis)


def decide(estimate: float, low: float, high: float, gamma: float) -> str:
    """Bouthillier et al.'s rule (see :class:`PImprovement`)."""
    if low > 0.5 and estimate > gamma:
        return "A better"
    if high < 0.5 and estimate < 1.0 - gamma:
        return "B better"
    if low > 0.5 or high < 0.5:
        return "not meaningful"
    return "not significant"


def p_improvement(
    a: Any,
    b: Any,
    *,
    seeds: Seeds,
    paired: bool = False,
    gamma: float = 0.75,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    nan_policy: str = "raise",
) -> PImprovement:
    """Estimate P(A > B) with a percentile-bootstrap CI and apply Bouthillier et al.'s rule.

    Args:
        a, b: one score per run (higher is better); equal length when ``paired``.
        seeds: the stream the bootstrap draws from (required).
        paired: A and B ran on the same seeds, ``a[i]`` with ``b[i]``.
        gamma: the probability of improvement that counts as meaningful (0.75 recommended).
        confidence: coverage of the interval.
        n_resamples: bootstrap resamples.
        nan_policy: ``"raise"`` on NaN (failed runs) or ``"omit"`` them (pairs, when paired).
    """
    seeds = seeds_arg(seeds, "p_improvement")
    gamma = open_unit("gamma", gamma, "0.75")
    if gamma <= 0.5:
        raise InvalidArgumentError(f"gamma must be above 0.5 (0.75 recommended), got {gamma:g}")
    confidence = confidence_level(confidence)
    count = check_resamples(n_resamples)
    x, y = paired_or_not(a, b, paired=paired, nan_policy=nan_policy, min_n=2)
    return _p_improvement(x, y, seeds, paired, gamma, confidence, count)


def _p_improvement(
    x: np.ndarray, y: np.ndarray, seeds: Seeds, paired: bool, gamma: float, confidence: float, count: int
) -> PImprovement:
    stat = _prob_paired if paired else _prob_unpaired
    estimate = float(stat(x, y))
    batch = None if paired else max(1, 4_000_000 // (x.size * y.size))
    interval = _bootstrap((x, y), stat, seeds["p_improvement"], confidence, "percentile", count, paired, True, batch)
    return PImprovement(
        estimate=estimate,
        ci_low=interval.low,
        ci_high=interval.high,
        confidence=confidence,
        gamma=gamma,
        paired=paired,
        decision=decide(estimate, interval.low, interval.high, gamma),
        ci_method=interval.method,
    )


def paired_or_not(a: Any, b: Any, *, paired: bool, nan_policy: str, min_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate two samples; when paired, check equal lengths and drop NaN pairs if asked."""
    if not isinstance(paired, bool):
        raise InvalidArgumentError(f"paired must be True or False, got {paired!r}")
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    if not paired:
        x = finite("a", a, min_n=min_n, nan_policy=nan_policy)
        y = finite("b", b, min_n=min_n, nan_policy=nan_policy)
        return x, y
    x, y = values_1d("a", a), values_1d("b", b)
    if x.size != y.size:
        raise InvalidArgumentError(
            f"paired=True needs a and b of equal length (run i of A paired with run i of B), "
            f"got {x.size} and {y.size}; pass paired=False for independent runs"
        )
    keep = ~(np.isnan(x) | np.isnan(y))
    if not keep.all():
        if nan_policy == "raise":
            raise InvalidArgumentError(
                f"a or b contains NaN in {int((~keep).sum())} pair(s) (failed runs?); drop them, "
                "or pass nan_policy='omit' to analyse the complete pairs only"
            )
        x, y = x[keep], y[keep]
    finite("a", x, min_n=min_n, why=" (complete pairs)")
    return x, y
