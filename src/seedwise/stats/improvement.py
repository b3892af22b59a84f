"""P(A > B): the probability that a run of A beats a run of B, with a seeded CI.

Bouthillier et al. (2021), "Accounting for Variance in Machine Learning Benchmarks"
(MLSys), recommend testing this probability rather than a difference of means: it is
robust to outliers and speaks to practitioners ("A beats B in 80% of runs"). Their
decision rule: A is better when the estimate exceeds ``gamma`` (0.75 recommended:
meaningful) *and* the lower bound of its confidence interval exceeds 0.5
(significant). The interval is a percentile bootstrap, as in the paper, drawn from the
given seeds.

**Few runs.** With 2 or 3 runs per arm the bootstrap interval collapses (every resample
of ``[.5, .7]`` against ``[.4, .45]`` gives P = 1, so the interval is ``[1, 1]``), and
the rule called 23-50% of comparisons of identical distributions significant. seedwise
therefore also requires the exact test of P(A > B) = 1/2 to reject at the same level:
the Mann-Whitney U test (exact distribution; with ties, exact enumeration of the
permutations up to 13,000 of them, the normal approximation beyond) or, paired, the
sign test. Below 4 runs per arm (6 pairs) no outcome passes it at 95% (the smallest
possible p-value is 0.1, or 0.0625 paired), and ``notes`` says so.

* unpaired: ``P(A > B) = mean over all pairs (i, j) of [a_i > b_j] + 0.5 [a_i = b_j]``
  (the Mann-Whitney U statistic divided by ``n m``);
* paired (A and B ran on the same seeds): ``mean_i [a_i > b_i] + 0.5 [a_i = b_i]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

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
from seedwise.stats._result import Result, fmt, fmt_ci, fmt_p
from seedwise.stats.intervals import _bootstrap

__all__ = ["PImprovement", "p_improvement", "DECISIONS", "min_runs_for_significance"]

#: The outcomes of Bouthillier et al.'s decision rule.
DECISIONS = ("A better", "B better", "not meaningful", "not significant")

#: With ties, the Mann-Whitney test enumerates the permutations up to this many.
_PERMUTATION_LIMIT = 13_000
#: Without ties, scipy's exact Mann-Whitney distribution up to this many runs in all.
_EXACT_LIMIT = 200


@dataclass(frozen=True, repr=False)
class PImprovement(Result):
    """P(A > B) with its CI and Bouthillier et al.'s decision.

    Attributes:
        estimate: the estimated probability that a run of A beats a run of B.
        ci_low, ci_high: its percentile-bootstrap interval; confidence: its coverage.
        gamma: the probability that counts as a meaningful improvement.
        paired: whether the runs were paired by seed.
        decision: ``"A better"`` (estimate > gamma, ci_low > 0.5 and the exact test
            significant), ``"B better"`` (estimate < 1 - gamma, ci_high < 0.5, exact test
            significant), ``"not meaningful"`` (significant, but the estimate does not pass
            gamma) or ``"not significant"`` (the interval contains 0.5, or the exact test
            does not reject).
        ci_method: how the interval was made (``"percentile"``, or ``"degenerate"``).
        exact_test, exact_pvalue: the two-sided test of P(A > B) = 1/2 that must also
            reject at ``1 - confidence``: Mann-Whitney U, or the sign test when paired.
        notes: why a decision is not significant with few runs.
    """

    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    gamma: float
    paired: bool
    decision: str
    ci_method: str = "percentile"
    exact_test: str = ""
    exact_pvalue: float = math.nan
    notes: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        ci = f"P(A>B) = {self.estimate:.3f} {fmt_ci(self.ci_low, self.ci_high)}"
        if self.decision == "not significant" and (self.ci_low > 0.5 or self.ci_high < 0.5):
            return (
                f"no significant difference: {ci} excludes 0.5 but the {self.exact_test} gives "
                f"p = {self.exact_pvalue:.3g} (not below {1 - self.confidence:.2g}): too few runs to trust the interval"
            )
        return {
            "A better": f"A is better: {ci}, above gamma={self.gamma:g} and significant",
            "B better": f"B is better: {ci}, below 1-gamma={1 - self.gamma:g} and significant",
            "not meaningful": f"significant but not meaningful: {ci} does not pass gamma={self.gamma:g}",
            "not significant": f"no significant difference: {ci} contains 0.5",
        }[self.decision]

    def title(self) -> str:
        return "probability of improvement"

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("P(A > B)", fmt(self.estimate)),
            (f"{self.confidence:.0%} CI ({self.ci_method} bootstrap)", fmt_ci(self.ci_low, self.ci_high)),
            (f"{self.exact_test}, two-sided", f"p={fmt_p(self.exact_pvalue)}"),
            ("decision", self.verdict),
        ]
        return rows + [("note", note) for note in self.notes]

    def __repr__(self) -> str:
        return (
            f"PImprovement({self.estimate:.4f} {fmt_ci(self.ci_low, self.ci_high)}, gamma={self.gamma:g}, "
            f"decision={self.decision!r})"
        )


def _prob_unpaired(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.moveaxis(x, axis, -1)[..., :, None]
    y = np.moveaxis(y, axis, -1)[..., None, :]
    p: np.ndarray = np.mean(x > y, axis=(-2, -1)) + 0.5 * np.mean(x == y, axis=(-2, -1))
    return p


def _prob_paired(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    p: np.ndarray = np.mean(x > y, axis=axis) + 0.5 * np.mean(x == y, axis=axis)
    return p


def decide(estimate: float, low: float, high: float, gamma: float, exact_significant: bool = True) -> str:
    """Bouthillier et al.'s rule (see :class:`PImprovement`), significant only if the exact test agrees."""
    if not exact_significant:
        return "not significant"
    if low > 0.5 and estimate > gamma:
        return "A better"
    if high < 0.5 and estimate < 1.0 - gamma:
        return "B better"
    if low > 0.5 or high < 0.5:
        return "not meaningful"
    return "not significant"


