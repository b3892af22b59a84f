"""Metrics of predictive quality and uncertainty: accuracy, NLL, Brier, calibration, entropy.

One convention for every function:

* ``probs`` is either **probabilities** of shape ``(B, C)`` (one prediction per example)
  or **samples** of shape ``(S, B, C)`` (S ensemble members, MC-dropout or posterior
  samples). Metrics of the *predictive distribution* (accuracy, NLL, Brier, ECE,
  predictive entropy) average samples first: ``p(y | x) = mean_s probs[s]``. Metrics
  *about the samples* (expected entropy, mutual information, disagreement) use them one
  by one; given ``(B, C)`` they treat it as a single sample.
* ``y`` holds integer class labels of shape ``(B,)`` in ``[0, C)``.
* Torch tensors (any device, any float dtype) and NumPy arrays are both accepted; every
  computation is done in float64 NumPy, and scalar metrics are returned as Python floats.

Inputs are validated, because a silently wrong metric is worse than none: a shape that is
neither ``(B, C)`` nor ``(S, B, C)``, NaN or infinity, values outside ``[0, 1]``, rows
that do not sum to 1 (within :data:`SUM_TOLERANCE`; usually logits passed by mistake),
and labels that are not integers in ``[0, C)`` raise
:class:`~seedwise.errors.InvalidArgumentError` / :class:`~seedwise.errors.InvalidTypeError`
naming the argument.

Entropies are in nats.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np

from seedwise._validate import check_choice, check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "SUM_TOLERANCE",
    "NLL_EPS",
    "ReliabilityCurve",
    "accuracy",
    "nll",
    "brier",
    "ece",
    "adaptive_ece",
    "reliability_curve",
    "predictive_entropy",
    "expected_entropy",
    "mutual_information",
    "disagreement",
]

#: How far a row of probabilities may be from summing to 1 (float32 softmax over a
#: thousand classes is within 1e-5; anything beyond 1e-3 is not a distribution).
SUM_TOLERANCE = 1e-3

#: ``nll`` clamps probabilities to ``[NLL_EPS, 1]`` before the log, so one confident
#: mistake costs at most ``-log(1e-12) ~= 27.6`` nats instead of infinity.
NLL_EPS = 1e-12

Reduction = Literal["mean", "none"]
_REDUCTIONS = ("mean", "none")


# -- input handling ---------------------------------------------------------------------


def _to_numpy(value: Any, name: str) -> np.ndarray:
    """A float64 or integer NumPy array from a NumPy array, torch tensor or nested list."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu()
        if value.is_floating_point():
            value = value.double()
        out: np.ndarray = value.numpy()
        return out
    if isinstance(value, (np.ndarray, list, tuple)) or np.isscalar(value):
        return np.asarray(value)
    raise InvalidTypeError(f"{name} must be a NumPy array or a torch tensor, got {type(value).__name__}")


