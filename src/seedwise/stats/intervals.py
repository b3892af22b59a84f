"""Confidence intervals: Student t, chi-square for a variance, and a seeded bootstrap.

:func:`bootstrap_ci` wraps :func:`scipy.stats.bootstrap` and draws only from the
:class:`~seedwise.Seeds` it is given (``seeds.numpy()`` is passed as ``rng``), so the
same seeds give the same interval bit for bit and no global RNG is read or advanced.
(rliable's bootstrap accepts ``random_state`` but draws from NumPy's global RNG; ours
is tested to honour its seeds.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

from seedwise._validate import check_choice
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds
from seedwise.stats._checks import check_resamples, collect_warnings, confidence_level, finite, seeds_arg
from seedwise.stats._result import Result, fmt_ci

__all__ = ["Interval", "t_interval", "variance_interval", "bootstrap_ci", "iqm", "BOOTSTRAP_METHODS"]

BOOTSTRAP_METHODS = ("BCa", "percentile", "basic")


@dataclass(frozen=True, repr=False)
class Interval(Result):
    """A two-sided confidence interval and how it was computed.

    Attributes:
        low, high: the bounds.
        confidence: the nominal coverage, e.g. 0.95.
        method: ``"t"``, ``"chi2"``, ``"BCa"``, ``"percentile"``, ``"basic"`` or
            ``"degenerate"`` (every resample gave the same value: a zero-width interval).
    """

    low: float
    high: float
    confidence: float
    method: str

    def rows(self) -> list[tuple[str, str]]:
        return [(f"{self.confidence:.0%} CI ({self.method})", fmt_ci(self.low, self.high))]

    def __repr__(self) -> str:
        return f"Interval({fmt_ci(self.low, self.high)}, {self.confidence:.0%} {self.method})"

    def __iter__(self):
        return iter((self.low, self.high))


def t_interval(values: Any, *, confidence: float = 0.95) -> Interval:
    """Student-t interval for the mean of ``values`` (needs at least 2 values).

    Equals ``scipy.stats.t.interval(confidence, n - 1, loc=mean, scale=sem)``; a sample
    with zero spread gives the zero-width interval at its mean.
    """
    confidence = confidence_level(confidence)
    x = finite("values", values, min_n=2, why=" for a t interval")
    mean = float(np.mean(x))
    sem = float(np.std(x, ddof=1)) / math.sqrt(x.size)
    if sem == 0.0:
        return Interval(mean, mean, confidence, "t")
    low, high = scipy.stats.t.interval(confidence, x.size - 1, loc=mean, scale=sem)
    return Interval(float(low), float(high), confidence, "t")


def variance_interval(values: Any, *, confidence: float = 0.95) -> Interval:
    """Chi-square interval for the variance of normally distributed ``values``.

    ``((n-1) s^2 / chi2_{1-a/2, n-1}, (n-1) s^2 / chi2_{a/2, n-1})``: exact when the
    values are normal, too narrow when their tails are heavier.
    """
    confidence = confidence_level(confidence)
    x = finite("values", values, min_n=2, why=" for a variance interval")
    return _chi2_interval(float(np.var(x, ddof=1)), x.size - 1, confidence)


def _chi2_interval(variance: float, df: float, confidence: float) -> Interval:
    alpha = 1.0 - confidence
    low = df * variance / scipy.stats.chi2.ppf(1.0 - alpha / 2.0, df)
    high = df * variance / scipy.stats.chi2.ppf(alpha / 2.0, df)
    return Interval(float(low), float(high), confidence, "chi2")


def iqm(values: Any) -> float:
    """Interquartile mean: the mean of the middle 50% of the values (25% trimmed each side).

    Robust to a few failed or diverged runs yet more efficient than the median
    (Agarwal et al. 2021, as in rliable: ``scipy.stats.trim_mean(values, 0.25)``).
    """
    x = finite("values", values, min_n=1)
    return float(scipy.stats.trim_mean(x, 0.25))


def bootstrap_ci(
    data: Any,
    statistic: Callable[..., Any],
    *,
    seeds: Seeds,
    confidence: float = 0.95,
    method: str = "BCa",
    n_resamples: int = 9999,
    paired: bool = False,
    vectorized: bool | None = None,
) -> Interval:
    """A bootstrap confidence interval drawn only from ``seeds``.

    Args:
        data: one sample (a 1-D array-like), or a ``tuple`` of samples for a statistic
            of several (``statistic(x, y, axis=-1)``).
        statistic: the statistic, e.g. ``np.mean``; with ``vectorized=True`` it takes an
            ``axis`` argument (much faster).
        seeds: the resamples are drawn from ``seeds["bootstrap"]`` (required), the stream
            :func:`~seedwise.stats.describe` uses too, so both give the same interval of a mean.
        confidence: nominal coverage of the two-sided interval.
        method: ``"BCa"`` (bias-corrected and accelerated, the default), ``"percentile"``
            or ``"basic"``. When BCa is undefined (all resamples alike) the percentile
            interval is returned and ``method`` says so.
        n_resamples: bootstrap resamples.
        paired: resample the samples of a tuple together (paired observations).
    """
    seeds = seeds_arg(seeds, "bootstrap_ci")
    confidence = confidence_level(confidence)
    method = check_choice("method", method, BOOTSTRAP_METHODS)
    count = check_resamples(n_resamples)
    if isinstance(data, list) and data and all(np.ndim(d) == 1 for d in data):
        raise InvalidTypeError("bootstrap_ci takes one sample, or a tuple of samples: pass tuple(data) for several")
    samples = tuple(data) if isinstance(data, tuple) else (data,)
    arrays = tuple(finite(f"data[{i}]", s, min_n=2, why=" to bootstrap") for i, s in enumerate(samples))
    if paired and len({a.size for a in arrays}) > 1:
        raise InvalidArgumentError(f"paired bootstrap needs samples of equal length, got {[a.size for a in arrays]}")
    return _bootstrap(arrays, statistic, seeds["bootstrap"], confidence, method, count, paired, vectorized)


def _bootstrap(
    arrays: Sequence[np.ndarray],
    statistic: Callable[..., Any],
    seeds: Seeds,
    confidence: float,
    method: str,
    count: int,
    paired: bool,
    vectorized: bool | None,
    batch: int | None = None,
) -> Interval:
    """scipy.stats.bootstrap with ``seeds``; BCa falls back to percentile when degenerate."""
    notes: list[str] = []
    for attempt in (method, "percentile"):
        with collect_warnings(notes):
            res = scipy.stats.bootstrap(
                tuple(arrays),
                statistic,
                n_resamples=count,
                confidence_level=confidence,
                method=attempt,
                paired=paired,
                vectorized=vectorized,
                batch=batch,
                rng=seeds.numpy(),
            )
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        dist = np.asarray(res.bootstrap_distribution)
        if dist.size and np.all(dist == dist.flat[0]):
            value = float(dist.flat[0])
            return Interval(value, value, confidence, "degenerate")
        if math.isfinite(low) and math.isfinite(high):
            return Interval(low, high, confidence, attempt)
    return Interval(math.nan, math.nan, confidence, "failed")
