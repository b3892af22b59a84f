"""Variance components of a balanced crossed (factorial) design, with interactions.

In a factorial study every combination of the seeds of ``k`` sources is run ``r`` times
(``r`` replicates per cell, usually 1). With all sources random, the metric is modelled
as the grand mean plus one random effect per source and per interaction of sources,
plus a residual::

    y = mu + sum over non-empty subsets S of the sources of u_S[levels of S] + e,
    u_S ~ N(0, sigma2_S), e ~ N(0, sigma2_e), all independent.

**Estimates** are the closed-form ANOVA (method-of-moments) estimators: each mean square
has expectation ``E[MS_S] = sigma2_e + sum_{U superset of S} c_U sigma2_U`` with
``c_U = r * prod_{i not in U} a_i`` (``a_i`` the levels of source ``i``); the triangular
system is solved for the components. Negative estimates (sampling error on a small
component) are **clipped to 0 and flagged** (``clipped=True``).

**One run per cell** (``r = 1``): the highest-order interaction cannot be told apart
from the residual. It is reported as ``"residual"`` and ``confounded_with`` names the
interaction it contains; every other component is estimated as above.

**Intervals** are generalized confidence intervals (Weerahandi 1993; Burdick and
Graybill 1992, "Confidence Intervals on Variance Components"): in a balanced normal
design the mean squares are independent, ``MS_j ~ E[MS_j] chi2_{df_j} / df_j``; each
draw replaces ``E[MS_j]`` by its generalized pivot ``ms_j df_j / W_j`` with
``W_j ~ chi2_{df_j}`` (drawn from the seeds), solves for the components, clips them at
0, and the interval is the percentiles of the draws. For a component estimated by one
mean square (the residual) this is the exact chi-square interval; for differences of
mean squares its coverage is close to nominal where Satterthwaite's is not. Shares of
the total variance get intervals from the same draws.

**Tests**: each component but the residual gets the random-model F test of
``sigma2 = 0`` (:mod:`seedwise.stats._ftest`): exact ``MS_S`` over the one mean square
with the same expectation under the null where there is one (every term of a two-source
design), a quasi-F with Satterthwaite's degrees of freedom where there is not.

**Few levels**: a source with fewer than 5 levels leaves its component on at most 3
degrees of freedom, with an interval spanning orders of magnitude. The result then
lists the source in ``few_levels`` and explains in ``warnings`` (returned, not raised
as a Python warning).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds
from seedwise.stats._checks import check_resamples, confidence_level, seeds_arg
from seedwise.stats._ftest import f_tests
from seedwise.stats._result import Result, fmt, fmt_ci, fmt_p

__all__ = ["Component", "VarianceComponents", "variance_components", "MIN_LEVELS"]

#: Fewer levels than this and a source's component is flagged as poorly determined.
MIN_LEVELS = 5


@dataclass(frozen=True, repr=False)
class Component(Result):
    """One line of the ANOVA table and the variance component it estimates.

    Attributes:
        name: ``"init"``, ``"init:data_order"`` (interaction) or ``"residual"``.
        df, sum_sq, mean_sq: the ANOVA line.
        estimate: the component's variance (clipped at 0); raw_estimate: before clipping.
        clipped: the moment estimate was negative and was set to 0.
        ci_low, ci_high: generalized confidence interval of the component.
        share, share_ci_low, share_ci_high: the component over the total variance.
        few_levels: a source in this term has fewer than 5 levels.
        f_test: ``"F"`` (exact), ``"quasi-F"`` (Satterthwaite) or ``""`` (the residual: no test);
            f_statistic, f_df_num, f_df_den, pvalue: the random-model test of a zero component.
    """

    name: str
    df: int
    sum_sq: float
    mean_sq: float
    estimate: float
    raw_estimate: float
    clipped: bool
    ci_low: float
    ci_high: float
    share: float
    share_ci_low: float
    share_ci_high: float
    few_levels: bool = False
    f_test: str = ""
    f_statistic: float = math.nan
    f_df_num: float = math.nan
    f_df_den: float = math.nan
    pvalue: float = math.nan

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            (
                "variance",
                f"{fmt(self.estimate)} {fmt_ci(self.ci_low, self.ci_high)}" + (" (clipped)" if self.clipped else ""),
            ),
            ("share", f"{fmt(self.share)} {fmt_ci(self.share_ci_low, self.share_ci_high)}"),
        ]
        if self.f_test:
            rows.append(
                (
                    f"{self.f_test} test",
                    f"F={fmt(self.f_statistic)} on ({fmt(self.f_df_num, 3)}, {fmt(self.f_df_den, 3)}) df, "
                    f"p={fmt_p(self.pvalue)}",
                )
            )
        return rows

    def __repr__(self) -> str:
        flag = ", clipped" if self.clipped else ""
        return (
            f"Component({self.name!r}, variance={fmt(self.estimate)} {fmt_ci(self.ci_low, self.ci_high)}, "
            f"share={fmt(self.share)}{flag})"
        )


@dataclass(frozen=True, repr=False)
class VarianceComponents(Result):
    """Variance components of a balanced crossed design (see the module docstring).

    Attributes:
        components: main effects, then interactions by order, then ``"residual"``.
        factors, levels: the sources and their numbers of levels; replicates: runs per cell.
        total: the sum of the (clipped) components: the variance of one run.
        confounded_with: with one run per cell, the interaction inside ``"residual"``.
        few_levels: sources with fewer than 5 levels; warnings: what that means.
        confidence, ci_method, n_draws: how the intervals were made.
    """

    components: tuple[Component, ...]
    factors: tuple[str, ...]
    levels: tuple[int, ...]
    replicates: int
    total: float
    confounded_with: str | None
    few_levels: tuple[str, ...]
    warnings: tuple[str, ...]
    confidence: float
    n_draws: int
    ci_method: str = "generalized confidence interval (Monte Carlo)"

    def __getitem__(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"no component {name!r}; the components are {', '.join(c.name for c in self.components)}")

    def to_frame(self) -> Any:
        """The ANOVA table with estimates, intervals and shares, as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame.from_records([c.to_dict() for c in self.components]).set_index("name")

    def title(self) -> str:
        design = " x ".join(f"{f} ({n})" for f, n in zip(self.factors, self.levels))
        return f"variance components: {design}, {self.replicates} run(s) per cell"

    def table(self) -> Any:
        from rich.table import Table

        pct = f"{self.confidence:.0%}"
        caption = list(self.warnings)
        if self.confounded_with:
            caption.append(f"residual includes the {self.confounded_with} interaction (one run per cell)")
        if any(c.clipped for c in self.components):
            caption.append("* negative estimate clipped to 0")
        caption.append(
            "p: random-model F test of a zero component"
            + ("; q: quasi-F (Satterthwaite df)" if any(c.f_test == "quasi-F" for c in self.components) else "")
        )
        table = Table(title=self.title(), caption="\n".join(caption), caption_justify="left")
        for col in ("component", "df", "mean sq", f"variance [{pct} CI]", f"share [{pct} CI]", "p"):
            table.add_column(col, justify="left" if col == "component" else "right")
        for c in self.components:
            table.add_row(
                c.name + (" (few levels)" if c.few_levels else ""),
                str(c.df),
                fmt(c.mean_sq),
                f"{fmt(c.estimate)}{'*' if c.clipped else ''} {fmt_ci(c.ci_low, c.ci_high)}",
                f"{fmt(c.share)} {fmt_ci(c.share_ci_low, c.share_ci_high)}",
                (fmt_p(c.pvalue) + (" q" if c.f_test == "quasi-F" else "")) if c.f_test else "",
            )
        return table

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            (
                c.name,
                f"{fmt(c.estimate)} {fmt_ci(c.ci_low, c.ci_high)}, share {fmt(c.share)}"
                + (" (clipped)" if c.clipped else "")
                + (f", {c.f_test} p={fmt_p(c.pvalue)}" if c.f_test else ""),
            )
            for c in self.components
        ]
        return rows + [("warning", w) for w in self.warnings]

    def __repr__(self) -> str:
        inner = ", ".join(f"{c.name}={fmt(c.estimate)}" for c in self.components)
        return f"VarianceComponents({inner})"


