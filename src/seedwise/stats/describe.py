"""``describe``: the summary of one metric over seeds, with a CI for its mean."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

from seedwise.errors import InvalidArgumentError
from seedwise.seeds import Seeds
from seedwise.stats._checks import check_resamples, confidence_level, seeds_arg, values_1d
from seedwise.stats._result import Result, fmt, fmt_ci
from seedwise.stats.intervals import BOOTSTRAP_MIN_N, _bootstrap, t_interval

__all__ = ["Description", "describe", "BOOTSTRAP_MIN_N"]


@dataclass(frozen=True, repr=False)
class Description(Result):
    """Summary statistics of one metric over runs.

    Attributes:
        n: runs given, failed ones included.
        failures: runs given as NaN (failed); every statistic uses the others.
        mean, std (ddof=1), min, max, median, iqm (interquartile mean).
        ci_low, ci_high: the confidence interval of the mean.
        confidence: its nominal coverage.
        ci_method: ``"t"`` (fewer than 50 values), ``"BCa"`` bootstrap (50 or more),
            ``"percentile"`` (when BCa was undefined), ``"degenerate"`` (all values equal)
            or ``"none"`` (fewer than 2 values).
        notes: anything that deserves a second look.
    """

    n: int
    failures: int
    mean: float
    std: float
    min: float
    max: float
    median: float
    iqm: float
    ci_low: float
    ci_high: float
    confidence: float
    ci_method: str
    notes: tuple[str, ...] = ()

    @property
    def n_valid(self) -> int:
        """Runs that did not fail."""
        return self.n - self.failures

    def title(self) -> str:
        return "describe"

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("runs", f"{self.n} ({self.failures} failed)" if self.failures else str(self.n)),
            ("mean", fmt(self.mean)),
            (f"{self.confidence:.0%} CI of mean ({self.ci_method})", fmt_ci(self.ci_low, self.ci_high)),
            ("std", fmt(self.std)),
            ("median", fmt(self.median)),
            ("IQM", fmt(self.iqm)),
            ("min .. max", f"{fmt(self.min)} .. {fmt(self.max)}"),
        ]
        rows += [("note", note) for note in self.notes]
        return rows

    def __repr__(self) -> str:
        fail = f", failures={self.failures}" if self.failures else ""
        return (
            f"Description(n={self.n}{fail}, mean={fmt(self.mean)} {fmt_ci(self.ci_low, self.ci_high)} "
            f"({self.confidence:.0%} {self.ci_method}), std={fmt(self.std)}, median={fmt(self.median)}, "
            f"iqm={fmt(self.iqm)})"
        )


def describe(values: Any, *, seeds: Seeds, confidence: float = 0.95, n_resamples: int = 9999) -> Description:
    """Summarise a metric over runs: n, failures, mean, std, min, max, median, IQM and a CI.

    The CI of the mean is a Student-t interval below :data:`BOOTSTRAP_MIN_N` = 50 values
    and a BCa bootstrap interval (:func:`scipy.stats.bootstrap`, drawn from ``seeds``)
    from 50 values on. The switch was chosen by measured coverage of the nominal 95%
    interval (3,000 repetitions): BCa gives 0.89 at 10 normal values, 0.92 at 20 and
    0.93 at 30 where the t interval gives 0.95; from 50 values BCa is within 0.01 of the
    t interval for normal, lognormal and exponential data, and ahead for heavy skew.
    Failed runs may be passed as NaN: they are counted in ``failures`` and left out of
    every statistic.

    Args:
        values: one number per run (1-D).
        seeds: the stream the bootstrap draws from (required: same seeds, same interval).
        confidence: nominal coverage of the interval.
        n_resamples: bootstrap resamples.

    Example:
        >>> d = describe([0.91, 0.93, 0.90, float("nan")], seeds=Seeds(0))
        >>> d.failures, round(d.mean, 3), d.ci_method
        (1, 0.913, 't')
    """
    seeds = seeds_arg(seeds, "describe")
    confidence = confidence_level(confidence)
    count = check_resamples(n_resamples)
    array = values_1d("values", values)
    if array.size == 0:
        raise InvalidArgumentError("values is empty: describe needs the metric of at least one run")
    failed = np.isnan(array)
    x = array[~failed]
    notes: list[str] = []
    nan = math.nan
    if x.size == 0:
        notes.append("every run failed")
        return Description(
            int(array.size), int(failed.sum()), nan, nan, nan, nan, nan, nan, nan, nan, confidence, "none", tuple(notes)
        )
    mean = float(np.mean(x))
    std = float(np.std(x, ddof=1)) if x.size > 1 else nan
    if x.size < 2:
        low = high = nan
        method = "none"
        notes.append("one value: no spread and no interval; run more seeds")
    elif std == 0.0:
        low = high = mean
        method = "degenerate"
        notes.append("all values are equal: zero-width interval")
    elif x.size < BOOTSTRAP_MIN_N:
        interval = t_interval(x, confidence=confidence)
        low, high, method = interval.low, interval.high, interval.method
    else:
        interval = _bootstrap((x,), np.mean, seeds["bootstrap"], confidence, "BCa", count, False, True)
        low, high, method = interval.low, interval.high, interval.method
    if failed.any():
        notes.append(f"{int(failed.sum())} failed run(s) left out of every statistic")
    return Description(
        n=int(array.size),
        failures=int(failed.sum()),
        mean=mean,
        std=std,
        min=float(np.min(x)),
        max=float(np.max(x)),
        median=float(np.median(x)),
        iqm=float(scipy.stats.trim_mean(x, 0.25)),
        ci_low=float(low),
        ci_high=float(high),
        confidence=confidence,
        ci_method=method,
        notes=tuple(notes),
    )
