"""``compare``: is A better than B, by how much, and how sure are we?

One call runs the analyses a careful reviewer would ask for, each on the same runs:

* the difference of means ``mean(A) - mean(B)`` with its two-sided t interval (Welch's,
  or the paired t interval when A and B ran on the same seeds), and Hedges' g with its
  exact interval (:func:`seedwise.stats.effect_size`; Cohen's d, 25% too large at 3 + 3
  runs, is kept as ``cohen_d``; paired: ``g_z`` from ``d_z``, the mean difference over
  the standard deviation of the differences);
* Welch's t-test (:func:`scipy.stats.ttest_ind` with ``equal_var=False``; paired:
  :func:`scipy.stats.ttest_rel`);
* the Mann-Whitney U test (:func:`scipy.stats.mannwhitneyu`; paired: the Wilcoxon
  signed-rank test, :func:`scipy.stats.wilcoxon`);
* a permutation test of the difference of means (:func:`scipy.stats.permutation_test`,
  drawing from the seeds; exact, over every permutation, when there are no more of them
  than ``n_resamples``);
* Almost Stochastic Order (:func:`seedwise.stats.aso`);
* P(A > B) with its CI and Bouthillier et al.'s decision rule
  (:func:`seedwise.stats.p_improvement`), which gives the ``decision``.

Higher is better; ``alternative`` is the alternative hypothesis about A - B for the
three tests (``"greater"``: A is better).

Values of extreme magnitude (beyond about 1e150, where variances overflow, or below
1e-150) are multiplied by a power of two, which is exact, before any arithmetic; means
and intervals are scaled back, and a difference that does not fit in a float64 raises.
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
    ALTERNATIVES,
    check_resamples,
    collect_warnings,
    confidence_level,
    magnitude_scale,
    open_unit,
    seeds_arg,
)
from seedwise.stats._result import Result, fmt, fmt_ci, fmt_p
from seedwise.stats.aso import ASO_THRESHOLD, ASOResult, _aso
from seedwise.stats.effect import _effect
from seedwise.stats.improvement import PImprovement, _p_improvement, paired_or_not

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True, repr=False)
class Comparison(Result):
    """Everything :func:`compare` found.

    Attributes:
        n_a, n_b, mean_a, mean_b: the runs compared and their means.
        difference: ``mean_a - mean_b``; difference_ci_low/high: its two-sided t interval.
        effect_size: Hedges' g (``effect_size_name == "hedges_g"``) or, paired, ``"hedges_g_z"``;
            effect_size_ci_low/high: its exact interval; cohen_d: the uncorrected d (or d_z).
        t_test, t_statistic, t_df, t_pvalue: Welch's (or the paired) t-test.
        rank_test, rank_statistic, rank_pvalue: Mann-Whitney U (or Wilcoxon signed-rank).
        permutation_pvalue, permutation_exact, permutation_resamples: the permutation test
            (``permutation_resamples`` is the number of permutations when exact).
        aso: the Almost Stochastic Order result; p_improvement: P(A > B) and its decision.
        decision: Bouthillier et al.'s decision (``p_improvement.decision``).
        notes: degenerate cases and warnings from the underlying tests.
    """

    paired: bool
    alternative: str
    confidence: float
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    difference: float
    difference_ci_low: float
    difference_ci_high: float
    effect_size: float
    effect_size_name: str
    effect_size_ci_low: float
    effect_size_ci_high: float
    cohen_d: float
    t_test: str
    t_statistic: float
    t_df: float
    t_pvalue: float
    rank_test: str
    rank_statistic: float
    rank_pvalue: float
    permutation_pvalue: float
    permutation_exact: bool
    permutation_resamples: int
    aso: ASOResult
    p_improvement: PImprovement
    notes: tuple[str, ...] = ()

    @property
    def decision(self) -> str:
        """Bouthillier et al.'s decision: "A better", "B better", "not meaningful" or "not significant"."""
        return self.p_improvement.decision

    @property
    def verdict(self) -> str:
        """One sentence: the decision and what backs it."""
        return self.p_improvement.verdict

    def title(self) -> str:
        return "compare A vs B" + (" (paired)" if self.paired else "")

    def rows(self) -> list[tuple[str, str]]:
        alt = "" if self.alternative == "two-sided" else f" ({self.alternative})"
        perm = (
            f"exact, {self.permutation_resamples} permutations"
            if self.permutation_exact
            else (f"{self.permutation_resamples} resamples")
        )
        rows = [
            ("runs", f"A: {self.n_a}, B: {self.n_b}"),
            ("means", f"A: {fmt(self.mean_a)}, B: {fmt(self.mean_b)}"),
            (
                f"A - B, {self.confidence:.0%} CI",
                f"{fmt(self.difference)} {fmt_ci(self.difference_ci_low, self.difference_ci_high)}",
            ),
            (
                f"{'Hedges g_z' if self.paired else 'Hedges g'}, {self.confidence:.0%} CI",
                f"{fmt(self.effect_size)} {fmt_ci(self.effect_size_ci_low, self.effect_size_ci_high)}",
            ),
            ("d_z (uncorrected)" if self.paired else "Cohen's d (uncorrected)", fmt(self.cohen_d)),
            (f"{self.t_test}{alt}", f"t={fmt(self.t_statistic)}, df={fmt(self.t_df)}, p={fmt_p(self.t_pvalue)}"),
            (f"{self.rank_test}{alt}", f"stat={fmt(self.rank_statistic)}, p={fmt_p(self.rank_pvalue)}"),
            (f"permutation test{alt}", f"p={fmt_p(self.permutation_pvalue)} ({perm})"),
            ("ASO eps_min", f"{fmt(self.aso.eps_min)} ({'<' if self.aso.dominant else '>='} {self.aso.threshold:g})"),
            (
                "P(A > B)",
                f"{fmt(self.p_improvement.estimate)} {fmt_ci(self.p_improvement.ci_low, self.p_improvement.ci_high)}",
            ),
            ("decision", self.verdict),
        ]
        rows += [("note", note) for note in self.notes]
        return rows

    def __repr__(self) -> str:
        return (
            f"Comparison(diff={fmt(self.difference)} {fmt_ci(self.difference_ci_low, self.difference_ci_high)}, "
            f"{self.effect_size_name}={fmt(self.effect_size)} "
            f"{fmt_ci(self.effect_size_ci_low, self.effect_size_ci_high)}, p_t={fmt_p(self.t_pvalue)}, "
            f"P(A>B)={self.p_improvement.estimate:.3f}, eps_min={self.aso.eps_min:.3f}, decision={self.decision!r})"
        )


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    diff: np.ndarray = np.mean(x, axis=axis) - np.mean(y, axis=axis)
    return diff


