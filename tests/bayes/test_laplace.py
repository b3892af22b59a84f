"""Last-layer Laplace: the GGN against torch.func's Hessian, the evidence, the predictives."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kit.digits import digits_split, single_model
from kit.globals import changed, snapshot
from seedwise import Seeds
from seedwise.bayes.laplace import LastLayerLaplace
from seedwise.errors import InvalidArgumentError, InvalidTypeError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _small(seed: int = 0, classes: int = 3, n: int = 20):
    """A tiny tanh MLP with seeded weights, inputs and labels (no global RNG)."""
    g = Seeds(seed)["small"].torch()
    with torch.random.fork_rng(devices=[]):
        model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, classes))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    x = torch.randn(n, 5, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return model, x, y


def _theta(model: nn.Sequential) -> torch.Tensor:
    last = model[-1]
    return torch.cat([last.weight, last.bias[:, None]], dim=1).detach().double().reshape(-1)


def _loss_fn(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor):
    """Summed NLL as a function of the flattened last-layer parameters vec([W | b])."""
    with torch.no_grad():
        phi = model[:-1](x).double()
    C, F1 = model[-1].out_features, model[-1].in_features + 1

    def loss(theta: torch.Tensor) -> torch.Tensor:
        wb = theta.reshape(C, F1)
        return F.cross_entropy(phi @ wb[:, :-1].T + wb[:, -1], y, reduction="sum")

    return loss, phi


def _hessian(fn):
    """torch.func's Hessian as reverse-over-reverse (``torch.func.hessian`` is jacfwd over
    jacrev, and forward mode loads a TorchScript decomposition that warns on torch 2.13)."""
    return torch.func.jacrev(torch.func.jacrev(fn))


def test_full_ggn_equals_torch_func_hessian():
    model, x, y = _small()
    la = LastLayerLaplace(model, hessian="full").fit((x, y))
    loss, _ = _loss_fn(model, x, y)
    expected = _hessian(loss)(_theta(model))
    torch.testing.assert_close(la.hessian_matrix(), expected, rtol=1e-10, atol=1e-12)


def test_fit_over_batches_equals_fit_at_once():
    model, x, y = _small()
    whole = LastLayerLaplace(model, hessian="full").fit((x, y))
    batched = LastLayerLaplace(model, hessian="full").fit([(x[:7], y[:7]), (x[7:], y[7:])])
    torch.testing.assert_close(batched.hessian_matrix(), whole.hessian_matrix(), rtol=1e-12, atol=1e-12)
    assert batched.n_data == whole.n_data == 20


def test_diag_is_the_diagonal_of_the_exact_hessian():
    model, x, y = _small()
    full = LastLayerLaplace(model, hessian="full").fit((x, y)).hessian_matrix()
    diag = LastLayerLaplace(model, hessian="diag").fit((x, y)).hessian_matrix()
    torch.testing.assert_close(diag, torch.diag(torch.diagonal(full)), rtol=1e-10, atol=1e-12)


def test_kron_follows_the_kfac_rule_and_is_exact_for_one_example():
    model, x, y = _small()
    la = LastLayerLaplace(model, hessian="kron").fit((x, y))
    _, phi = _loss_fn(model, x, y)
    phi1 = torch.cat([phi, torch.ones(len(phi), 1, dtype=phi.dtype)], 1)
    p = torch.softmax(phi1 @ _theta(model).reshape(3, 8).T, -1)
    G = sum(torch.diag(pi) - torch.outer(pi, pi) for pi in p)
    A = phi1.T @ phi1
    torch.testing.assert_close(la.hessian_matrix(), torch.kron(G, A) / len(x), rtol=1e-10, atol=1e-12)
    # One example: G (x) A / 1 is the exact GGN, which is torch.func's Hessian.
    one = LastLayerLaplace(model, hessian="kron").fit((x[:1], y[:1]))
    loss, _ = _loss_fn(model, x[:1], y[:1])
    torch.testing.assert_close(one.hessian_matrix(), _hessian(loss)(_theta(model)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("hessian", ["full", "diag", "kron"])
def test_log_evidence_matches_the_closed_form(hessian):
    model, x, y = _small()
    la = LastLayerLaplace(model, hessian=hessian).fit((x, y))
    loss, _ = _loss_fn(model, x, y)
    theta = _theta(model)
    H = la.hessian_matrix()
    P = theta.numel()
    for delta in (0.01, 1.0, 30.0):
        logdet = torch.logdet(H + delta * torch.eye(P, dtype=H.dtype))
        expected = -loss(theta) - 0.5 * delta * theta @ theta + 0.5 * P * math.log(delta) - 0.5 * logdet
        assert la.log_marginal_likelihood(delta) == pytest.approx(float(expected), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("hessian", ["full", "diag", "kron"])
def test_marglik_prior_precision_maximises_the_evidence_on_a_grid(hessian):
    model, x, y = _small()
    la = LastLayerLaplace(model, hessian=hessian).fit((x, y))
    best = la.optimize_prior_precision("marglik")
    assert la.prior_precision == best
    grid = np.logspace(-5, 5, 401)
    values = [la.log_marginal_likelihood(float(d)) for d in grid]
    top = int(np.argmax(values))
    assert 0 < top < len(grid) - 1  # an interior optimum: the check below is meaningful
    assert la.log_marginal_likelihood(best) >= max(values) - 1e-9
    assert grid[top - 1] <= best <= grid[top + 1]


@pytest.mark.parametrize("hessian", ["full", "diag", "kron"])
def test_probit_predictive_matches_the_dense_computation(hessian):
    model, x, y = _small()
    la = LastLayerLaplace(model, hessian=hessian, prior_precision=0.7).fit((x, y))
    x_new = torch.randn(6, 5, generator=Seeds(1).torch())
    with torch.no_grad():
        phi = model[:-1](x_new).double()
        f = model(x_new).double()
    C, F1 = 3, 8
    sigma = torch.linalg.inv(la.hessian_matrix() + 0.7 * torch.eye(C * F1, dtype=torch.float64))
    expected = []
    for i in range(len(x_new)):
        J = torch.kron(torch.eye(C, dtype=torch.float64), torch.cat([phi[i], torch.ones(1, dtype=phi.dtype)])[None])
        var = torch.diagonal(J @ sigma @ J.T)
        expected.append(torch.softmax(f[i] / torch.sqrt(1 + math.pi / 8 * var), -1))
    torch.testing.assert_close(la.predictive(x_new).double(), torch.stack(expected), rtol=1e-5, atol=1e-6)
    # The dense posterior covariance is the inverse posterior precision.
    torch.testing.assert_close(la.posterior_covariance(), sigma, rtol=1e-7, atol=1e-9)


def test_sampled_predictive_is_keyed_and_converges_to_the_gaussian():
    model, x, y = _small()
    la = LastLayerLaplace(model, hessian="full", prior_precision=2.0).fit((x, y))
    x_new = x[:4]
    before = snapshot()
    a = la.predictive_samples(x_new, samples=5, seeds=Seeds(3))
    b = la.predictive_samples(x_new, samples=5, seeds=Seeds(3))
    c = la.predictive_samples(x_new, samples=5, seeds=Seeds(4))
    prefix = la.predictive_samples(x_new, samples=2, seeds=Seeds(3))
    assert changed(before, snapshot()) == []
    assert a.shape == (5, 4, 3)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert torch.equal(prefix, a[:2])  # draw s does not depend on the number of draws
    assert torch.equal(la.predictive(x_new, method="samples", samples=5, seeds=Seeds(3)), a.mean(0))
    # Many draws: log-probabilities are the sampled logits up to a per-row constant, so their
    # centred mean and covariance must approach those of N(f_MAP, J Sigma J^T), centred.
    n = 3000
    logp = torch.log(la.predictive_samples(x_new, samples=n, seeds=Seeds(5)).double())
    centred = logp - logp.mean(-1, keepdim=True)
    with torch.no_grad():
        f = model(x_new).double()
    M = torch.eye(3, dtype=torch.float64) - 1.0 / 3
    phi = torch.cat([model[:-1](x_new).double(), torch.ones(4, 1, dtype=torch.float64)], 1).detach()
    sigma = la.posterior_covariance()
    for i in range(4):
        J = torch.kron(torch.eye(3, dtype=torch.float64), phi[i][None])
        cov = M @ J @ sigma @ J.T @ M
        scale = cov.diagonal().sqrt().max().item()
        torch.testing.assert_close(centred[:, i].mean(0), M @ f[i], atol=0.1 * scale, rtol=0)
        torch.testing.assert_close(torch.cov(centred[:, i].T), cov, atol=0.1 * scale**2, rtol=0)


def test_model_is_not_modified_and_modes_are_restored():
    model, x, y = _small()
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    la = LastLayerLaplace(model, hessian="kron").fit((x, y))
    la.optimize_prior_precision("marglik")
    la.predictive(x)
    assert model.training and all(m.training for m in model.modules())
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k])
    assert "kron" in repr(la) and "fitted on 20" in repr(la)


def test_grid_search_picks_the_lowest_validation_nll():
    model, x, y = _small()
    la = LastLayerLaplace(model, hessian="diag").fit((x[:12], y[:12]))
    grid = [0.1, 1.0, 10.0, 100.0]
    best = la.optimize_prior_precision("grid", val=(x[12:], y[12:]), grid=grid)
    nlls = []
    for d in grid:
        la.prior_precision = d
        p = la.predictive(x[12:]).double()
        nlls.append(float(-torch.log(p[torch.arange(8), y[12:]]).mean()))
    assert best == grid[int(np.argmin(nlls))]


def test_errors_are_clear():
    model, x, y = _small()
    with pytest.raises(InvalidArgumentError, match="'full', 'diag', 'kron'"):
        LastLayerLaplace(model, hessian="block")
    with pytest.raises(InvalidArgumentError, match="classification"):
        LastLayerLaplace(model, likelihood="regresion")
    with pytest.raises(InvalidArgumentError, match="not fitted"):
        LastLayerLaplace(model).predictive(x)
    with pytest.raises(InvalidTypeError, match="nn.Module"):
        LastLayerLaplace("model")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="prior_precision"):
        LastLayerLaplace(model, prior_precision=0.0)
    la = LastLayerLaplace(model).fit((x, y))
    with pytest.raises(InvalidTypeError, match="seeds"):
        la.predictive(x, method="samples", samples=3)
    with pytest.raises(InvalidArgumentError, match="val="):
        la.optimize_prior_precision("grid")
    with pytest.raises(InvalidArgumentError, match="labels"):
        LastLayerLaplace(model).fit((x, y + 3))
    wrapped = nn.Sequential(model, nn.Softmax(-1))
    with pytest.raises(InvalidArgumentError, match="last nn.Linear"):
        LastLayerLaplace(wrapped).fit((x, y))


@pytest.mark.slow
def test_laplace_improves_nll_over_the_single_model_ondigits_split():
    from seedwise import metrics

    train, val, test = digits_split()
    model = single_model(Seeds(0), train)
    with torch.no_grad():
        single = metrics.nll(torch.softmax(model(test[0]), -1), test[1])
    for hessian in ("kron", "full"):
        la = LastLayerLaplace(model, hessian=hessian).fit(train)
        la.optimize_prior_precision("grid", val=val)
        probs = la.predictive(test[0])
        assert metrics.nll(probs, test[1]) < 0.98 * single, hessian
        assert metrics.accuracy(probs, test[1]) >= metrics.accuracy(torch.softmax(model(test[0]), -1), test[1]) - 0.01


def test_chunked_predictive_equals_unchunked(monkeypatch):
    import seedwise.bayes.laplace as laplace_module

    model, x, y = _small()
    la = LastLayerLaplace(model, hessian="full").fit((x, y))
    whole = la.predictive(x)
    monkeypatch.setattr(laplace_module, "_CHUNK_ELEMENTS", 3 * la.n_params * la.n_classes)  # 3 rows a chunk
    torch.testing.assert_close(la.predictive(x), whole, rtol=1e-12, atol=1e-12)


def test_full_hessian_refuses_a_huge_last_layer():
    with torch.random.fork_rng(devices=[]):
        big = nn.Linear(2048, 1000, device="meta")
    with pytest.raises(InvalidArgumentError, match="kron"):
        LastLayerLaplace(nn.Sequential(big), hessian="full")


def test_the_posterior_mean_is_the_last_layer_at_fit_time():
    model, x, y = _small()
    la = LastLayerLaplace(model, hessian="diag").fit((x, y))
    before = la.predictive(x)
    theta = la.theta_map.clone()
    with torch.no_grad():
        model[-1].weight.add_(1.0)  # training on after fit does not move the posterior
    assert torch.equal(la.theta_map, theta)
    assert torch.equal(la.predictive(x), before)