def _samples(probs: Any, name: str = "probs") -> np.ndarray:
    """Validated probabilities as float64 samples of shape (S, B, C)."""
    arr = _to_numpy(probs, name)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InvalidTypeError(f"{name} must hold floats (probabilities), got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim != 3:
        raise InvalidArgumentError(
            f"{name} must have shape (B, C) (probabilities) or (S, B, C) (samples), got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0 or arr.shape[2] == 0:
        raise InvalidArgumentError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.any(np.isnan(arr)) else "infinite values"
        raise InvalidArgumentError(f"{name} contains {bad}; check the model output before computing metrics")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0 + SUM_TOLERANCE:
        raise InvalidArgumentError(
            f"{name} must be probabilities in [0, 1], got values in [{lo:.4g}, {hi:.4g}]; "
            "if these are logits, pass logits.softmax(-1)"
        )
    sums = arr.sum(axis=-1)
    err = float(np.max(np.abs(sums - 1.0)))
    if err > SUM_TOLERANCE:
        raise InvalidArgumentError(
            f"each row of {name} must sum to 1 (tolerance {SUM_TOLERANCE}), got row sums in "
            f"[{float(sums.min()):.4g}, {float(sums.max()):.4g}]; if these are logits or scores, "
            "pass logits.softmax(-1)"
        )
    return arr


def _labels(y: Any, batch: int, classes: int, name: str = "y") -> np.ndarray:
    """Validated integer labels of shape (B,)."""
    arr = _to_numpy(y, name)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and arr.size and np.all(arr == np.round(arr)):
            hint = f"; convert with {name}.astype(int) / {name}.long()"
        else:
            hint = ""
        raise InvalidTypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}{hint}")
    if arr.shape != (batch,):
        raise InvalidArgumentError(f"{name} must have shape ({batch},) to match probs, got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= classes):
        raise InvalidArgumentError(
            f"{name} must hold labels in [0, {classes}) for {classes} classes, got values in "
            f"[{int(arr.min())}, {int(arr.max())}]"
        )
    return arr.astype(np.int64, copy=False)


def _predictive(probs: Any, y: Any | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    samples = _samples(probs)
    mean = samples.mean(axis=0)
    labels = None if y is None else _labels(y, mean.shape[0], mean.shape[1])
    return mean, labels


def _reduce(values: np.ndarray, reduction: str) -> float | np.ndarray:
    check_choice("reduction", reduction, _REDUCTIONS)
    return float(values.mean()) if reduction == "mean" else values


def _entropy(p: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats over the last axis, with 0 log 0 = 0."""
    logp = np.log(np.where(p > 0, p, 1.0))
    out: np.ndarray = -(p * logp).sum(axis=-1)
    return out


def _check_bins(bins: object) -> int:
    return check_int("bins", bins, low=1)


# -- predictive quality -----------------------------------------------------------------


def accuracy(probs: Any, y: Any) -> float:
    """Fraction of examples whose most probable class (of the mean prediction) is ``y``.

    Ties are broken towards the lower class index, as ``argmax`` does.
    """
    mean, labels = _predictive(probs, y)
    return float(np.mean(mean.argmax(axis=-1) == labels))


@overload
def nll(probs: Any, y: Any, *, eps: float = ..., reduction: Literal["mean"] = ...) -> float: ...
@overload
def nll(probs: Any, y: Any, *, eps: float = ..., reduction: Literal["none"]) -> np.ndarray: ...
@overload
def nll(probs: Any, y: Any, *, eps: float = ..., reduction: Reduction = ...) -> float | np.ndarray: ...
def nll(probs: Any, y: Any, *, eps: float = NLL_EPS, reduction: Reduction = "mean") -> float | np.ndarray:
    """Negative log-likelihood ``-log p(y | x)`` of the true labels, in nats.

    The probability of the true class is clamped to ``[eps, 1]`` (default
    :data:`NLL_EPS` = 1e-12) before the log, so a single confident mistake costs at most
    ``-log(eps)`` instead of making the mean infinite. A perfect one-hot prediction
    scores exactly 0. With ``reduction="none"`` the per-example values are returned.
    """
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0.0 < float(eps) < 1.0:
        raise InvalidArgumentError(f"eps must be a float in (0, 1), got {eps!r}")
    mean, labels = _predictive(probs, y)
    p_true = mean[np.arange(mean.shape[0]), labels]
    values = -np.log(np.clip(p_true, float(eps), 1.0))
    return _reduce(values, reduction)


@overload
def brier(probs: Any, y: Any, *, reduction: Literal["mean"] = ...) -> float: ...
@overload
def brier(probs: Any, y: Any, *, reduction: Literal["none"]) -> np.ndarray: ...
@overload
def brier(probs: Any, y: Any, *, reduction: Reduction = ...) -> float | np.ndarray: ...
def brier(probs: Any, y: Any, *, reduction: Reduction = "mean") -> float | np.ndarray:
    """Brier score: squared distance between the prediction and the one-hot label.

    Summed over classes and averaged over examples (Brier 1950), so it lies in
    ``[0, 2]``: 0 for a perfect one-hot prediction, 2 for a confident wrong one.
    """
    mean, labels = _predictive(probs, y)
    onehot = np.zeros_like(mean)
    onehot[np.arange(mean.shape[0]), labels] = 1.0
    values = ((mean - onehot) ** 2).sum(axis=-1)
    return _reduce(values, reduction)


# -- calibration ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReliabilityCurve:
    """A reliability diagram's data: per confidence bin, the mean confidence and accuracy.

    Attributes:
        edges: ``(bins + 1,)`` bin edges on the confidence axis.
        confidence: ``(bins,)`` mean top-label confidence of the examples in each bin
            (NaN for an empty bin).
        accuracy: ``(bins,)`` fraction of those examples predicted correctly (NaN if empty).
        counts: ``(bins,)`` number of examples in each bin.

    A perfectly calibrated predictor has ``accuracy == confidence`` in every bin; the
    count-weighted mean of ``|accuracy - confidence|`` is the ECE.
    """

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    counts: np.ndarray

    @property
    def gap(self) -> float:
        """The count-weighted mean absolute calibration gap (the ECE for these bins)."""
        filled = self.counts > 0
        weights = self.counts[filled] / self.counts.sum()
        return float(np.sum(weights * np.abs(self.accuracy[filled] - self.confidence[filled])))

    def __repr__(self) -> str:
        return f"ReliabilityCurve(bins={len(self.counts)}, n={int(self.counts.sum())}, gap={self.gap:.4f})"


def _top_label(probs: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    mean, labels = _predictive(probs, y)
    confidence = mean.max(axis=-1)
    correct = (mean.argmax(axis=-1) == labels).astype(np.float64)
    return confidence, correct


def _curve(confidence: np.ndarray, correct: np.ndarray, assign: np.ndarray, edges: np.ndarray) -> ReliabilityCurve:
    bins = len(edges) - 1
    counts = np.bincount(assign, minlength=bins).astype(np.int64)
    conf_sum = np.bincount(assign, weights=confidence, minlength=bins)
    acc_sum = np.bincount(assign, weights=correct, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(counts > 0, conf_sum / np.maximum(counts, 1), np.nan)
        acc = np.where(counts > 0, acc_sum / np.maximum(counts, 1), np.nan)
    return ReliabilityCurve(edges=edges, confidence=conf, accuracy=acc, counts=counts)


def reliability_curve(
    probs: Any, y: Any, *, bins: int = 15, strategy: Literal["uniform", "quantile"] = "uniform"
) -> ReliabilityCurve:
    """Top-label reliability diagram data (for plots, and the basis of both ECEs).

    ``strategy="uniform"`` uses ``bins`` equal-width bins ``(i/bins, (i+1)/bins]`` on the
    confidence axis (an example with confidence exactly ``i/bins`` falls in the lower
    bin; confidence 0 cannot occur for a top label but would fall in the first);
    ``strategy="quantile"`` uses ``bins`` equal-mass bins (sorted by confidence, split
    into groups whose sizes differ by at most one; edges are the group boundaries).
    """
    n_bins = _check_bins(bins)
    check_choice("strategy", strategy, ("uniform", "quantile"))
    confidence, correct = _top_label(probs, y)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        assign = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
        return _curve(confidence, correct, assign, edges)
    n = confidence.shape[0]
    order = np.argsort(confidence, kind="stable")
    assign = np.empty(n, dtype=np.int64)
    groups = np.array_split(np.arange(n), n_bins)
    for b, members in enumerate(groups):
        assign[order[members]] = b
    sorted_conf = confidence[order]
    edges = np.empty(n_bins + 1)
    edges[0] = 0.0
    edges[-1] = 1.0
    for b in range(1, n_bins):
        start = groups[b][0] if len(groups[b]) else n
        edges[b] = sorted_conf[start - 1] if start > 0 else 0.0
    return _curve(confidence, correct, assign, edges)


def ece(probs: Any, y: Any, *, bins: int = 15) -> float:
    """Expected calibration error (top-label, ``bins`` equal-width bins; Guo et al. 2017).

    ``sum_b (n_b / n) |accuracy_b - confidence_b|``: 0 when, in every bin, the mean
    confidence equals the accuracy. It is biased upwards on small test sets (each bin's
    accuracy is noisy), so compare ECEs at equal ``n`` and ``bins``.
    """
    return reliability_curve(probs, y, bins=bins, strategy="uniform").gap


def adaptive_ece(probs: Any, y: Any, *, bins: int = 15) -> float:
    """ECE with equal-mass bins (Nguyen & O'Connor 2015): every bin holds ~n/bins examples.

    Less sensitive than :func:`ece` to modern networks piling almost every prediction
    into the top equal-width bin.
    """
    return reliability_curve(probs, y, bins=bins, strategy="quantile").gap


# -- uncertainty ------------------------------------------------------------------------


@overload
def predictive_entropy(probs: Any, *, reduction: Literal["mean"] = ...) -> float: ...
@overload
def predictive_entropy(probs: Any, *, reduction: Literal["none"]) -> np.ndarray: ...
@overload
def predictive_entropy(probs: Any, *, reduction: Reduction = ...) -> float | np.ndarray: ...
def predictive_entropy(probs: Any, *, reduction: Reduction = "mean") -> float | np.ndarray:
    """Entropy of the mean prediction, ``H[mean_s p_s]``: total uncertainty, in nats."""
    mean, _ = _predictive(probs)
    return _reduce(_entropy(mean), reduction)


@overload
def expected_entropy(probs: Any, *, reduction: Literal["mean"] = ...) -> float: ...
@overload
def expected_entropy(probs: Any, *, reduction: Literal["none"]) -> np.ndarray: ...
@overload
def expected_entropy(probs: Any, *, reduction: Reduction = ...) -> float | np.ndarray: ...
def expected_entropy(probs: Any, *, reduction: Reduction = "mean") -> float | np.ndarray:
    """Mean entropy of the samples, ``mean_s H[p_s]``: the aleatoric part, in nats."""
    samples = _samples(probs)
    return _reduce(_entropy(samples).mean(axis=0), reduction)


@overload
def mutual_information(probs: Any, *, reduction: Literal["mean"] = ...) -> float: ...
@overload
def mutual_information(probs: Any, *, reduction: Literal["none"]) -> np.ndarray: ...
@overload
def mutual_information(probs: Any, *, reduction: Reduction = ...) -> float | np.ndarray: ...
def mutual_information(probs: Any, *, reduction: Reduction = "mean") -> float | np.ndarray:
    """BALD (Houlsby et al. 2011): predictive minus expected entropy, the epistemic part.

    The information about the model that observing the label would give: 0 when all
    samples agree, large when they are confident and disagree. Per example it is
    ``>= 0`` (tiny negative float errors are clipped to 0). A ``(B, C)`` input is one
    sample, whose mutual information is 0.
    """
    samples = _samples(probs)
    values = _entropy(samples.mean(axis=0)) - _entropy(samples).mean(axis=0)
    return _reduce(np.maximum(values, 0.0), reduction)


@overload
def disagreement(probs: Any, *, reduction: Literal["mean"] = ...) -> float: ...
@overload
def disagreement(probs: Any, *, reduction: Literal["none"]) -> np.ndarray: ...
@overload
def disagreement(probs: Any, *, reduction: Reduction = ...) -> float | np.ndarray: ...
def disagreement(probs: Any, *, reduction: Reduction = "mean") -> float | np.ndarray:
    """How often two different samples predict different top classes.

    Per example, the fraction of ordered pairs ``(s, s')``, ``s != s'``, whose argmax
    classes differ: ``1 - sum_c n_c (n_c - 1) / (S (S - 1))`` with ``n_c`` the number of
    samples voting for class ``c``. 0 when all samples agree; for S = 2 it is the
    disagreement rate of Fort et al. (2019). Needs at least two samples ``(S, B, C)``.
    """
    samples = _samples(probs)
    s = samples.shape[0]
    if s < 2:
        raise InvalidArgumentError(
            f"disagreement needs samples of shape (S, B, C) with S >= 2, got S = {s}; "
            "pass the member or sample predictions, not their mean"
        )
    votes = samples.argmax(axis=-1)  # (S, B)
    classes = samples.shape[-1]
    counts = np.zeros((samples.shape[1], classes), dtype=np.float64)
    np.add.at(counts, (np.broadcast_to(np.arange(samples.shape[1]), votes.shape), votes), 1.0)
    values = 1.0 - (counts * (counts - 1.0)).sum(axis=-1) / (s * (s - 1.0))
    return _reduce(values, reduction)
