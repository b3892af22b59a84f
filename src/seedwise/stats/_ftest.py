"""F tests of variance components in a balanced crossed random-effects design.

With every source random, the expected mean square of a term ``S`` is
``E[MS_S] = sigma2_e + sum over U superset of S of c_U sigma2_U``, so the test of
``sigma2_S = 0`` divides ``MS_S`` by the mean squares whose expectation is the rest.
By inclusion-exclusion that is the alternating sum over the supersets ``S + W`` of
``S`` (``W`` a non-empty set of the other sources)::

    D_S = sum over W of (-1)^(|W| + 1) MS_{S + W}

(with one run per cell, the full interaction is the residual). When ``D_S`` is one mean
square, ``F = MS_S / D_S`` is exactly F-distributed under the null (Montgomery, *Design
and Analysis of Experiments*, ch. 13: ``MS_A / MS_AB`` for a main effect of two random
factors, ``MS_AB / MS_E`` for their interaction). Otherwise (three or more sources) no
exact test exists; seedwise uses the quasi-F ratio that keeps both sides positive,
``(MS_S + negative terms) / (positive terms)``, with Satterthwaite's degrees of freedom
(Cochran 1951; Satterthwaite 1946), and says so in ``f_test``. This differs from the
fixed-effects F of ``statsmodels``' ``anova_lm`` (every term over ``MS_E``), which
rejects far too often when sources interact.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import scipy.stats

__all__ = ["FTest", "f_tests"]

#: (kind, F, numerator df, denominator df, p-value); kind "" for the residual.
FTest = tuple[str, float, float, float, float]


def _satterthwaite(ms: np.ndarray, df: np.ndarray) -> float:
    """Satterthwaite's degrees of freedom of a sum of independent mean squares."""
    total = float(np.sum(ms))
    spread = float(np.sum(ms * ms / df))
    return total * total / spread if spread > 0 else math.inf


def f_tests(
    terms: Sequence[tuple[int, ...] | None], ms: np.ndarray, df: np.ndarray, k: int, replicates: int
) -> list[FTest]:
    """One test per term (``None`` is the residual); ``ms`` and ``df`` in the order of ``terms``."""
    full = tuple(range(k))
    index: dict[tuple[int, ...], int] = {}
    for i, t in enumerate(terms):
        index[full if (t is None and replicates == 1) else (t if t is not None else ())] = i
    residual = len(terms) - 1
    out: list[FTest] = []
    for i, s in enumerate(terms):
        if s is None:
            out.append(("", math.nan, math.nan, math.nan, math.nan))
            continue
        others = [a for a in full if a not in s]
        parts: list[tuple[int, float]] = []  # (index of the mean square, its sign in D_S)
        if not others:  # the full interaction, over the residual
            parts.append((residual, 1.0))
        for order in range(1, len(others) + 1):
            for w in itertools.combinations(others, order):
                parts.append((index[tuple(sorted(s + w))], 1.0 if order % 2 == 1 else -1.0))
        positive = [j for j, sign in parts if sign > 0]
        negative = [j for j, sign in parts if sign < 0]
        num_terms, den_terms = [i, *negative], positive
        num = float(sum(ms[j] for j in num_terms))
        den = float(sum(ms[j] for j in den_terms))
        df_num = float(df[i]) if not negative else _satterthwaite(ms[num_terms], df[num_terms])
        df_den = float(df[den_terms[0]]) if len(den_terms) == 1 else _satterthwaite(ms[den_terms], df[den_terms])
        kind = "F" if len(parts) == 1 else "quasi-F"
        if den <= 0:
            out.append((kind, math.nan, df_num, df_den, math.nan))
            continue
        f = num / den
        out.append((kind, f, df_num, df_den, float(scipy.stats.f.sf(f, df_num, df_den))))
    return out
