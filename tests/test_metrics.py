"""Metrics: hand-computed values, known identities, and the input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seedwise import Seeds, metrics
from seedwise.errors import InvalidArgumentError, InvalidTypeError

P = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.25, 0.25, 0.5], [0.9, 0.05, 0.05]])
Y = np.array([0, 2, 2, 1])


def test_accuracy_hand_computed():
    # argmax: 0, 1, 2, 0 against labels 0, 2, 2, 1 -> 2 of 4 right
    assert metrics.accuracy(P, Y) == 0.5


def test_nll_hand_computed():
    expected = -(math.log(0.7) + math.log(0.3) + math.log(0.5) + math.log(0.05)) / 4
    assert metrics.nll(P, Y) == pytest.approx(expected, rel=1e-12)
    per_example = metrics.nll(P, Y, reduction="none")
    assert per_example.shape == (4,)
    assert per_example[0] == pytest.approx(-math.log(0.7), rel=1e-12)


def test_nll_of_one_hot_correct_predictions_is_zero():
    y = np.array([2, 0, 1])
    assert metrics.nll(np.eye(3)[y], y) == 0.0


def test_nll_clamps_a_confident_mistake():
    assert metrics.nll(np.array([[1.0, 0.0]]), np.array([1])) == pytest.approx(-math.log(metrics.NLL_EPS))


def test_brier_hand_computed():
    # example 0: (0.3^2 + 0.2^2 + 0.1^2) = 0.14; example 1: 0.1^2 + 0.6^2 + 0.7^2 = 0.86
    # example 2: 0.0625 + 0.0625 + 0.25 = 0.375; example 3: 0.81 + 0.95^2 + 0.0025 = 1.715
    assert metrics.brier(P, Y) == pytest.approx((0.14 + 0.86 + 0.375 + 1.715) / 4, rel=1e-12)
    assert metrics.brier(np.eye(3), np.arange(3)) == 0.0


def test_ece_hand_computed():
    # confidences 0.7, 0.6, 0.5, 0.9 (correct: 1, 0, 1, 0) with 5 bins of width 0.2:
    # (0.4, 0.6]: 0.6 (wrong), 0.5 (right) -> |0.5 - 0.55| * 2/4
    # (0.6, 0.8]: 0.7 (right) -> |1 - 0.7| * 1/4;  (0.8, 1]: 0.9 (wrong) -> 0.9 * 1/4
    expected = 0.05 * 0.5 + 0.3 * 0.25 + 0.9 * 0.25
    assert metrics.ece(P, Y, bins=5) == pytest.approx(expected, rel=1e-12)
    curve = metrics.reliability_curve(P, Y, bins=5)
    assert curve.counts.tolist() == [0, 0, 2, 1, 1]
    assert np.isnan(curve.confidence[0]) and np.isnan(curve.accuracy[1])
    assert curve.accuracy[2:].tolist() == [0.5, 1.0, 0.0]
    assert np.allclose(curve.confidence[2:], [0.55, 0.7, 0.9])
    assert curve.edges.shape == (6,)
    assert "bins=5" in repr(curve)


def test_adaptive_ece_hand_computed():
    # sorted confidences 0.5 (right), 0.6 (wrong) | 0.7 (right), 0.9 (wrong), 2 bins of 2
    expected = 0.5 * abs(0.5 - 0.55) + 0.5 * abs(0.5 - 0.8)
    assert metrics.adaptive_ece(P, Y, bins=2) == pytest.approx(expected, rel=1e-12)
    curve = metrics.reliability_curve(P, Y, bins=2, strategy="quantile")
    assert curve.counts.tolist() == [2, 2]


def test_a_perfectly_calibrated_predictor_has_ece_near_zero(test_seed):
    rng = Seeds(test_seed)["calibrated"].numpy()
    n, classes = 200_000, 4
    logits = rng.normal(size=(n, classes)) * 2.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    # labels drawn from the predicted distribution itself: calibrated by construction
    cumulative = probs.cumsum(axis=1)
    y = (rng.random(n)[:, None] > cumulative).sum(axis=1).clip(0, classes - 1)
    assert metrics.ece(probs, y) < 0.01
    assert metrics.adaptive_ece(probs, y) < 0.01
    # ...while an overconfident version of the same predictor is not
    sharp = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)
    assert metrics.ece(sharp, y) > 0.1


def test_samples_are_averaged_for_predictive_metrics():
    samples = np.stack([P, P[::-1]])
    mean = samples.mean(axis=0)
    for fn in (metrics.accuracy, metrics.nll, metrics.brier, metrics.ece):
        assert fn(samples, Y) == fn(mean, Y)
    assert metrics.predictive_entropy(samples) == metrics.predictive_entropy(mean)


def test_entropies_hand_computed():
    uniform = np.full((2, 4), 0.25)
    assert metrics.predictive_entropy(uniform) == pytest.approx(math.log(4), rel=1e-12)
    assert metrics.predictive_entropy(np.eye(3)) == 0.0
    # two confident samples that disagree: predictive log 2, expected 0, BALD log 2
    samples = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert metrics.predictive_entropy(samples) == pytest.approx(math.log(2), rel=1e-12)
    assert metrics.expected_entropy(samples) == 0.0
    assert metrics.mutual_information(samples) == pytest.approx(math.log(2), rel=1e-12)
    # agreeing samples carry no epistemic uncertainty
    same = np.stack([P, P, P])
    assert metrics.mutual_information(same) == pytest.approx(0.0, abs=1e-12)
    assert metrics.mutual_information(P) == pytest.approx(0.0, abs=1e-12)


def test_mutual_information_is_predictive_minus_expected(test_seed):
    rng = Seeds(test_seed)["mi"].numpy()
    samples = rng.dirichlet(np.ones(5), size=(7, 30))
    bald = metrics.mutual_information(samples, reduction="none")
    diff = metrics.predictive_entropy(samples, reduction="none") - metrics.expected_entropy(samples, reduction="none")
    assert np.allclose(bald, diff, atol=1e-12)
    assert np.all(bald >= 0)


def test_disagreement_hand_computed():
    a, b = np.eye(3)[[0, 1, 2]], np.eye(3)[[0, 2, 2]]
    # two members: they differ on 1 of 3 examples
    assert metrics.disagreement(np.stack([a, b])) == pytest.approx(1 / 3)
    # three members voting 0, 0, 1 on one example: pairs (ordered) that differ: 4 of 6
    votes = np.eye(2)[[[0], [0], [1]]]
    assert metrics.disagreement(votes) == pytest.approx(4 / 6)
    assert metrics.disagreement(np.stack([a, a])) == 0.0


def test_torch_tensors_give_the_same_floats():
    pt, yt = torch.tensor(P, dtype=torch.float32), torch.tensor(Y)
    p32 = P.astype(np.float32)
    assert metrics.nll(pt, yt) == metrics.nll(p32, Y)
    assert metrics.ece(pt, yt) == metrics.ece(p32, Y)
    assert isinstance(metrics.accuracy(pt, yt), float)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(InvalidArgumentError, match="sum to 1.*softmax"):
        metrics.nll(P * 0.5, Y)
    with pytest.raises(InvalidArgumentError, match=r"probs must have shape \(B, C\)"):
        metrics.nll(P[0], Y)
    with pytest.raises(InvalidArgumentError, match="NaN"):
        metrics.brier(np.where(P > 0.8, np.nan, P), Y)
    with pytest.raises(InvalidArgumentError, match=r"labels in \[0, 3\)"):
        metrics.accuracy(P, np.array([0, 1, 3, 0]))
    with pytest.raises(InvalidArgumentError, match=r"y must have shape \(4,\)"):
        metrics.accuracy(P, np.array([0, 1]))
    with pytest.raises(InvalidTypeError, match="integer class labels"):
        metrics.accuracy(P, Y.astype(float))
    with pytest.raises(InvalidArgumentError, match="in \\[0, 1\\]"):
        metrics.nll(np.array([[1.5, -0.5]]), np.array([0]))
    with pytest.raises(InvalidArgumentError, match="reduction must be one of 'mean', 'none'"):
        metrics.nll(P, Y, reduction="sum")
    with pytest.raises(InvalidArgumentError, match="strategy"):
        metrics.reliability_curve(P, Y, strategy="equal")
    with pytest.raises(InvalidArgumentError, match="bins must be >= 1"):
        metrics.ece(P, Y, bins=0)
    with pytest.raises(InvalidArgumentError, match="S >= 2"):
        metrics.disagreement(P)
    with pytest.raises(InvalidTypeError, match="NumPy array or a torch tensor"):
        metrics.nll({"p": 1}, Y)