def _validate(df: Any, factors: Any, value: Any) -> tuple[list[str], str]:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidTypeError(f"df must be a pandas DataFrame with one row per run, got {type(df).__name__}")
    if isinstance(factors, str) or not isinstance(factors, (list, tuple)):
        raise InvalidTypeError(f"factors must be a list of column names, e.g. ['init', 'data_order'], got {factors!r}")
    factors = list(factors)
    if not factors:
        raise InvalidArgumentError("factors is empty: name at least one source column")
    if len(set(factors)) != len(factors):
        raise InvalidArgumentError(f"factors lists a column twice: {factors}")
    if not isinstance(value, str):
        raise InvalidTypeError(f"value must be the name of the metric column, got {value!r}")
    missing = [c for c in (*factors, value) if c not in df.columns]
    if missing:
        raise InvalidArgumentError(f"df has no column {missing[0]!r}; its columns are {list(map(str, df.columns))}")
    if value in factors:
        raise InvalidArgumentError(f"value column {value!r} is also listed as a factor")
    return factors, value


def _cells(df: Any, factors: list[str], value: str) -> tuple[np.ndarray, list[int]]:
    """The values as an array of shape (a_1, ..., a_k, r); checks the design is balanced and crossed."""
    import pandas as pd

    y = pd.to_numeric(df[value], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(y)
    if bad.any():
        raise InvalidArgumentError(
            f"column {value!r} has {int(bad.sum())} missing or non-numeric value(s) (failed runs?); "
            "variance components need a complete balanced design: rerun or drop whole levels"
        )
    codes, levels = [], []
    for f in factors:
        if df[f].isna().any():
            raise InvalidArgumentError(f"factor column {f!r} has missing levels")
        cat = pd.Categorical(df[f])
        codes.append(np.asarray(cat.codes, dtype=np.int64))
        levels.append(len(cat.categories))
        if levels[-1] < 2:
            raise InvalidArgumentError(f"factor {f!r} has a single level: a source needs at least 2 seeds to vary")
    n_cells = math.prod(levels)
    flat = np.ravel_multi_index(tuple(codes), tuple(levels))
    counts = np.bincount(flat, minlength=n_cells)
    if counts.min() == 0:
        cell = np.unravel_index(int(np.argmin(counts)), tuple(levels))
        names = {f: pd.Categorical(df[f]).categories[i] for f, i in zip(factors, cell)}
        raise InvalidArgumentError(
            f"the design is not fully crossed: no run for {names}; variance_components needs every "
            "combination of levels (a factorial design)"
        )
    if counts.min() != counts.max():
        raise InvalidArgumentError(
            f"the design is unbalanced: cells have between {counts.min()} and {counts.max()} runs; "
            "the closed-form ANOVA needs the same number of runs in every cell"
        )
    r = int(counts[0])
    order = np.argsort(flat, kind="stable")
    return y[order].reshape(*levels, r), levels


def variance_components(
    df: Any,
    factors: list[str],
    value: str,
    *,
    seeds: Seeds,
    confidence: float = 0.95,
    n_draws: int = 10000,
) -> VarianceComponents:
    """Variance components of a balanced crossed design, all interactions included.

    Args:
        df: one row per run, with a column per source (its seed or level) and the metric.
        factors: the source columns, e.g. ``["init", "data_order"]``.
        value: the metric column.
        seeds: the stream the generalized-interval draws come from (required).
        confidence: coverage of the intervals.
        n_draws: Monte Carlo draws for the intervals.

    Raises InvalidArgumentError when the design is not fully crossed and balanced, a
    value is missing, or there is a single factor with one run per cell (nothing left
    to estimate the residual from).
    """
    seeds = seeds_arg(seeds, "variance_components")
    confidence = confidence_level(confidence)
    draws = check_resamples(n_draws, "n_draws")
    factors, value = _validate(df, factors, value)
    y, levels = _cells(df, factors, value)
    k, r = len(factors), y.shape[-1]
    if k == 1 and r == 1:
        raise InvalidArgumentError(
            f"one factor with one run per level cannot separate {factors[0]!r} from the residual; "
            "run each level at least twice, or vary a second source"
        )
    n_total = y.size
    axes = tuple(range(k))
    subsets = [s for order in range(1, k + 1) for s in itertools.combinations(axes, order)]

    # Marginal means over every subset of the factor axes, and effects by inclusion-exclusion.
    means = {
        t: y.mean(axis=tuple(i for i in range(k + 1) if i not in t), keepdims=True)
        for order in range(k + 1)
        for t in itertools.combinations(axes, order)
    }
    ss, dfs = {}, {}
    for s in subsets:
        effect = sum(
            (-1) ** (len(s) - len(t)) * means[t]
            for order in range(len(s) + 1)
            for t in itertools.combinations(s, order)
        )
        ss[s] = float(n_total / math.prod(levels[i] for i in s) * np.sum(effect * effect))
        dfs[s] = math.prod(levels[i] - 1 for i in s)
    full = axes
    terms: list[tuple[int, ...] | None] = [s for s in subsets if not (r == 1 and s == full)] + [None]  # None: residual
    if r > 1:
        ss_res = float(np.sum((y - means[full]) ** 2))
        df_res = math.prod(levels) * (r - 1)
    else:
        ss_res, df_res = ss[full], dfs[full]
    ms = np.array([ss[t] / dfs[t] if t is not None else ss_res / df_res for t in terms])
    df_arr = np.array([dfs[t] if t is not None else df_res for t in terms], dtype=np.float64)

    # E[MS] = A @ sigma2 (triangular): coefficients c_U = r * prod of the levels not in U.
    m = len(terms)
    coef = np.zeros((m, m))
    for i, term in enumerate(terms):
        coef[i, m - 1] = 1.0
        if term is None:
            continue
        for j, other in enumerate(terms[:-1]):
            if other is not None and set(term) <= set(other):  # only the last term (the residual) is None
                coef[i, j] = r * math.prod(levels[a] for a in axes if a not in other)
    inverse = np.linalg.inv(coef)
    raw = inverse @ ms
    est = np.maximum(raw, 0.0)
    total = float(est.sum())

    # Generalized pivots: E[MS_j] -> ms_j df_j / W_j, W_j ~ chi2(df_j), drawn from the seeds.
    rng = seeds["variance_components"].numpy()
    w = rng.chisquare(df_arr[:, None], size=(m, draws))
    pivots = np.maximum(inverse @ (ms[:, None] * df_arr[:, None] / w), 0.0)
    sums = pivots.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(sums > 0, pivots / np.where(sums > 0, sums, 1.0), np.nan)
    alpha = 1.0 - confidence
    q = [alpha / 2.0, 1.0 - alpha / 2.0]
    ci = np.quantile(pivots, q, axis=1)
    share_ci = np.nanquantile(shares, q, axis=1) if np.isfinite(shares).any() else np.full((2, m), np.nan)

    few = tuple(f for f, n in zip(factors, levels) if n < MIN_LEVELS)
    warnings = tuple(
        f"source {f!r} has only {n} levels: its component rests on {n - 1} degree(s) of freedom and its "
        f"interval is very wide; use at least {MIN_LEVELS} seeds per source to estimate it"
        for f, n in zip(factors, levels)
        if n < MIN_LEVELS
    )
    tests = f_tests(terms, ms, df_arr, k, r)
    components = []
    for i, t in enumerate(terms):
        name = ":".join(factors[a] for a in t) if t is not None else "residual"
        components.append(
            Component(
                name=name,
                df=int(df_arr[i]),
                sum_sq=float(ss[t] if t is not None else ss_res),
                mean_sq=float(ms[i]),
                estimate=float(est[i]),
                raw_estimate=float(raw[i]),
                clipped=bool(raw[i] < 0),
                ci_low=float(ci[0, i]),
                ci_high=float(ci[1, i]),
                share=float(est[i] / total) if total > 0 else math.nan,
                share_ci_low=float(share_ci[0, i]),
                share_ci_high=float(share_ci[1, i]),
                few_levels=t is not None and any(factors[a] in few for a in t),
                f_test=tests[i][0],
                f_statistic=tests[i][1],
                f_df_num=tests[i][2],
                f_df_den=tests[i][3],
                pvalue=tests[i][4],
            )
        )
    return VarianceComponents(
        components=tuple(components),
        factors=tuple(factors),
        levels=tuple(levels),
        replicates=r,
        total=total,
        confounded_with=":".join(factors) if r == 1 else None,
        few_levels=few,
        warnings=warnings,
        confidence=confidence,
        n_draws=draws,
    )
