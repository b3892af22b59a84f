"""Almost Stochastic Order (ASO): is A almost stochastically larger than B?

Dror, Shlomov and Reichart (2019), "Deep Dominance - How to Properly Compare Deep Neural
Models", building on del Barrio, Cuesta-Albertos and Matrán (2018), as implemented in
deepsig (Ulmer et al. 2022). Higher scores are better.

* The **violation ratio** ``eps_W2(F_A, F_B)`` is the share of the squared 2-Wasserstein
  distance between the two score distributions that lies where B beats A::

      eps_W2 = int_{t: Q_B(t) > Q_A(t)} (Q_B(t) - Q_A(t))^2 dt  /  int_0^1 (Q_B(t) - Q_A(t))^2 dt

  with ``Q`` the empirical quantile functions (``Q(t) = x_(ceil(n t))``, the sorted
  values). 0 means A is stochastically larger than B everywhere, 1 means B is, and
  two samples from one distribution give about 0.5. seedwise integrates the two step
  functions exactly; deepsig sums them on a grid of step ``dt = 0.005``, which agrees
  to within the grid error. When the two samples have identical quantile functions the
  ratio is undefined; seedwise returns 0.5 (no order either way), as deepsig does
  (checked with deepsig 1.2.8).
* **epsilon_min** is an upper confidence bound on the violation ratio::

      eps_min = eps_W2 + z_confidence * sigma_hat / sqrt(n m / (n + m))

  where ``sigma_hat`` is the standard deviation of ``sqrt(n m / (n + m)) (eps*_W2 - eps_W2)``
  over bootstrap pairs of resamples drawn with replacement from each sample, of the
  samples' own sizes ``n`` and ``m`` (deepsig >= 1.2.4; ``resample_size=N`` instead
  resamples ``N`` scores from each and scales by ``sqrt(N / 2)``, the estimator of deepsig
  < 1.2 with ``num_samples=N``), clipped to ``[0, 1]``. The resamples are drawn from the
  given seeds only (deepsig reseeds NumPy's global RNG with ``seed + i`` per iteration).

A is declared almost stochastically dominant when ``eps_min < threshold``; deepsig
recommends ``threshold = 0.2`` (0.5 is the weakest meaningful bound).

**Few runs.** With 2 or 3 runs per sample every bootstrap resample can order the two
samples the same way, so ``sigma`` collapses to 0 and ``eps_min`` to the ratio itself
(0 for ``[.5, .7]`` against ``[.4, .45]``). Measured with both samples from one normal
distribution (3,000 repetitions each), ``eps_min < 0.2`` came out in 10.4% of them at
3 runs per sample, 6.7% at 4, 5.9% at 5 and 5.0% at 6 (3.6% at 8). seedwise therefore
declares dominance only from :data:`ASO_MIN_N` = 6 runs per sample; below that
``dominant`` is ``False`` and ``notes`` says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

from seedwise._validate import check_int
from seedwise.seeds import Seeds
from seedwise.stats._checks import check_resamples, confidence_level, finite, magnitude_scale, open_unit, seeds_arg
from seedwise.stats._result import Result, fmt

__all__ = ["ASOResult", "aso", "violation_ratio", "ASO_THRESHOLD", "ASO_MIN_N"]

#: deepsig's recommended bound on epsilon_min for claiming that A is better.
ASO_THRESHOLD = 0.2
#: The fewest runs per sample from which dominance is declared (see the module docstring).
ASO_MIN_N = 6


@dataclass(frozen=True, repr=False)
class ASOResult(Result):
    """The outcome of the ASO test of "A is better than B" (higher is better).

    Attributes:
        violation_ratio: the estimated share of the distance where B beats A.
        eps_min: its upper confidence bound; small means A is almost stochastically larger.
        threshold: the bound ``eps_min`` must stay under to declare A better.
        dominant: ``eps_min < threshold``, with at least :data:`ASO_MIN_N` runs per sample.
        sigma: the bootstrap estimate of the asymptotic standard deviation of the ratio.
        confidence, n_resamples, resample_size: the settings of the bootstrap
            (``resample_size=None``: each sample's own size).
        notes: why dominance was not declared with too few runs.
    """

    violation_ratio: float
    eps_min: float
    threshold: float
    dominant: bool
    sigma: float
    confidence: float
    n_resamples: int
    resample_size: int | None
    notes: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        if self.notes and not self.dominant and self.eps_min < self.threshold:
            return f"too few runs to declare dominance (eps_min {self.eps_min:.3f}; needs {ASO_MIN_N} runs per sample)"
        if self.dominant:
            return f"A is almost stochastically larger than B (eps_min {self.eps_min:.3f} < {self.threshold:g})"
        return f"no almost-stochastic dominance of A over B (eps_min {self.eps_min:.3f} >= {self.threshold:g})"

    def title(self) -> str:
        return "Almost Stochastic Order"

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("violation ratio", fmt(self.violation_ratio)),
            (f"eps_min ({self.confidence:.0%} upper bound)", fmt(self.eps_min)),
            ("verdict", self.verdict),
        ] + [("note", note) for note in self.notes]

    def __repr__(self) -> str:
        return (
            f"ASOResult(eps_min={self.eps_min:.4f}, violation_ratio={self.violation_ratio:.4f}, "
            f"dominant={self.dominant}, threshold={self.threshold:g})"
        )


def violation_ratio(a: Any, b: Any) -> float:
    """The violation ratio ``eps_W2(F_A, F_B)`` of A being larger than B (exact integral).

    0: A's quantiles are above B's everywhere; 1: below everywhere; 0.5 when the two
    quantile functions are identical.
    """
    a = np.sort(finite("a", a, min_n=1))
    b = np.sort(finite("b", b, min_n=1))
    return _ratio_exact(a, b)


def _pieces(n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the two step quantile functions are constant: (widths, index into a, index into b)."""
    # The quantile functions are steps at k/n and k/m: integrate piece by piece.
    t = np.unique(np.concatenate([np.arange(1, n + 1) / n, np.arange(1, m + 1) / m]))
    left = np.concatenate([[0.0], t[:-1]])
    mid = (left + t) / 2.0
    return t - left, np.minimum((mid * n).astype(np.int64), n - 1), np.minimum((mid * m).astype(np.int64), m - 1)


def _ratio_exact(a: np.ndarray, b: np.ndarray) -> float:
    return float(_ratios(a[None, :], b[None, :], *_pieces(a.size, b.size))[0])


def _ratios(
    a_sorted: np.ndarray, b_sorted: np.ndarray, width: np.ndarray, ia: np.ndarray, ib: np.ndarray
) -> np.ndarray:
    """Row-wise violation ratios of sorted samples (0.5 where the quantile functions coincide)."""
    diff = b_sorted[:, ib] - a_sorted[:, ia]
    total = np.sum(width * diff * diff, axis=-1)
    viol = np.sum(width * np.maximum(diff, 0.0) ** 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.minimum(1.0, viol / np.where(total > 0, total, 1.0)), 0.5)


def aso(
    a: Any,
    b: Any,
    *,
    seeds: Seeds,
    confidence: float = 0.95,
    threshold: float = ASO_THRESHOLD,
    n_resamples: int = 1000,
    resample_size: int | None = None,
    nan_policy: str = "raise",
) -> ASOResult:
    """Almost Stochastic Order test that A (higher is better) dominates B.

    Args:
        a, b: one score per run for each model (sizes may differ; at least 2 each).
        seeds: the stream the bootstrap draws from (required).
        confidence: confidence of the upper bound ``eps_min`` (deepsig's
            ``confidence_level=0.05`` is ``confidence=0.95`` here).
        threshold: declare A better when ``eps_min < threshold`` (0.2 recommended).
        n_resamples: bootstrap iterations.
        resample_size: scores drawn from each sample per iteration; ``None`` (default)
            draws as many as each sample has, as deepsig >= 1.2.4 does.
        nan_policy: ``"raise"`` on NaN (failed runs) or ``"omit"`` them.
    """
    seeds = seeds_arg(seeds, "aso")
    confidence = confidence_level(confidence)
    threshold = open_unit("threshold", threshold, "0.2")
    count = check_resamples(n_resamples)
    size = None if resample_size is None else check_int("resample_size", resample_size, low=2)
    x = finite("a", a, min_n=2, nan_policy=nan_policy, why=" for ASO")
    y = finite("b", b, min_n=2, nan_policy=nan_policy, why=" for ASO")
    return _aso(x, y, seeds, confidence, threshold, count, size)


def _aso(
    x: np.ndarray,
    y: np.ndarray,
    seeds: Seeds,
    confidence: float,
    threshold: float,
    count: int,
    resample_size: int | None,
) -> ASOResult:
    factor = magnitude_scale(x, y)  # a power of two: exact, and the ratio does not depend on scale
    x, y = np.sort(x * factor), np.sort(y * factor)
    scale = math.sqrt(x.size * y.size / (x.size + y.size))
    if resample_size is None:
        n_a, n_b, boot_scale = x.size, y.size, scale
    else:
        n_a = n_b = resample_size
        boot_scale = math.sqrt(n_a / 2.0)
    ratio = _ratio_exact(x, y)
    pieces = _pieces(n_a, n_b)
    rng = seeds["aso"].numpy()
    samples = np.empty(count)
    chunk = max(1, 2_000_000 // (n_a + n_b + pieces[0].size))
    for start in range(0, count, chunk):
        stop = min(count, start + chunk)
        xa = np.sort(x[rng.integers(0, x.size, size=(stop - start, n_a))], axis=1)
        yb = np.sort(y[rng.integers(0, y.size, size=(stop - start, n_b))], axis=1)
        samples[start:stop] = _ratios(xa, yb, *pieces)
    sigma = float(np.std(boot_scale * (samples - ratio)))
    eps_min = min(max(ratio + float(scipy.stats.norm.ppf(confidence)) * sigma / scale, 0.0), 1.0)
    notes = []
    if min(x.size, y.size) < ASO_MIN_N:
        notes.append(
            f"ASO needs at least {ASO_MIN_N} runs per sample to declare dominance (got {x.size} and {y.size}): "
            "with fewer, the bootstrap cannot show the spread and eps_min collapses towards the ratio itself"
        )
    return ASOResult(
        violation_ratio=ratio,
        eps_min=eps_min,
        threshold=threshold,
        dominant=bool(eps_min < threshold) and not notes,
        sigma=sigma,
        confidence=confidence,
        n_resamples=count,
        resample_size=resample_size,
        notes=tuple(notes),
    )
