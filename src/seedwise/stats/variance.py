"""Variance per source of randomness from a one-at-a-time study, and the noise floor.

In a one-at-a-time study each source (weight init, data order, augmentation...) is
varied alone over ``n`` seeds while every other source stays at its base seed, and one
more group varies all of them together. :func:`one_at_a_time_variance` reports, per
source, the variance of the metric with a chi-square interval (exact for normal
metrics) and its ratio to the all-sources variance with a BCa bootstrap interval
(resampling both groups, drawn from the seeds) from 8 runs per group, and the F interval
of a ratio of two independent normal variances below that, where BCa is undefined (3
runs: every interval NaN) or erratic. Measured coverage of the nominal 95% ratio
interval, 600 repetitions, true ratio 0.25: normal metrics, F 0.95 at 3 runs, 0.97 at 5
(BCa: undefined, 0.99), BCa 0.94 at 8 and 20; t-distributed (5 df) metrics at 8 runs,
BCa 0.93 and F 0.90.

**Too few runs to rank sources.** A variance from ``n`` runs is known within a factor of
146 at 3 runs (the 95% chi-square interval), 23 at 5, 7 at 10. Below
:data:`MIN_RUNS_TO_RANK` = 10 runs per group the result says so in ``warnings``: the
ratios (e.g. 2.2 against 0.4) do not rank the sources.

**These conditional variances need not add up** to the all-sources variance: sources
interact (the effect of the data order depends on the initial weights), and every
estimate carries its own sampling error, so the ratios can sum to more or less than 1.
For an additive decomposition with interaction terms use a factorial design and
:func:`seedwise.stats.variance_components`.

:func:`noise_floor` summarises replicate runs with *every* seed fixed: what is left is
the nondeterminism of the kernels (atomics on GPU, thread scheduling), the floor below
which no source's variance can be measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds
from seedwise.stats._checks import check_resamples, confidence_level, finite, seeds_arg
from seedwise.stats._result import Result, fmt, fmt_ci
from seedwise.stats.intervals import _bootstrap, _chi2_interval

__all__ = [
    "SourceVariance",
    "OneAtATimeVariance",
    "NoiseFloor",
    "one_at_a_time_variance",
    "noise_floor",
    "NOT_ADDITIVE",
    "MIN_RUNS_TO_RANK",
]

#: Fewer runs per group than this and the variances cannot rank the sources (a warning says so).
MIN_RUNS_TO_RANK = 10
#: From this many runs in both groups the ratio's interval is a BCa bootstrap; below, the F interval.
RATIO_BOOTSTRAP_MIN_N = 8

NOT_ADDITIVE = (
    "Each source's variance is conditional: measured with every other source fixed at its base seed. "
    "These variances need not add up to the all-sources variance (sources interact, and each estimate "
    "has its own sampling error); use a factorial design and variance_components() for an additive "
    "decomposition with interactions."
)


@dataclass(frozen=True, repr=False)
class SourceVariance(Result):
    """The variance of the metric when one source (or all) varies.

    Attributes:
        source: the source's name (``"all"`` for the all-sources group).
        n: runs; variance (ddof=1) and std.
        variance_ci_low/high: chi-square interval (``variance_ci_method == "chi2"``).
        ratio: variance / all-sources variance; ratio_ci_low/high: its interval
            (``ratio_ci_method``: ``"BCa"``, ``"percentile"``, ``"degenerate"`` or ``"F"``).
    """

    source: str
    n: int
    variance: float
    std: float
    variance_ci_low: float
    variance_ci_high: float
    ratio: float
    ratio_ci_low: float
    ratio_ci_high: float
    variance_ci_method: str = "chi2"
    ratio_ci_method: str = "BCa"

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("variance", f"{fmt(self.variance)} {fmt_ci(self.variance_ci_low, self.variance_ci_high)}"),
            ("ratio to all", f"{fmt(self.ratio)} {fmt_ci(self.ratio_ci_low, self.ratio_ci_high)}"),
        ]

    def __repr__(self) -> str:
        return (
            f"SourceVariance({self.source!r}, n={self.n}, variance={fmt(self.variance)} "
            f"{fmt_ci(self.variance_ci_low, self.variance_ci_high)}, ratio={fmt(self.ratio)} "
            f"{fmt_ci(self.ratio_ci_low, self.ratio_ci_high)})"
        )


@dataclass(frozen=True, repr=False)
class NoiseFloor(Result):
    """The spread of replicate runs with every seed fixed.

    Attributes:
        n: replicates; variance, std; variance_ci_low/high: chi-square interval.
        bitwise_identical: every replicate gave exactly the same value.
        max_abs_deviation: the largest distance of a replicate from their mean.
    """

    n: int
    variance: float
    std: float
    variance_ci_low: float
    variance_ci_high: float
    confidence: float
    bitwise_identical: bool
    max_abs_deviation: float

    def title(self) -> str:
        return "noise floor (every seed fixed)"

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("replicates", str(self.n)),
            ("bitwise identical", "yes" if self.bitwise_identical else "no"),
            ("std", fmt(self.std)),
            (
                f"variance, {self.confidence:.0%} CI",
                f"{fmt(self.variance)} {fmt_ci(self.variance_ci_low, self.variance_ci_high)}",
            ),
            ("max |deviation|", fmt(self.max_abs_deviation)),
        ]

    def __repr__(self) -> str:
        return (
            f"NoiseFloor(n={self.n}, std={fmt(self.std)}, bitwise_identical={self.bitwise_identical}, "
            f"variance={fmt(self.variance)} {fmt_ci(self.variance_ci_low, self.variance_ci_high)})"
        )


@dataclass(frozen=True, repr=False)
class OneAtATimeVariance(Result):
    """Per-source variances of a one-at-a-time study (see the module docstring).

    Attributes:
        sources: one :class:`SourceVariance` per source, in the order given.
        all_sources: the all-sources group (its ratio is 1).
        noise_floor: the replicate group, when given.
        confidence: coverage of the intervals.
        note: the reminder that conditional variances need not add up.
        warnings: when the groups have too few runs to rank the sources (returned, not raised).
    """

    sources: tuple[SourceVariance, ...]
    all_sources: SourceVariance
    noise_floor: NoiseFloor | None
    confidence: float
    note: str = NOT_ADDITIVE
    warnings: tuple[str, ...] = ()

    def __getitem__(self, source: str) -> SourceVariance:
        for row in self.sources:
            if row.source == source:
                return row
        if source == self.all_sources.source:
            return self.all_sources
        names = ", ".join(repr(r.source) for r in self.sources)
        raise KeyError(f"no source {source!r}; the sources are {names}")

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per source plus ``"all"`` (and ``"noise floor"``)."""
        import pandas as pd

        records = [r.to_dict() for r in (*self.sources, self.all_sources)]
        if self.noise_floor is not None:
            nf = self.noise_floor
            records.append(
                {
                    "source": "noise floor",
                    "n": nf.n,
                    "variance": nf.variance,
                    "std": nf.std,
                    "variance_ci_low": nf.variance_ci_low,
                    "variance_ci_high": nf.variance_ci_high,
                    "variance_ci_method": "chi2",
                }
            )
        return pd.DataFrame.from_records(records).set_index("source")

    def title(self) -> str:
        return "variance per source (one at a time)"

    def table(self) -> Any:
        from rich.table import Table

        pct = f"{self.confidence:.0%}"
        caption = "\n".join((*self.warnings, self.note))
        table = Table(title=self.title(), caption=caption, caption_justify="left")
        for col in ("source", "runs", "std", f"variance [{pct} CI]", f"ratio to all [{pct} CI]"):
            table.add_column(col, justify="left" if col == "source" else "right")
        for r in (*self.sources, self.all_sources):
            table.add_row(
                r.source,
                str(r.n),
                fmt(r.std),
                f"{fmt(r.variance)} {fmt_ci(r.variance_ci_low, r.variance_ci_high)}",
                f"{fmt(r.ratio)} {fmt_ci(r.ratio_ci_low, r.ratio_ci_high)}",
            )
        if self.noise_floor is not None:
            nf = self.noise_floor
            table.add_row(
                "noise floor",
                str(nf.n),
                fmt(nf.std),
                f"{fmt(nf.variance)} {fmt_ci(nf.variance_ci_low, nf.variance_ci_high)}",
                "",
            )
        return table

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            (
                r.source,
                f"variance {fmt(r.variance)} {fmt_ci(r.variance_ci_low, r.variance_ci_high)}, ratio "
                f"{fmt(r.ratio)} {fmt_ci(r.ratio_ci_low, r.ratio_ci_high)}",
            )
            for r in (*self.sources, self.all_sources)
        ]
        if self.noise_floor is not None:
            rows.append(("noise floor", f"std {fmt(self.noise_floor.std)}"))
        return rows + [("warning", w) for w in self.warnings] + [("note", self.note)]

    def __repr__(self) -> str:
        inner = ", ".join(f"{r.source}={fmt(r.ratio)}" for r in self.sources)
        return f"OneAtATimeVariance(ratios to all: {inner}; all variance={fmt(self.all_sources.variance)})"