def _exact_test(x: np.ndarray, y: np.ndarray, paired: bool) -> tuple[str, float]:
    """The two-sided test of P(A > B) = 1/2: (its name, its p-value)."""
    if paired:
        wins, losses = int(np.sum(x > y)), int(np.sum(x < y))
        if wins + losses == 0:
            return "sign test", 1.0
        return "sign test", float(scipy.stats.binomtest(wins, wins + losses, 0.5).pvalue)
    pooled = np.concatenate([x, y])
    if np.all(pooled == pooled[0]):
        return "Mann-Whitney U test (exact)", 1.0
    method: Any
    if np.unique(pooled).size == pooled.size and pooled.size <= _EXACT_LIMIT:
        method, name = "exact", "Mann-Whitney U test (exact)"
    elif math.comb(pooled.size, x.size) <= _PERMUTATION_LIMIT:
        method, name = scipy.stats.PermutationMethod(n_resamples=np.inf), "Mann-Whitney U test (exact, with ties)"
    else:
        method, name = "asymptotic", "Mann-Whitney U test (normal approximation)"
    return name, float(scipy.stats.mannwhitneyu(x, y, method=method).pvalue)


def min_runs_for_significance(confidence: float = 0.95, *, paired: bool = False) -> int:
    """The fewest runs per arm (pairs, when paired) with which the exact test can reject at all."""
    alpha = 1.0 - confidence
    n = 2
    while (2.0 ** (1 - n) if paired else 2.0 / math.comb(2 * n, n)) >= alpha:
        n += 1
    return n


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
    test, pvalue = _exact_test(x, y, paired)
    significant = pvalue < 1.0 - confidence
    notes = []
    if paired:
        untied = int(np.sum(x != y))
        smallest, runs = min(1.0, 2.0 ** (1 - untied)), f"{untied} untied pairs"
    else:
        smallest, runs = 2.0 / math.comb(x.size + y.size, x.size), f"{x.size} and {y.size} runs"
    if smallest >= 1.0 - confidence:
        needed = min_runs_for_significance(confidence, paired=paired)
        notes.append(
            f"with {runs} no outcome can be significant at {confidence:.0%} (the smallest possible p-value of the "
            f"{test.split(' (')[0]} is {smallest:.3g}); run at least {needed} {'pairs' if paired else 'per arm'}"
        )
    elif not significant and (interval.low > 0.5 or interval.high < 0.5):
        notes.append(
            f"the bootstrap interval {fmt_ci(interval.low, interval.high)} excludes 0.5, but the {test} gives "
            f"p = {pvalue:.3g} >= {1 - confidence:.2g}: not significant (with {runs} the bootstrap interval "
            "is too narrow)"
        )
    return PImprovement(
        estimate=estimate,
        ci_low=interval.low,
        ci_high=interval.high,
        confidence=confidence,
        gamma=gamma,
        paired=paired,
        decision=decide(estimate, interval.low, interval.high, gamma, significant),
        ci_method=interval.method,
        exact_test=test,
        exact_pvalue=pvalue,
        notes=tuple(notes),
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
