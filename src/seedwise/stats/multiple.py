"""Corrections for several comparisons: Bonferroni and Holm (family-wise error), Benjamini-Hochberg (FDR).

Comparing K variants against a baseline runs K tests; at ``alpha = 0.05`` each, about
``0.05 K`` of them come out "significant" by chance. Bonferroni multiplies each p-value
by K: the simplest control of the chance of any false positive, and the one reviewers
know. Holm (1979) controls the same error and is uniformly more powerful than Bonferroni;
Benjamini and Hochberg (1995) control the expected share of false positives among the
rejections (for independent or positively dependent tests). All return adjusted
p-values, equal to ``statsmodels.stats.multitest.multipletests(p, method="bonferroni" |
"holm" | "fdr_bh")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from seedwise.errors import InvalidArgumentError
from seedwise.stats._checks import open_unit, values_1d
from seedwise.stats._result import Result, fmt_p

__all__ = ["Adjusted", "bonferroni", "holm", "benjamini_hochberg"]


@dataclass(frozen=True, repr=False)
class Adjusted(Result):
    """Adjusted p-values, in the order given.

    Attributes:
        method: ``"bonferroni"``, ``"holm"`` or ``"benjamini-hochberg"``.
        pvalues: the raw p-values; adjusted: the adjusted ones.
        reject: the hypotheses rejected at ``alpha`` (``adjusted <= alpha`` up to rounding:
            decided on the raw p-values against the step thresholds, as statsmodels does).
        alpha: the error rate controlled.
    """

    method: str
    alpha: float
    pvalues: tuple[float, ...]
    adjusted: tuple[float, ...]
    reject: tuple[bool, ...]

    def title(self) -> str:
        return f"{self.method} correction (alpha={self.alpha:g})"

    def rows(self) -> list[tuple[str, str]]:
        return [
            (f"test {i}", f"p={fmt_p(p)} -> {fmt_p(q)}{'  reject' if r else ''}")
            for i, (p, q, r) in enumerate(zip(self.pvalues, self.adjusted, self.reject))
        ]

    def __repr__(self) -> str:
        adj = ", ".join(f"{q:.4g}" for q in self.adjusted)
        return f"Adjusted({self.method}, adjusted=[{adj}], reject={sum(self.reject)}/{len(self.reject)})"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.adjusted, dtype=dtype)


def _pvalues(pvalues: Any) -> np.ndarray:
    p = values_1d("pvalues", pvalues)
    if p.size == 0:
        raise InvalidArgumentError("pvalues is empty: pass the p-value of each comparison")
    if np.isnan(p).any():
        raise InvalidArgumentError(
            f"pvalues contains NaN at index {int(np.flatnonzero(np.isnan(p))[0])}; "
            "drop the comparison whose test was undefined"
        )
    if (p < 0).any() or (p > 1).any():
        bad = p[(p < 0) | (p > 1)][0]
        raise InvalidArgumentError(f"pvalues must lie in [0, 1], got {bad:g}")
    return p


def bonferroni(pvalues: Any, *, alpha: float = 0.05) -> Adjusted:
    """Bonferroni's adjusted p-values ``min(1, m p)`` (controls the family-wise error rate).

    Holm's rejects everything Bonferroni's does and sometimes more; Bonferroni's is here
    because it is the correction readers expect to see reported.
    """
    alpha = open_unit("alpha", alpha, "0.05")
    p = _pvalues(pvalues)
    m = p.size
    # Reject on the raw p-values against alpha / m (no rounding of m * p), as statsmodels does.
    return _result("bonferroni", alpha, p, np.minimum(1.0, m * p), np.flatnonzero(p <= alpha / m))


def holm(pvalues: Any, *, alpha: float = 0.05) -> Adjusted:
    """Holm's step-down adjusted p-values (controls the family-wise error rate).

    Sorted ascending, ``p_(i)`` becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``.
    """
    alpha = open_unit("alpha", alpha, "0.05")
    p = _pvalues(pvalues)
    m = p.size
    order = np.argsort(p, kind="stable")
    steps = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(steps)
    # Reject by comparing the raw p-values with the thresholds (exact, no rounding of m * p).
    passed = p[order] <= alpha / (m - np.arange(m))
    k = m if passed.all() else int(np.argmin(passed))
    return _result("holm", alpha, p, adjusted, order[:k])


def benjamini_hochberg(pvalues: Any, *, alpha: float = 0.05) -> Adjusted:
    """Benjamini-Hochberg step-up adjusted p-values (controls the false discovery rate).

    Sorted ascending, ``p_(i)`` becomes ``min_{j >= i} min(1, m p_(j) / j)``.
    """
    alpha = open_unit("alpha", alpha, "0.05")
    p = _pvalues(pvalues)
    m = p.size
    order = np.argsort(p, kind="stable")
    steps = np.minimum(1.0, m * p[order] / np.arange(1, m + 1))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum.accumulate(steps[::-1])[::-1]
    passed = np.flatnonzero(p[order] <= alpha * np.arange(1, m + 1) / m)
    k = int(passed[-1]) + 1 if passed.size else 0
    return _result("benjamini-hochberg", alpha, p, adjusted, order[:k])


def _result(method: str, alpha: float, p: np.ndarray, adjusted: np.ndarray, rejected: np.ndarray) -> Adjusted:
    reject = np.zeros(p.size, dtype=bool)
    reject[rejected] = True
    return Adjusted(
        method=method,
        alpha=alpha,
        pvalues=tuple(float(v) for v in p),
        adjusted=tuple(float(v) for v in adjusted),
        reject=tuple(bool(v) for v in reject),
    )
