"""SWAG: collected moments, sample mean and covariance, keyed samples, BatchNorm update."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kit.digits import digits_split, single_model
from kit.globals import changed, snapshot
from seedwise import Seeds
from seedwise.bayes.swag import SWAG, update_bn
from seedwise.errors import InvalidArgumentError, InvalidTypeError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny() -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        return nn.Linear(3, 2)  # 8 parameters


def _set(model: nn.Module, vector: np.ndarray) -> None:
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(torch.as_tensor(vector, dtype=torch.float32), model.parameters())


def _snapshots(n: int, dim: int = 8) -> np.ndarray:
    rng = Seeds(0)["snapshots"].numpy()
    return (rng.normal(size=(n, dim)) * rng.uniform(0.5, 2.0, size=dim)).astype(np.float32)


def _collected(n: int = 7, rank: int = 5) -> tuple[SWAG, np.ndarray]:
    model = _tiny()
    swag = SWAG(model, rank=rank)
    snaps = _snapshots(n)
    for w in snaps:
        _set(model, w)
        swag.collect(model)
    return swag, snaps.astype(np.float64)


def test_collected_moments_match_numpy():
    swag, snaps = _collected(n=7, rank=5)
    np.testing.assert_allclose(swag.mean.numpy(), snaps.mean(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(swag.variance.numpy(), snaps.var(0), rtol=1e-9, atol=1e-12)
    # Column i: snapshot i minus the running mean after it; only the last `rank` are kept.
    running = np.cumsum(snaps, 0) / np.arange(1, 8)[:, None]
    np.testing.assert_allclose(swag.deviations.numpy(), (snaps - running)[-5:].T, rtol=1e-9, atol=1e-12)
    assert swag.n_collected == 7
    assert repr(swag) == "SWAG(rank=5, parameters=8, collected=7)"


@pytest.mark.parametrize("cov", ["full", "diag"])
def test_sample_mean_and_covariance_converge_to_the_collected_moments(cov):
    swag, snaps = _collected(n=7, rank=5)
    scale = 0.5
    running = np.cumsum(snaps, 0) / np.arange(1, 8)[:, None]
    D = (snaps - running)[-5:].T
    expected = np.diag(snaps.var(0))
    if cov == "full":
        expected = expected + D @ D.T / (D.shape[1] - 1)
    expected = scale * expected
    torch.testing.assert_close(swag.covariance(cov=cov, scale=scale).numpy(), expected, rtol=1e-9, atol=1e-12)
    n = 4000
    draws = torch.stack([swag.sample_vector(seeds=Seeds(1)[i], scale=scale, cov=cov) for i in range(n)]).numpy()
    sd = np.sqrt(np.diag(expected))
    # Standard errors: sd / sqrt(n) for the mean, ~ sd_i sd_j sqrt(2 / n) for a covariance.
    np.testing.assert_array_less(np.abs(draws.mean(0) - snaps.mean(0)), 5 * sd / np.sqrt(n))
    np.testing.assert_array_less(np.abs(np.cov(draws.T) - expected), 5 * np.outer(sd, sd) * np.sqrt(2 / n))


def test_samples_are_keyed_and_new_modules():
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    swag = SWAG(model, rank=3)
    g = Seeds(2).torch()
    with torch.no_grad():
        for _ in range(4):
            for p in model.parameters():
                p.add_(0.1 * torch.randn(p.shape, generator=g))
            swag.collect(model)
    before_state = {k: v.clone() for k, v in model.state_dict().items()}
    before = snapshot()
    a = swag.sample(seeds=Seeds(5))
    b = swag.sample(seeds=Seeds(5))
    c = swag.sample(seeds=Seeds(6))
    assert changed(before, snapshot()) == []
    assert a is not b and a is not model
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k])
    assert any(not torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())
    for k, v in model.state_dict().items():  # the live model is untouched
        assert torch.equal(v, before_state[k])
    with torch.no_grad():
        a[0].weight.add_(1.0)  # changing a sample changes neither SWAG nor the live model
    assert torch.equal(model.state_dict()["0.weight"], before_state["0.weight"])
    assert torch.equal(swag.sample(seeds=Seeds(5))[0].weight, b[0].weight)
    # scale=0 is the SWA mean.
    mean = swag.swa_model()
    for k, v in swag.sample(seeds=Seeds(7), scale=0.0).state_dict().items():
        assert torch.equal(v, mean.state_dict()[k])


def test_predict_is_vectorised_keyed_and_matches_the_samples():
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    swag = SWAG(model, rank=3)
    g = Seeds(3).torch()
    with torch.no_grad():
        for _ in range(4):
            for p in model.parameters():
                p.add_(0.1 * torch.randn(p.shape, generator=g))
            swag.collect(model)
    x = torch.randn(5, 4, generator=g)
    before = snapshot()
    probs = swag.predict(x, samples=4, seeds=Seeds(9))
    again = swag.predict(x, samples=4, seeds=Seeds(9))
    other = swag.predict(x, samples=4, seeds=Seeds(10))
    assert changed(before, snapshot()) == []
    assert probs.shape == (4, 5, 3)
    assert torch.equal(probs, again)
    assert not torch.equal(probs, other)
    torch.testing.assert_close(probs.sum(-1), torch.ones(4, 5))
    chunked = swag.predict(x, samples=4, seeds=Seeds(9), chunk_size=3)
    torch.testing.assert_close(chunked, probs, rtol=1e-6, atol=1e-7)
    for s in range(4):  # draw s of the batched pass is the model sample(seeds[s])
        with torch.no_grad():
            expected = torch.softmax(swag.sample(seeds=Seeds(9)[s])(x), -1)
        torch.testing.assert_close(probs[s], expected, rtol=1e-5, atol=1e-6)


class _BNNet(nn.Module):
    def __init__(self):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            self.fc = nn.Linear(4, 5)
            self.bn = nn.BatchNorm1d(5)
            self.drop = nn.Dropout(0.5)
            self.out = nn.Linear(5, 2)

    def forward(self, x):
        return self.out(self.drop(self.bn(self.fc(x))))


def test_update_bn_is_an_exact_deterministic_pass():
    net = _BNNet()
    net.train()
    x = torch.randn(60, 4, generator=Seeds(4).torch())
    loader = [(x[i : i + 20], torch.zeros(20)) for i in range(0, 60, 20)]
    before = snapshot()
    update_bn(net, loader)
    assert changed(before, snapshot()) == []  # dropout stayed in eval mode: nothing drawn
    with torch.no_grad():
        h = net.fc(x)
    torch.testing.assert_close(net.bn.running_mean, h.mean(0), rtol=1e-5, atol=1e-6)
    # momentum=None averages the per-batch (unbiased) variances
    expected_var = torch.stack([h[i : i + 20].var(0) for i in range(0, 60, 20)]).mean(0)
    torch.testing.assert_close(net.bn.running_var, expected_var, rtol=1e-5, atol=1e-6)
    assert net.training and net.drop.training  # modes restored
    assert net.bn.momentum == 0.1


def test_predict_with_loader_for_bn_refreshes_each_sample():
    net = _BNNet()
    swag = SWAG(net, rank=2)
    g = Seeds(6).torch()
    x = torch.randn(40, 4, generator=g)
    with torch.no_grad():
        for _ in range(3):
            for p in net.parameters():
                p.add_(0.2 * torch.randn(p.shape, generator=g))
            swag.collect(net)
    plain = swag.predict(x[:8], samples=2, seeds=Seeds(1))  # buffers of the last collected model
    for s in range(2):
        with torch.no_grad():
            expected = torch.softmax(swag.sample(seeds=Seeds(1)[s])(x[:8]), -1)
        torch.testing.assert_close(plain[s], expected, rtol=1e-5, atol=1e-6)
    probs = swag.predict(x[:8], samples=2, seeds=Seeds(1), loader_for_bn=x)
    assert not torch.allclose(probs, plain)  # the refreshed statistics matter
    for s in range(2):
        sample = update_bn(swag.sample(seeds=Seeds(1)[s]), x)
        with torch.no_grad():
            expected = torch.softmax(sample(x[:8]), -1)
        torch.testing.assert_close(probs[s], expected, rtol=1e-5, atol=1e-6)


def test_errors_are_clear():
    model = _tiny()
    with pytest.raises(InvalidTypeError, match="nn.Module"):
        SWAG("model")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="rank"):
        SWAG(model, rank=1)
    swag = SWAG(model, rank=3)
    with pytest.raises(InvalidArgumentError, match="collect"):
        swag.sample(seeds=Seeds(0))
    with pytest.raises(InvalidArgumentError, match="differ"):
        swag.collect(nn.Linear(3, 4))
    swag.collect(model)
    swag.collect(model)
    with pytest.raises(InvalidArgumentError, match="'full', 'diag'"):
        swag.sample(seeds=Seeds(0), cov="lowrank")
    with pytest.raises(InvalidTypeError, match="seeds"):
        swag.sample(seeds=0.5)  # type: ignore[arg-type]
    # an int seed is coerced like everywhere else: the same sample as Seeds(int)
    assert all(
        torch.equal(a, b)
        for a, b in zip(swag.sample(seeds=3).state_dict().values(), swag.sample(seeds=Seeds(3)).state_dict().values())
    )
    with pytest.raises(InvalidArgumentError, match="scale"):
        swag.sample(seeds=Seeds(0), scale=-1.0)
    with pytest.raises(InvalidArgumentError, match="no batches"):
        update_bn(_BNNet(), [])


@pytest.mark.slow
def test_swag_improves_nll_over_the_single_model_ondigits_split():
    from seedwise import metrics

    train, _, test = digits_split()
    model = single_model(Seeds(0), train)
    with torch.no_grad():
        single = metrics.nll(torch.softmax(model(test[0]), -1), test[1])
    # SWAG phase: constant-learning-rate SGD with weight decay from the trained model, one
    # snapshot per epoch. The trained model itself is not touched (SWAG follows a copy).
    live = copy.deepcopy(model)
    swag = SWAG(live, rank=20)
    opt = torch.optim.SGD(live.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-3)
    g = Seeds(0)["swag_order"].torch()
    x, y = train
    for _ in range(40):
        order = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), 100):
            idx = order[i : i + 100]
            loss = F.cross_entropy(live(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        swag.collect(live)
    probs = swag.predict(test[0], samples=20, seeds=Seeds(0)["swag"])
    assert metrics.nll(probs, test[1]) < 0.98 * single
    # Same seeds, same bits; draw s does not depend on the number of draws.
    assert torch.equal(swag.predict(test[0][:50], samples=3, seeds=Seeds(0)["swag"]), probs[:3, :50])


def test_state_dict_round_trips_through_safetensors(tmp_path):
    from safetensors.torch import load_file, save_file

    swag, _ = _collected(n=7, rank=5)
    save_file(swag.state_dict(), str(tmp_path / "swag.safetensors"))
    fresh = SWAG(_tiny(), rank=5)
    fresh.load_state_dict(load_file(str(tmp_path / "swag.safetensors")))
    assert fresh.n_collected == 7
    assert torch.equal(fresh.sample_vector(seeds=Seeds(3)), swag.sample_vector(seeds=Seeds(3)))
    with pytest.raises(InvalidArgumentError, match="rank"):
        SWAG(_tiny(), rank=4).load_state_dict(swag.state_dict())
    with pytest.raises(InvalidArgumentError, match="parameters"):
        SWAG(nn.Linear(3, 3), rank=5).load_state_dict(swag.state_dict())
