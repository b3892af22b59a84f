"""Variational layers: closed-form KL, keyed noise, local reparameterisation, prediction."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kit.digits import digits_split, single_model
from kit.globals import changed, snapshot
from seedwise import Seeds
from seedwise.bayes import variational as V
from seedwise.errors import InvalidArgumentError, InvalidTypeError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _mlp() -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def _cnn() -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1, padding_mode="reflect"),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(4 * 5 * 5, 3),
        )


def test_kl_of_a_layer_equals_the_closed_form():
    layer = V.bayesianize(nn.Sequential(_mlp()[0]), prior_std=0.7, posterior_rho_init=-2.0)[0]
    with torch.no_grad():
        layer.weight_rho.copy_(torch.linspace(-3, 1, 32).reshape(8, 4))
    q_w = torch.distributions.Normal(layer.weight_mu, F.softplus(layer.weight_rho))
    q_b = torch.distributions.Normal(layer.bias_mu, F.softplus(layer.bias_rho))
    p = torch.distributions.Normal(0.0, 0.7)
    expected = torch.distributions.kl_divergence(q_w, p).sum() + torch.distributions.kl_divergence(q_b, p).sum()
    torch.testing.assert_close(layer.kl(), expected)
    torch.testing.assert_close(V.kl_divergence(nn.Sequential(layer)), expected)


def test_kl_of_a_model_sums_its_layers_and_is_differentiable():
    model = V.bayesianize(_cnn())
    total = V.kl_divergence(model)
    torch.testing.assert_close(total, sum(layer.kl() for _, layer in V.variational_layers(model)))
    total.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_bayesianize_copies_and_starts_at_the_original_weights():
    model = _cnn()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    bayes = V.bayesianize(model)
    assert isinstance(bayes[0], V.BayesConv) and isinstance(bayes[3], V.BayesLinear)
    assert isinstance(model[0], nn.Conv2d)  # the original is untouched
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k])
    assert torch.equal(bayes[0].weight_mu, model[0].weight)
    torch.testing.assert_close(bayes[3].weight_sigma, torch.full((3, 100), float(F.softplus(torch.tensor(-5.0)))))
    x = torch.randn(2, 1, 5, 5, generator=Seeds(0).torch())
    bayes.eval()
    with torch.no_grad():  # eval mode without noise: the posterior mean, i.e. the original model
        torch.testing.assert_close(bayes(x), model(x), rtol=0, atol=0)
    assert "BayesLinear(in_features=100, out_features=3, bias=True, prior_std=1.0)" in repr(bayes)
    assert "BayesConv(1, 4, kernel_size=(3, 3)" in repr(bayes)


def test_kl_stays_finite_for_a_tiny_posterior_std():
    layer = V.bayesianize(nn.Sequential(_mlp()[0]), posterior_rho_init=-60.0)[0]  # sigma ~ 1e-26
    kl = layer.kl()
    assert torch.isfinite(kl)
    expected = 40 * (-math.log(float(F.softplus(torch.tensor(-60.0, dtype=torch.float64))))) + 0.5 * (
        (layer.weight_mu.double() ** 2).sum() + (layer.bias_mu.double() ** 2).sum() - 40
    )
    torch.testing.assert_close(kl.double(), expected, rtol=1e-5, atol=1e-3)


def test_training_without_noise_raises_and_eval_uses_the_mean():
    bayes = V.bayesianize(_mlp())
    x = torch.ones(2, 4)
    bayes.train()
    with pytest.raises(V.NoiseNotSetError, match="sampling"):
        bayes(x)
    with V.sampling(bayes, Seeds(0), 0):
        bayes(x)
    with pytest.raises(V.NoiseNotSetError):  # the noise is gone after the block
        bayes(x)


def test_noise_is_a_pure_function_of_stream_and_position():
    bayes = V.bayesianize(_cnn(), posterior_rho_init=-1.0)
    bayes.train()
    x = torch.randn(3, 1, 5, 5, generator=Seeds(1).torch())
    before = snapshot()

    def run(seeds, position):
        with torch.no_grad(), V.sampling(bayes, seeds, position):
            return bayes(x)

    a, b = run(Seeds(1)["noise"], 7), run(Seeds(1)["noise"], 7)
    c, d = run(Seeds(1)["noise"], 8), run(Seeds(2)["noise"], 7)
    e = run(Seeds(1)["noise"], (2, 7))
    assert changed(before, snapshot()) == []
    assert torch.equal(a, b)
    assert not torch.equal(a, c) and not torch.equal(a, d) and not torch.equal(a, e)
    # Nested blocks restore the outer noise.
    with torch.no_grad(), V.sampling(bayes, Seeds(1)["noise"], 7):
        with V.sampling(bayes, Seeds(3), 0):
            bayes(x)
        assert torch.equal(bayes(x), a)


def test_local_reparameterisation_has_the_right_output_distribution():
    layer = V.bayesianize(nn.Sequential(_mlp()[0]), posterior_rho_init=-1.0)
    x = torch.tensor([[1.0, -2.0, 0.5, 3.0]])
    n = 20000
    with torch.no_grad(), V.sampling(layer, Seeds(4), 0):
        out = layer(x.expand(n, 4))  # one independent draw per row
    lin = layer[0]
    mean = F.linear(x, lin.weight_mu, lin.bias_mu)[0]
    var = F.linear(x * x, lin.weight_sigma**2, lin.bias_sigma**2)[0]
    sd = var.sqrt()
    assert torch.all((out.mean(0) - mean).abs() < 5 * sd / n**0.5)
    assert torch.all((out.var(0) / var - 1).abs() < 5 * (2 / n) ** 0.5)


def test_conv_samples_one_weight_per_forward_pass():
    bayes = V.bayesianize(_cnn(), posterior_rho_init=0.0)
    conv = bayes[0]
    x = torch.randn(1, 1, 5, 5, generator=Seeds(5).torch())
    with torch.no_grad(), V.sampling(bayes, Seeds(5), 0):
        out = conv(x.expand(2, 1, 5, 5))
    assert torch.equal(out[0], out[1])  # the batch shares the weight sample
    with torch.no_grad():
        conv.eval()
        mean_out = conv(x)
    assert not torch.equal(out[:1], mean_out)


def test_elbo_loss_is_nll_plus_kl_over_n():
    bayes = V.bayesianize(_mlp())
    logits = torch.randn(5, 3, generator=Seeds(6).torch())
    y = torch.tensor([0, 1, 2, 0, 1])
    expected = F.cross_entropy(logits, y) + V.kl_divergence(bayes) / 1000
    torch.testing.assert_close(V.elbo_loss(logits, y, bayes, 1000), expected)
    torch.testing.assert_close(
        V.elbo_loss(logits, y, bayes, 1000, kl_weight=0.1),
        F.cross_entropy(logits, y) + 0.1 * V.kl_divergence(bayes) / 1000,
    )


def test_predict_is_keyed_prefix_stable_and_restores_modes():
    bayes = V.bayesianize(_mlp(), posterior_rho_init=-1.0)
    bayes.train()
    x = torch.randn(6, 4, generator=Seeds(7).torch())
    before = snapshot()
    a = V.predict(bayes, x, samples=5, seeds=Seeds(8))
    b = V.predict(bayes, x, samples=5, seeds=Seeds(8))
    c = V.predict(bayes, x, samples=5, seeds=Seeds(9))
    short = V.predict(bayes, x, samples=2, seeds=Seeds(8))
    assert changed(before, snapshot()) == []
    assert a.shape == (5, 6, 3)
    assert torch.equal(a, b) and torch.equal(short, a[:2])
    assert not torch.equal(a, c)
    torch.testing.assert_close(a.sum(-1), torch.ones(5, 6))
    assert bayes.training and all(m.training for m in bayes.modules())


def test_errors_are_clear():
    with pytest.raises(InvalidArgumentError, match="prior_std"):
        V.bayesianize(_mlp(), prior_std=0.0)
    with pytest.raises(InvalidTypeError, match="nn.Module"):
        V.bayesianize("model")  # type: ignore[arg-type]
    bayes = V.bayesianize(_mlp())
    with pytest.raises(InvalidArgumentError, match="already variational"):
        V.bayesianize(bayes)
    with pytest.raises(InvalidArgumentError, match="no variational layers"):
        with V.sampling(_mlp(), Seeds(0), 0):
            pass
    with pytest.raises(InvalidTypeError, match="seeds"):
        with V.sampling(bayes, "0", 0):  # type: ignore[arg-type]
            pass
    with pytest.raises(InvalidArgumentError, match="position"):
        with V.sampling(bayes, Seeds(0), -1):
            pass
    with pytest.raises(InvalidArgumentError, match="n_data"):
        V.elbo_loss(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), bayes, 0)


@pytest.mark.slow
def test_variational_improves_nll_over_the_single_model_ondigits_split():
    from seedwise import metrics

    train, _, test = digits_split()
    model = single_model(Seeds(0), train)
    with torch.no_grad():
        single = metrics.nll(torch.softmax(model(test[0]), -1), test[1])
    bayes = V.bayesianize(model)  # posterior means start at the trained weights
    opt = torch.optim.Adam(bayes.parameters(), lr=1e-3)
    x, y = train
    noise = Seeds(0)["vi_noise"]
    for step in range(100):
        with V.sampling(bayes, noise, step):
            loss = V.elbo_loss(bayes(x), y, bayes, n_data=len(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    probs = V.predict(bayes, test[0], samples=20, seeds=Seeds(0)["vi"])
    assert metrics.nll(probs, test[1]) < 0.98 * single


def test_multihead_attention_is_left_deterministic():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            with torch.random.fork_rng(devices=[]):
                self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
                self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.attn(x, x, x, need_weights=False)[0])

    bayes = V.bayesianize(Net())
    assert isinstance(bayes.attn.out_proj, nn.Linear) and isinstance(bayes.head, V.BayesLinear)
    x = torch.randn(2, 4, 8, generator=Seeds(0).torch())
    with torch.no_grad(), V.sampling(bayes, Seeds(0), 0):
        assert bayes(x).shape == (2, 4, 3)