def _mean_paired_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    diff: np.ndarray = np.mean(x - y, axis=axis)
    return diff


def compare(
    a: Any,
    b: Any,
    *,
    seeds: Seeds,
    paired: bool = False,
    confidence: float = 0.95,
    alternative: str = "two-sided",
    gamma: float = 0.75,
    aso_threshold: float = ASO_THRESHOLD,
    n_resamples: int = 9999,
    nan_policy: str = "raise",
) -> Comparison:
    """Compare the runs of A with those of B (higher is better).

    Args:
        a, b: one score per run; equal length when ``paired``.
        seeds: the stream every resampling draws from (required): the permutation test
            from ``seeds["permutation"]``, ASO from ``seeds["aso"]``, P(A > B) from
            ``seeds["p_improvement"]``.
        paired: A and B ran on the same seeds (``a[i]`` with ``b[i]``): paired t,
            Wilcoxon signed-rank, sign-flip permutations, paired P(A > B).
        confidence: coverage of the intervals (the difference CI is always two-sided).
        alternative: ``"two-sided"``, ``"greater"`` (A > B) or ``"less"``, for the tests.
        gamma: P(A > B) that counts as meaningful (Bouthillier et al.: 0.75).
        aso_threshold: eps_min bound for ASO dominance (deepsig: 0.2).
        n_resamples: resamples of the permutation test and of the P(A > B) bootstrap.
        nan_policy: ``"raise"`` on NaN (failed runs) or ``"omit"`` them (pairs, when paired).

    Example:
        >>> r = compare([0.91, 0.92, 0.93, 0.94], [0.89, 0.90, 0.91, 0.90], seeds=Seeds(0))
        >>> r.permutation_exact, r.permutation_resamples, r.decision
        (True, 70, 'A better')
    """
    seeds = seeds_arg(seeds, "compare")
    confidence = confidence_level(confidence)
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    gamma = open_unit("gamma", gamma, "0.75")
    if gamma <= 0.5:
        raise InvalidArgumentError(f"gamma must be above 0.5 (0.75 recommended), got {gamma:g}")
    aso_threshold = open_unit("aso_threshold", aso_threshold, "0.2")
    count = check_resamples(n_resamples)
    x, y = paired_or_not(a, b, paired=paired, nan_policy=nan_policy, min_n=2)
    notes: list[str] = []

    factor = magnitude_scale(x, y)  # a power of two (exact): 1.0 unless values are extreme
    x, y = x * factor, y * factor
    mean_a, mean_b = float(np.mean(x)), float(np.mean(y))
    effect = _effect(x, y, paired, confidence)
    with collect_warnings(notes):
        if paired:
            diff = x - y
            sd = float(np.std(diff, ddof=1))
            t_name, rank_name = "paired t-test", "Wilcoxon signed-rank"
            if sd == 0:
                notes.append("every pair differs by the same amount: the t-test is undefined")
                t_stat = t_df = t_p = math.nan
                low = high = float(np.mean(diff))
            else:
                res = scipy.stats.ttest_rel(x, y, alternative=alternative)
                ci = scipy.stats.ttest_rel(x, y).confidence_interval(confidence)
                t_stat, t_df, t_p = float(res.statistic), float(res.df), float(res.pvalue)
                low, high = float(ci.low), float(ci.high)
            if np.all(diff == 0):
                notes.append("A and B are equal on every pair: the signed-rank test is undefined")
                r_stat, r_p = math.nan, 1.0
            else:
                res = scipy.stats.wilcoxon(x, y, alternative=alternative)
                r_stat, r_p = float(res.statistic), float(res.pvalue)
        else:
            t_name, rank_name = "Welch's t-test", "Mann-Whitney U"
            if np.var(x) == 0 and np.var(y) == 0:
                notes.append("both A and B have zero spread: the t-test is undefined")
                t_stat = t_df = t_p = math.nan
                low = high = mean_a - mean_b
            else:
                res = scipy.stats.ttest_ind(x, y, equal_var=False, alternative=alternative)
                ci = scipy.stats.ttest_ind(x, y, equal_var=False).confidence_interval(confidence)
                t_stat, t_df, t_p = float(res.statistic), float(res.df), float(res.pvalue)
                low, high = float(ci.low), float(ci.high)
            res = scipy.stats.mannwhitneyu(x, y, alternative=alternative)
            r_stat, r_p = float(res.statistic), float(res.pvalue)

        # Permutation test: exact when the permutations are no more than the resamples.
        if paired:
            total = 2**x.size
            kind, stat = "samples", _mean_paired_diff
        else:
            total = math.comb(x.size + y.size, x.size)
            kind, stat = "independent", _mean_diff
        exact = total <= count
        perm = scipy.stats.permutation_test(
            (x, y),
            stat,
            permutation_type=kind,
            vectorized=True,
            n_resamples=np.inf if exact else count,
            alternative=alternative,
            rng=seeds["permutation"].numpy(),
        )
    aso_result = _aso(x, y, seeds, confidence, aso_threshold, 1000, None)
    improvement = _p_improvement(x, y, seeds, paired, gamma, confidence, count)
    for note in (*effect.notes, *aso_result.notes, *improvement.notes):
        if note not in notes:
            notes.append(note)
    mean_a, mean_b, low, high = (v / factor for v in (mean_a, mean_b, low, high))
    difference = mean_a - mean_b
    if not all(math.isfinite(v) for v in (mean_a, mean_b, difference)) or (
        math.isfinite(t_stat) and not (math.isfinite(low) and math.isfinite(high))
    ):
        raise InvalidArgumentError(
            f"the difference of the means of a and b ({mean_a:g} and {mean_b:g}) does not fit in a float64; "
            "rescale the values (e.g. divide both by 1e300): every test and effect size is unchanged by it"
        )
    return Comparison(
        paired=paired,
        alternative=alternative,
        confidence=confidence,
        n_a=int(x.size),
        n_b=int(y.size),
        mean_a=mean_a,
        mean_b=mean_b,
        difference=difference,
        difference_ci_low=float(low),
        difference_ci_high=float(high),
        effect_size=effect.estimate,
        effect_size_name=effect.name,
        effect_size_ci_low=effect.ci_low,
        effect_size_ci_high=effect.ci_high,
        cohen_d=effect.cohen_d,
        t_test=t_name,
        t_statistic=float(t_stat),
        t_df=float(t_df),
        t_pvalue=float(t_p),
        rank_test=rank_name,
        rank_statistic=float(r_stat),
        rank_pvalue=float(r_p),
        permutation_pvalue=float(perm.pvalue),
        permutation_exact=bool(exact),
        permutation_resamples=int(total if exact else count),
        aso=aso_result,
        p_improvement=improvement,
        notes=tuple(notes),
    )
