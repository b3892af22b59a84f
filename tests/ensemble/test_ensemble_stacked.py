"""The direct stacked forward of plain Sequential MLPs agrees with the vmap path it replaces."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seedwise import Seeds
from seedwise.ensemble import Ensemble, vmapped_forward
from seedwise.ensemble._stacked import StackedSequential


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
    "flatten of an image": (
        lambda: nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 4, 8), nn.SiLU(), nn.Linear(8, 2)),
        (2, 3, 4),
    ),
    "linear over a sequence": (
        lambda: nn.Sequential(
            nn.Linear(6, 8), nn.ReLU(inplace=True), nn.Dropout(0.1), nn.Flatten(1, 2), nn.Linear(5 * 8, 3)
        ),
        (5, 6),
    ),
    "batch norm without affine, momentum None": (
        lambda: nn.Sequential(
            nn.Linear(12, 8), nn.BatchNorm1d(8, momentum=None, affine=False), nn.Tanh(), nn.Linear(8, 3)
        ),
        (12,),
    ),
    "cnn: conv, bn, pool, channel dropout, grouped conv, adaptive pool": (
        lambda: nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1, bias=False),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout2d(0.3),
            nn.Conv2d(4, 6, 3, padding="same", groups=2),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(24, 5),
        ),
        (1, 8, 8),
    ),
    "conv1d strided, avg pool, then bn1d on features": (
        lambda: nn.Sequential(
            nn.Conv1d(3, 4, 3, stride=2),
            nn.ELU(),
            nn.AvgPool1d(2),
            nn.Flatten(),
            nn.Linear(16, 8),
            nn.BatchNorm1d(8),
            nn.ReLU(),
            nn.FeatureAlphaDropout(0.1),
            nn.Linear(8, 3),
        ),
        (3, 17),
    ),
    "conv3d": (
        lambda: nn.Sequential(nn.Conv3d(1, 2, 2), nn.Dropout3d(0.5), nn.ReLU(), nn.Flatten(), nn.Linear(54, 2)),
        (1, 4, 4, 4),
    ),
}


@pytest.mark.parametrize("name", list(QUALIFYING))
@pytest.mark.parametrize("per_member", [False, True])
def test_stacked_forward_equals_vmap_and_the_members_alone(name, per_member):
    make, shape = QUALIFYING[name]
    stacked = Ensemble(make, 3, seeds=Seeds(0)["init"])
    assert stacked._engine.stacked is not None
    references = {"loop": Ensemble(make, 3, seeds=Seeds(0)["init"], vectorize=False)}
    if "momentum None" not in name:  # vmap cannot run it (float() of a batched counter)
        references["vmap"] = Ensemble(make, 3, seeds=Seeds(0)["init"])
        references["vmap"]._engine.stacked = None
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
    assert probe._engine.stacked is not None
    x = torch.ones(4, 12)
    probe._base.train(True)
    stacked = probe.forward(x, train=True, seeds=Seeds(2), position=4) == 0
    vmapped = (
        vmapped_forward(probe._base, probe.params, probe.buffers, x, keys=probe._keys(Seeds(2))[0], position=4) == 0
    )
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
            ens._engine.stacked = None
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
    assert ens._engine.stacked is None
    x = torch.ones(3, 4)
    member = ens.members()[1]
    torch.testing.assert_close(ens(x)[1], member(x))


def _agree_with_the_loop(make, x: torch.Tensor, *, k: int = 2, train: bool = False) -> Ensemble:
    ens = Ensemble(make, k, seeds=Seeds(0)["init"])
    loop = Ensemble(make, k, seeds=Seeds(0)["init"], vectorize=False)
    got = ens.forward(x, train=train, seeds=Seeds(1))
    torch.testing.assert_close(got, loop.forward(x, train=train, seeds=Seeds(1)), rtol=1e-5, atol=1e-6)
    return ens


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(0), nn.Linear(32, 3)), (1, 6, 6)),  # unbatched (C, H, W)
        (lambda: nn.Sequential(nn.Linear(4, 6), nn.AvgPool1d(3, stride=2, padding=1), nn.Linear(3, 3)), (5, 4)),
        (lambda: nn.Sequential(nn.Linear(4, 8), nn.MaxPool1d(3), nn.Linear(2, 3)), (5, 4)),
        (lambda: nn.Sequential(nn.Linear(4, 8), nn.AdaptiveAvgPool1d(4), nn.Linear(4, 3)), (5, 4)),
    ],
    ids=["unbatched-conv", "avgpool-after-linear", "maxpool-after-linear", "adaptive-pool-after-linear"],
)
def test_inputs_the_grouped_layout_cannot_take_run_through_vmap(make, shape):
    """A channel layer on an unbatched per-member input (e.g. pooling right after a Linear)
    has no grouped form: such calls go to vmap and agree with the members run alone."""
    x = torch.from_numpy(Seeds(5)["x"].numpy().standard_normal(shape).astype("float32"))
    ens = _agree_with_the_loop(make, x)
    assert ens._engine.stacked is not None and not ens._engine.stacked.supports(tuple(x.shape), False)


def test_bad_inputs_get_the_per_member_error_not_one_about_the_grouped_layout():
    make = QUALIFYING["cnn: conv, bn, pool, channel dropout, grouped conv, adaptive pool"][0]
    ens = Ensemble(make, 3, seeds=Seeds(0)["init"])
    with pytest.raises(RuntimeError, match="to have 1 channels, but got 3 channels"):
        ens.forward(torch.zeros(5, 3, 8, 8))
    with pytest.raises(
        ValueError, match=r"Expected more than 1 value per channel when training, got input size torch.Size\(\[1, 4\]\)"
    ):
        Ensemble(lambda: nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)), 3, seeds=Seeds(0)).forward(
            torch.zeros(1, 3), train=True
        )


def test_hooks_and_tied_parameters_are_honoured_through_vmap():
    def hooked() -> nn.Module:
        model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
        model[0].register_forward_hook(lambda module, args, out: out * 0)
        return model

    def tied() -> nn.Module:
        model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4))
        model[2].weight = model[0].weight
        return model

    x = torch.ones(3, 4)
    for make in (hooked, tied):
        assert StackedSequential.build(make()) is None
        _agree_with_the_loop(make, x)
    # tied weights stay tied through vmap, training and export
    ens, loop = (Ensemble(tied, 2, seeds=Seeds(0)["init"], vectorize=v) for v in (True, False))
    for model in (ens, loop):
        for _ in range(3):
            model.train_step(x, torch.zeros(3, dtype=torch.long))
    torch.testing.assert_close(ens(x), loop(x), rtol=1e-5, atol=1e-6)
    member = ens.members()[1]
    assert member[0].weight is member[2].weight
    torch.testing.assert_close(member(x), ens(x)[1])
    # a global module hook, registered after the ensemble was built, is honoured too
    ens = Ensemble(lambda: nn.Sequential(nn.Linear(4, 3)), 2, seeds=Seeds(0)["init"])
    handle = nn.modules.module.register_module_forward_hook(lambda module, args, out: out * 0)
    try:
        assert torch.equal(ens(x), torch.zeros(2, 3, 3))
    finally:
        handle.remove()
    assert ens(x).abs().sum() > 0


def test_in_place_first_layer_on_a_shared_input():
    x = torch.from_numpy(Seeds(6)["x"].numpy().standard_normal((5, 4)).astype("float32"))
    before = x.clone()
    _agree_with_the_loop(lambda: nn.Sequential(nn.ReLU(inplace=True), nn.Linear(4, 3)), x.clone())
    ens = Ensemble(lambda: nn.Sequential(nn.ReLU(inplace=True), nn.Linear(4, 3)), 2, seeds=Seeds(0)["init"])
    ens(x)
    assert torch.equal(x, before)  # the stacked engine does not write into the caller's input


def test_torch_func_transforms_of_the_stacked_forward():
    from torch.func import vmap

    make, _ = QUALIFYING["mlp+dropout"]
    stacked = Ensemble(make, 2, seeds=Seeds(0)["init"])
    vmapped = Ensemble(make, 2, seeds=Seeds(0)["init"])
    vmapped._engine.stacked = None
    xs = torch.from_numpy(Seeds(7)["x"].numpy().standard_normal((4, 3, 12)).astype("float32"))
    torch.testing.assert_close(vmap(stacked.forward)(xs), vmap(vmapped.forward)(xs), rtol=1e-5, atol=1e-6)


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
    ids=[
        "reflect-padding",
        "transposed-conv",
        "pool-indices",
        "layernorm",
        "softmax",
        "no-linear",
        "custom-forward",
        "shared-layer",
    ],
)
def test_other_models_run_through_vmap(model):
    assert StackedSequential.build(model) is None