def _var_ratio(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: np.ndarray = np.var(x, ddof=1, axis=axis) / np.var(y, ddof=1, axis=axis)
    return ratio


def noise_floor(replicates: Any, *, confidence: float = 0.95, nan_policy: str = "raise") -> NoiseFloor:
    """The spread of runs repeated with every seed fixed (nondeterministic kernels).

    A deterministic pipeline gives ``bitwise_identical=True`` and zero variance; any
    spread is the floor below which no source's effect can be measured.
    """
    confidence = confidence_level(confidence)
    x = finite("replicates", replicates, min_n=2, nan_policy=nan_policy, why=" to measure a noise floor")
    variance = float(np.var(x, ddof=1))
    ci = _chi2_interval(variance, x.size - 1, confidence)
    return NoiseFloor(
        n=int(x.size),
        variance=variance,
        std=math.sqrt(variance),
        variance_ci_low=ci.low,
        variance_ci_high=ci.high,
        confidence=confidence,
        bitwise_identical=bool(np.all(x == x[0])),
        max_abs_deviation=float(np.max(np.abs(x - np.mean(x)))),
    )


def one_at_a_time_variance(
    groups: Mapping[str, Any],
    all_sources: Any,
    *,
    seeds: Seeds,
    replicates: Any = None,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    nan_policy: str = "raise",
) -> OneAtATimeVariance:
    """Each source's variance, with CIs, and its ratio to the all-sources variance.

    Args:
        groups: ``{source: metric values of the runs varying only that source}``.
        all_sources: the metric values of the runs varying every source together.
        seeds: the stream the ratio bootstraps draw from (``seeds["ratio"][source]``).
        replicates: optional runs with every seed fixed, summarised by :func:`noise_floor`.
        confidence: coverage of the intervals.
        n_resamples: bootstrap resamples per ratio.
        nan_policy: ``"raise"`` on NaN (failed runs) or ``"omit"`` them.

    The variances are conditional and **need not add up** to the all-sources variance;
    see the module docstring and ``result.note``.
    """
    seeds = seeds_arg(seeds, "one_at_a_time_variance")
    confidence = confidence_level(confidence)
    count = check_resamples(n_resamples)
    if not isinstance(groups, Mapping):
        raise InvalidTypeError(
            f"groups must be a mapping {{source name: values}}, got {type(groups).__name__}; "
            "e.g. {'init': [...], 'data_order': [...]}"
        )
    if not groups:
        raise InvalidArgumentError("groups is empty: pass the runs of at least one source")
    y = finite("all_sources", all_sources, min_n=3, nan_policy=nan_policy, why=" for a variance ratio")
    var_all = float(np.var(y, ddof=1))
    rows = []
    for name, values in groups.items():
        if not isinstance(name, str) or not name:
            raise InvalidTypeError(f"each source in groups must be named by a non-empty str, got {name!r}")
        x = finite(f"groups[{name!r}]", values, min_n=3, nan_policy=nan_policy, why=" for a variance")
        rows.append(_row(name, x, y, var_all, seeds["ratio"][name], confidence, count))
    ci_all = _chi2_interval(var_all, y.size - 1, confidence)
    all_row = SourceVariance(
        "all",
        int(y.size),
        var_all,
        math.sqrt(var_all),
        ci_all.low,
        ci_all.high,
        1.0,
        1.0,
        1.0,
        ratio_ci_method="definition",
    )
    floor = None if replicates is None else noise_floor(replicates, confidence=confidence, nan_policy=nan_policy)
    return OneAtATimeVariance(tuple(rows), all_row, floor, confidence, warnings=_few_runs(rows, all_row, confidence))


def _few_runs(rows: list[SourceVariance], all_row: SourceVariance, confidence: float) -> tuple[str, ...]:
    fewest = min(r.n for r in (*rows, all_row))
    if fewest >= MIN_RUNS_TO_RANK:
        return ()
    alpha = 1.0 - confidence
    span = scipy.stats.chi2.ppf(1 - alpha / 2, fewest - 1) / scipy.stats.chi2.ppf(alpha / 2, fewest - 1)
    return (
        f"too few runs to rank the sources: with {fewest} runs per group each variance is known only within a "
        f"factor of {span:.0f} (its {confidence:.0%} chi-square interval), and the ratios can exceed 1 by chance; "
        f"use at least {MIN_RUNS_TO_RANK} seeds per source",
    )


def _row(
    name: str, x: np.ndarray, y: np.ndarray, var_all: float, seeds: Seeds, confidence: float, count: int
) -> SourceVariance:
    variance = float(np.var(x, ddof=1))
    ci = _chi2_interval(variance, x.size - 1, confidence)
    if var_all == 0.0:
        ratio, low, high, method = math.nan, math.nan, math.nan, "undefined (all-sources variance is 0)"
    elif min(x.size, y.size) < RATIO_BOOTSTRAP_MIN_N:
        ratio = variance / var_all
        alpha = 1.0 - confidence
        # var_x / var_y over the ratio of the true variances is F(n_x - 1, n_y - 1) for normal runs.
        low = ratio / float(scipy.stats.f.ppf(1.0 - alpha / 2.0, x.size - 1, y.size - 1))
        high = ratio / float(scipy.stats.f.ppf(alpha / 2.0, x.size - 1, y.size - 1))
        method = "F"
    else:
        ratio = variance / var_all
        interval = _bootstrap((x, y), _var_ratio, seeds, confidence, "BCa", count, False, True)
        low, high, method = interval.low, interval.high, interval.method
    return SourceVariance(
        name, int(x.size), variance, math.sqrt(variance), ci.low, ci.high, ratio, low, high, ratio_ci_method=method
    )
