"""MC dropout: sample t a pure function of (stream, t, call), batched samples (keyed dropout: tests/stateless)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seedwise import Seeds, metrics
from seedwise.bayes import keyed_dropout, mc_dropout
from seedwise.bayes.dropout import KeyedDropoutMode
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.init import initialize
from seedwise.stateless import _dropout_mask


def _mlp(p: float = 0.5) -> nn.Module:
    return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Dropout(p), nn.Linear(32, 5))


def test_keyed_dropout_gives_the_same_bits_with_and_without_the_compiled_kernel(monkeypatch):
    x = torch.from_numpy(Seeds(4)["x"].numpy().standard_normal((6, 40)).astype("float32"))
    model = nn.Sequential(nn.Linear(40, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 64), nn.Dropout2d(0.2),
                          nn.Flatten(), nn.Linear(64, 3))  # fmt: skip
    initialize(model, Seeds(0))
    seeds = Seeds(5)["mc"]
    fast = mc_dropout(model, x, samples=9, seeds=seeds, chunk_size=4)
    with keyed_dropout(seeds, 3):
        fast_train = model.train()(x)
    monkeypatch.setattr(_dropout_mask, "noise_kernel", lambda: None)  # e.g. numba not installed
    assert torch.equal(mc_dropout(model, x, samples=9, seeds=seeds, chunk_size=4), fast)
    with keyed_dropout(seeds, 3):
        assert torch.equal(model.train()(x), fast_train)


def _identity_dropout_samples(samples: int, seeds: Seeds, **kwargs) -> torch.Tensor:
    model = nn.Sequential(nn.Dropout(0.5))
    return mc_dropout(model, torch.ones(6, 40), samples=samples, seeds=seeds, output="logits", **kwargs)


def test_sample_t_does_not_depend_on_the_number_of_samples_or_chunking():
    s = Seeds(3)["mc"]
    eight = _identity_dropout_samples(8, s)
    thirty_two = _identity_dropout_samples(32, s)
    chunked = _identity_dropout_samples(32, s, chunk_size=5)
    looped = _identity_dropout_samples(32, s, chunk_size=1)
    assert torch.equal(eight, thirty_two[:8])
    assert torch.equal(thirty_two, chunked)
    assert torch.equal(thirty_two, looped)
    assert set(torch.unique(eight).tolist()) == {0.0, 2.0}
    # the samples differ from each other, and so do the rows within a sample
    assert not torch.equal(thirty_two[0], thirty_two[1])
    assert not torch.equal(thirty_two[0, 0], thirty_two[0, 1])


def test_sample_t_of_a_real_model_matches_across_sample_counts(test_seed):
    model = _mlp()
    initialize(model, Seeds(test_seed)["init"])
    x = torch.from_numpy(Seeds(test_seed)["x"].numpy().normal(size=(9, 12))).float()
    s = Seeds(test_seed)["mc"]
    a = mc_dropout(model, x, samples=8, seeds=s)
    b = mc_dropout(model, x, samples=32, seeds=s, chunk_size=3)
    assert a.shape == (8, 9, 5)
    # same masks; the matrix products over 8 or 3 stacked samples may round differently
    torch.testing.assert_close(a, b[:8], rtol=1e-5, atol=1e-6)
    assert torch.equal(a, mc_dropout(model, x, samples=8, seeds=s))
    assert not torch.equal(a, mc_dropout(model, x, samples=8, seeds=Seeds(test_seed)["other"]))
    torch.testing.assert_close(a.sum(-1), torch.ones(8, 9))


def test_global_rngs_untouched_and_modes_restored():
    model = nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.Dropout(0.3), nn.Linear(16, 4))
    initialize(model, Seeds(0)["init"])
    model.train()
    model[1].eval()
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    stats = model[1].running_mean.clone()
    mc_dropout(model, torch.ones(5, 12), samples=4, seeds=Seeds(0))
    after = (torch.get_rng_state(), np.random.get_state()[1], random.getstate())
    assert torch.equal(before[0], after[0])
    assert np.array_equal(before[1], after[1])
    assert before[2] == after[2]
    assert model.training and not model[1].training and model[2].training
    assert torch.equal(stats, model[1].running_mean)  # BatchNorm ran in eval mode


class _FunctionalDropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return F.dropout(self.fc(x), 0.5, training=self.training)


def test_functional_dropout_in_forward_is_sampled():
    model = _FunctionalDropout()
    initialize(model, Seeds(0)["init"])
    out = mc_dropout(model, torch.ones(3, 8), samples=4, seeds=Seeds(5), output="logits")
    assert (out == 0).any() and not torch.equal(out[0], out[1])
    model.eval()
    with torch.no_grad():
        plain = model(torch.ones(3, 8))
    assert torch.equal(plain, model(torch.ones(3, 8)))  # outside mc_dropout: deterministic again


def test_channel_dropout_masks_whole_channels():
    model = nn.Sequential(nn.Dropout2d(0.5))
    out = mc_dropout(model, torch.ones(4, 6, 3, 3), samples=5, seeds=Seeds(1), output="logits")
    flat = out.reshape(5, 4, 6, 9)
    assert torch.equal(flat.amin(-1), flat.amax(-1))  # constant over each channel's pixels
    assert set(torch.unique(flat).tolist()) == {0.0, 2.0}


def test_global_rng_use_inside_the_model_raises():
    class Noisy(nn.Module):
        def forward(self, x):
            return x + torch.randn_like(x)

    with pytest.raises(InvalidArgumentError, match="randn_like.*global RNG"):
        mc_dropout(Noisy(), torch.ones(2, 3), samples=2, seeds=Seeds(0))
    with pytest.raises(InvalidArgumentError, match="no dropout stream"):
        with KeyedDropoutMode(None, 0):
            F.dropout(torch.ones(3), 0.5)
    # attention dropout happens inside torch, out of the mode's reach: refused, not silently global
    attention = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = torch.ones(2, 3, 8)
    with pytest.raises(InvalidArgumentError, match="attention dropout"):
        with keyed_dropout(Seeds(0), 0):
            attention(x, x, x)
    attention.eval()
    with keyed_dropout(Seeds(0), 0):
        attention(x, x, x)  # in eval mode attention dropout is off: fine
    with pytest.raises(InvalidArgumentError, match="scaled_dot_product_attention"):
        with keyed_dropout(Seeds(0), 0):
            F.scaled_dot_product_attention(x, x, x, dropout_p=0.1)


def test_bad_arguments():
    model, x = _mlp(), torch.ones(2, 12)
    with pytest.raises(InvalidTypeError, match="seeds"):
        mc_dropout(model, x, seeds=None)
    with pytest.raises(InvalidArgumentError, match="samples must be >= 1"):
        mc_dropout(model, x, samples=0, seeds=Seeds(0))
    with pytest.raises(InvalidArgumentError, match="output must be one of 'probs', 'logits'"):
        mc_dropout(model, x, seeds=Seeds(0), output="softmax")
    with pytest.raises(InvalidTypeError, match="x must be a torch.Tensor"):
        mc_dropout(model, np.ones((2, 12)), seeds=Seeds(0))
    with pytest.raises(InvalidArgumentError, match="position must be < 2147483648"):
        with keyed_dropout(Seeds(0), 2**31):
            pass

    class SeqFirst(nn.Module):
        def forward(self, x):
            return F.dropout(x.T, 0.5)  # batch no longer first

    with pytest.raises(InvalidArgumentError, match="batch-first"):
        mc_dropout(SeqFirst(), torch.ones(3, 5), samples=2, seeds=Seeds(0))


@pytest.mark.slow
def test_mc_dropout_improves_nll_on_digits():
    """A small MLP trained with keyed dropout to overfit 300 digits: MC dropout's averaged
    prediction has lower test NLL than the same network's deterministic prediction and
    than the same network trained without dropout."""
    from sklearn.datasets import load_digits

    torch.set_num_threads(1)
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16
    y = torch.tensor(digits.target)
    x_train, y_train, x_test, y_test = x[:300], y[:300], x[1000:], y[1000:]
    root = Seeds(2026)

    def train(p: float) -> nn.Module:
        model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(p), nn.Linear(128, 10))
        initialize(model, root["init"])
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        for step in range(150):
            with keyed_dropout(root["dropout"], step):
                loss = F.cross_entropy(model(x_train), y_train)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return model.eval()

    plain, dropout_net = train(0.0), train(0.5)
    with torch.no_grad():
        nll_plain = metrics.nll(plain(x_test).softmax(-1), y_test)
        nll_det = metrics.nll(dropout_net(x_test).softmax(-1), y_test)
    samples = mc_dropout(dropout_net, x_test, samples=32, seeds=root["mc"])
    nll_mc = metrics.nll(samples, y_test)
    assert nll_mc < nll_det and nll_mc < nll_plain, (nll_plain, nll_det, nll_mc)
    assert metrics.mutual_information(samples) > 0


def test_bayes_package_exports_lazily():
    import seedwise
    import seedwise.bayes as bayes
    from seedwise.bayes import dropout

    assert bayes.mc_dropout is dropout.mc_dropout and seedwise.bayes.mc_dropout is mc_dropout
    assert callable(bayes.keyed_dropout)
    assert {"mc_dropout", "bayesianize", "kl_divergence", "elbo_loss", "SWAG", "LastLayerLaplace"} <= set(bayes.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bayes.nope  # noqa: B018
