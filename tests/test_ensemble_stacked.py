"""The direct stacked forward of plain Sequential MLPs agrees with the vmap path it replaces."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seedwise import Seeds
from seedwise._stacked import StackedSequential
from seedwise.ensemble import Ensemble, vmapped_forward
from seedwise.errors import InvalidArgumentError


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
    "batch norm without affine, momentum None": (
        lambda: nn.Sequential(nn.Linear(12, 8), nn.BatchNorm1d(8, momentum=None, affine=False), nn.Tanh(), nn.Linear(8, 3)),
        (12,),
    ),
    "cnn: conv, bn, pool, channel dropout, grouped conv, adaptive pool": (
        lambda: nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout2d(0.3),
            nn.Conv2d(4, 6, 3, padding="same", groups=2), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Dropout(0.2), nn.Linear(24, 5),
        ),
        (1, 8, 8),
    ),  # fmt: skip
    "conv1d strided, avg pool, then bn1d on features": (
        lambda: nn.Sequential(
            nn.Conv1d(3, 4, 3, stride=2), nn.ELU(), nn.AvgPool1d(2), nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8),
            nn.ReLU(), nn.FeatureAlphaDropout(0.1), nn.Linear(8, 3),
        ),
        (3, 17),
    ),  # fmt: skip
    "conv3d": (lambda: nn.Sequential(nn.Conv3d(1, 2, 2), nn.Dropout3d(0.5), nn.ReLU(), nn.Flatten(), nn.Linear(54, 2)), (1, 4, 4, 4)),
}


@pytest.mark.parametrize("name", list(QUALIFYING))
@pytest.mark.parametrize("per_member", [False, True])
def test_stacked_forward_equals_vmap_and_the_members_alone(name, per_member):
    make, shape = QUALIFYING[name]
    stacked = Ensemble(make, 3, seeds=Seeds(0)["init"])
    assert stacked._stacked is not None
    references = {"loop": Ensemble(make, 3, seeds=Seeds(0)["init"], vectorize=False)}
    if "momentum None" not in name:  # vmap cannot run it (float() of a batched counter)
        references["vmap"] = Ensemble(make, 3, seeds=Seeds(0)["init"])
        references["vmap"]._stacked = None
    data = Seeds(1)["x"].numpy()
    x = torch.from_numpy(data.standard_normal(((3,) if per_member else ()) + (7,) + shape).astype("float32"))
    for train in (True, False, True):
        got = stacked.forward(x, train=train, seeds=Seeds(2), position=4, per_member=per_member)
        for reference in references.values():
            expected = reference.forward(x, train=train, seeds=Seeds(2), position=4, per_member=per_member)
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    for reference in references.values():  # batch norm's running statistics moved alike
        buffers = reference.state_tensors()[1]
        for buffer in stacked.buffers:
            torch.testing.assert_close(stacked.buffers[buffer], buffers[buffer], rtol=1e-5, atol=1e-6)


def test_stacked_dropout_masks_are_the_vmap_masks():
    probe = Ensemble(lambda: nn.Sequential(nn.Linear(12, 64, bias=False), nn.Dropout(0.3)), 3, seeds=Seeds(0)["init"])
    assert probe._stacked is not None
    x = torch.ones(4, 12)
    probe._base.train(True)
    stacked = probe.forward(x, train=True, seeds=Seeds(2), position=4) == 0
    vmapped = vmapped_forward(probe._base, probe.params, probe.buffers, x, keys=probe._keys(Seeds(2))[0], position=4) == 0
    assert torch.equal(stacked, vmapped)
    assert 0.2 < stacked.float().mean().item() < 0.4


@pytest.mark.parametrize("name", ["mlp+dropout", "cnn: conv, bn, pool, channel dropout, grouped conv, adaptive pool"])
def test_training_through_the_stacked_forward_matches_vmap_and_the_loop(name):
    make, shape = QUALIFYING[name]
    data = Seeds(3)["x"].numpy()
    x = torch.from_numpy(data.standard_normal((2, 16) + shape).astype("float32"))
    y = torch.from_numpy(data.integers(0, 5, size=(2, 16)))
    runs = {}
    for engine in ("stacked", "vmap", "loop"):
        ens = Ensemble(make, 2, seeds=Seeds(0)["init"], lr=1e-2, vectorize=engine != "loop")
        if engine == "vmap":
            ens._stacked = None
        for _ in range(5):
            ens.train_step(x, y, seeds=Seeds(4), per_member=True)
        runs[engine] = ens.state_tensors()
    for kind in (0, 1):  # parameters, then buffers
        for name in runs["stacked"][kind]:
            got = runs["stacked"][kind][name]
            torch.testing.assert_close(got, runs["vmap"][kind][name], rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(got, runs["loop"][kind][name], rtol=1e-4, atol=1e-5)


def test_a_layer_used_twice_runs_through_vmap_and_stays_shared():
    def make() -> nn.Module:
        shared = nn.Linear(4, 4)
        return nn.Sequential(shared, nn.Tanh(), shared)

    ens = Ensemble(make, 2, seeds=Seeds(0)["init"])
    assert ens._stacked is None
    x = torch.ones(3, 4)
    member = ens.members()[1]
    torch.testing.assert_close(ens(x)[1], member(x))


def test_unbatched_member_inputs_to_a_conv_get_a_clear_error():
    make, _ = QUALIFYING["conv3d"]
    ens = Ensemble(make, 2, seeds=Seeds(0)["init"])
    with pytest.raises(InvalidArgumentError, match=r"layer 0 \(Conv3d\) got a per-member input of shape \(1, 4, 4\)"):
        ens.forward(torch.zeros(1, 4, 4))


@pytest.mark.parametrize(
    "model",
    [
        nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), nn.Flatten(), nn.Linear(18, 2)),
        nn.Sequential(nn.ConvTranspose2d(1, 2, 3), nn.Flatten(), nn.Linear(50, 2)),
        nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, return_indices=True)),
        nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)),
        nn.Sequential(nn.Linear(4, 4), nn.Softmax(dim=1)),
        nn.Sequential(nn.ReLU()),
        Wrapped(),
        nn.Sequential(*([nn.Linear(4, 4)] * 2)),
    ],
    ids=["reflect-padding", "transposed-conv", "pool-indices", "layernorm", "softmax", "no-linear", "custom-forward",
         "shared-layer"],  # fmt: skip
)
def test_other_models_run_through_vmap(model):
    assert StackedSequential.build(model) is None
