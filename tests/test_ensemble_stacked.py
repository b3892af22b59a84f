"""The direct stacked forward of plain Sequential MLPs agrees with the vmap path it replaces."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seedwise import Seeds
from seedwise._stacked import StackedSequential
from seedwise.ensemble import Ensemble, vmapped_forward


class Wrapped(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 4))

    def forward(self, x):
        return self.net(x) * 2


QUALIFYING = {
    "mlp+dropout": (lambda: nn.Sequential(nn.Linear(12, 24), nn.ReLU(), nn.Dropout(0.3), nn.Linear(24, 5)), (12,)),
    "nested, no bias, gelu, alpha dropout": (
        lambda: nn.Sequential(
            nn.Sequential(nn.Linear(12, 16, bias=False), nn.GELU(), nn.AlphaDropout(0.2)),
            nn.Sequential(nn.Linear(16, 16), nn.Tanh(), nn.Dropout(0.5)),
            nn.Linear(16, 3),
        ),
        (12,),
    ),
    "flatten of an image": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 4, 8), nn.SiLU(), nn.Linear(8, 2)), (2, 3, 4)),
    "linear over a sequence": (lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(inplace=True), nn.Dropout(0.1),
                                                     nn.Flatten(1, 2), nn.Linear(5 * 8, 3)), (5, 6)),  # fmt: skip
}


@pytest.mark.parametrize("name", list(QUALIFYING))
@pytest.mark.parametrize("per_member", [False, True])
def test_stacked_forward_equals_vmap(name, per_member):
    make, shape = QUALIFYING[name]
    ens = Ensemble(make, 3, seeds=Seeds(0)["init"])
    assert ens._stacked is not None
    data = Seeds(1)["x"].numpy()
    x = torch.from_numpy(data.standard_normal(((3,) if per_member else ()) + (7,) + shape).astype("float32"))
    keys, _ = ens._keys(Seeds(2))
    for train in (True, False):
        ens._base.train(train)
        reference = vmapped_forward(ens._base, ens.params, ens.buffers, x, keys=keys, position=4, per_member=per_member)
        got = ens.forward(x, train=train, seeds=Seeds(2), position=4, per_member=per_member)
        torch.testing.assert_close(got, reference, rtol=1e-5, atol=1e-6)


def test_stacked_dropout_masks_are_the_vmap_masks():
    probe = Ensemble(lambda: nn.Sequential(nn.Linear(12, 64, bias=False), nn.Dropout(0.3)), 3, seeds=Seeds(0)["init"])
    assert probe._stacked is not None
    x = torch.ones(4, 12)
    probe._base.train(True)
    stacked = probe.forward(x, train=True, seeds=Seeds(2), position=4) == 0
    vmapped = vmapped_forward(probe._base, probe.params, probe.buffers, x, keys=probe._keys(Seeds(2))[0], position=4) == 0
    assert torch.equal(stacked, vmapped)
    assert 0.2 < stacked.float().mean().item() < 0.4


def test_training_through_the_stacked_forward_matches_vmap_and_the_loop():
    make, _ = QUALIFYING["mlp+dropout"]
    data = Seeds(3)["x"].numpy()
    x = torch.from_numpy(data.standard_normal((2, 16, 12)).astype("float32"))
    y = torch.from_numpy(data.integers(0, 5, size=(2, 16)))
    runs = {}
    for engine in ("stacked", "vmap", "loop"):
        ens = Ensemble(make, 2, seeds=Seeds(0)["init"], lr=1e-2, vectorize=engine != "loop")
        if engine == "vmap":
            ens._stacked = None
        for _ in range(5):
            ens.train_step(x, y, seeds=Seeds(4), per_member=True)
        runs[engine] = ens.state_tensors()[0]
    for name in runs["stacked"]:
        torch.testing.assert_close(runs["stacked"][name], runs["vmap"][name], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(runs["stacked"][name], runs["loop"][name], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "model",
    [
        nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2, 2)),
        nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4)),
        nn.Sequential(nn.Linear(4, 4), nn.Dropout1d(0.1)),
        nn.Sequential(nn.Linear(4, 4), nn.Softmax(dim=1)),
        nn.Sequential(nn.ReLU()),
        Wrapped(),
    ],
    ids=["conv", "batchnorm", "channel-dropout", "softmax", "no-linear", "custom-forward"],
)
def test_other_models_run_through_vmap(model):
    assert StackedSequential.build(model) is None
