"""seedwise.init: name-keyed seeded initialisation."""

from __future__ import annotations

import json
import math
import random
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy import stats

import seedwise as sw
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.init import initialize


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], names) -> None:
    for name in names:
        assert torch.equal(a[name], b[name]), name


# -- the contract: same seeds, same bits; names, not order ----------------------------


def test_golden_values():
    model = nn.Sequential(nn.Linear(3, 2), nn.Embedding(3, 2))
    initialize(model, sw.Seeds(42)["init"])
    f32 = torch.float32
    weight = torch.tensor(
        [
            0.4880084693431854,
            0.27559560537338257,
            -0.17981849610805511,
            -0.4678178131580353,
            -0.4470495879650116,
            -0.04498284310102463,
        ],
        dtype=f32,
    ).reshape(2, 3)
    bias = torch.tensor([0.42695197463035583, -0.12666736543178558], dtype=f32)
    emb = torch.tensor(
        [
            0.3757227659225464,
            -0.009805922396481037,
            -0.14435496926307678,
            -0.8986607193946838,
            -1.6385209560394287,
            1.5237799882888794,
        ],
        dtype=f32,
    ).reshape(3, 2)
    assert torch.equal(model[0].weight, weight)
    assert torch.equal(model[0].bias, bias)
    assert torch.equal(model[1].weight, emb)


def test_same_seeds_same_bits_different_seeds_differ(test_seed):
    def build():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 4), nn.LSTM(4, 6))

    a, b, c = build(), build(), build()
    initialize(a, sw.Seeds(test_seed))
    initialize(b, sw.Seeds(test_seed))
    initialize(c, sw.Seeds(test_seed + 1))
    sa, sb, sc = _state(a), _state(b), _state(c)
    _assert_same(sa, sb, sa)
    assert not torch.equal(sa["0.weight"], sc["0.weight"])
    assert not torch.equal(sa["3.bias"], sc["3.bias"])


def test_each_parameter_has_its_own_stream():
    model = nn.Sequential(nn.Linear(5, 5, bias=False), nn.Linear(5, 5, bias=False))
    initialize(model, sw.Seeds(0))
    assert not torch.equal(model[0].weight, model[1].weight)
    g = sw.Seeds(0)["1.weight"].torch()
    expected = torch.empty(5, 5)
    nn.init.kaiming_uniform_(expected, a=math.sqrt(5), generator=g)
    assert torch.equal(model[1].weight, expected)


class _Net(nn.Module):
    def __init__(self, extra: bool = False, order: str = "forward"):
        super().__init__()
        if order == "forward":
            self.encoder = nn.Linear(6, 8)
            if extra:
                self.inserted = nn.Linear(8, 8)
            self.norm = nn.LayerNorm(8)
            self.decoder = nn.Linear(8, 3)
        else:  # built in the other order, so the global RNG hands out different numbers
            self.decoder = nn.Linear(8, 3)
            self.norm = nn.LayerNorm(8)
            if extra:
                self.inserted = nn.Linear(8, 8)
            self.encoder = nn.Linear(6, 8)


def test_inserting_a_layer_leaves_every_other_parameter_unchanged():
    plain, grown = _Net(), _Net(extra=True)
    initialize(plain, sw.Seeds(7)["init"])
    initialize(grown, sw.Seeds(7)["init"])
    sp, sg = _state(plain), _state(grown)
    assert set(sg) - set(sp) == {"inserted.weight", "inserted.bias"}
    _assert_same(sp, sg, sp)
    # ... whereas torch's own init shifts the layers built after the insertion.
    with torch.random.fork_rng():
        torch.manual_seed(0)
        t_plain = _Net()
        torch.manual_seed(0)
        t_grown = _Net(extra=True)
    assert torch.equal(t_plain.encoder.weight, t_grown.encoder.weight)
    assert not torch.equal(t_plain.decoder.weight, t_grown.decoder.weight)


def test_removing_and_renaming_a_submodule_leaves_the_others_unchanged():
    seq = nn.Sequential(OrderedDict(a=nn.Linear(4, 4), b=nn.Conv1d(4, 4, 3), c=nn.GRU(4, 4)))
    fewer = nn.Sequential(OrderedDict(a=nn.Linear(4, 4), c=nn.GRU(4, 4)))
    renamed = nn.Sequential(OrderedDict(a=nn.Linear(4, 4), conv=nn.Conv1d(4, 4, 3), c=nn.GRU(4, 4)))
    for m in (seq, fewer, renamed):
        initialize(m, sw.Seeds(3))
    s, f, r = _state(seq), _state(fewer), _state(renamed)
    _assert_same(s, f, f)
    _assert_same(s, r, [k for k in s if not k.startswith("b.")])
    assert not torch.equal(s["b.weight"], r["conv.weight"])  # a new name is a new stream


def test_order_of_construction_does_not_matter():
    with torch.random.fork_rng():
        torch.manual_seed(1)
        forward = _Net(extra=True)
        torch.manual_seed(1)
        backward = _Net(extra=True, order="backward")
    assert not torch.equal(forward.encoder.weight, backward.encoder.weight)
    initialize(forward, sw.Seeds(5))
    initialize(backward, sw.Seeds(5))
    sf, sb = _state(forward), _state(backward)
    assert set(sf) == set(sb)
    _assert_same(sf, sb, sf)


def test_global_rngs_are_untouched():
    class Custom(nn.Module):  # no seedwise rule: its reset_parameters runs under keyed()
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.empty(16))
            self.reset_parameters()

        def reset_parameters(self):
            nn.init.normal_(self.scale)
            self.scale.data.add_(float(np.random.rand()) + random.random())

    model = nn.Sequential(nn.Linear(4, 4), Custom(), nn.Dropout(0.5), nn.BatchNorm1d(4))
    py, npy, tc = random.getstate(), np.random.get_state(), torch.get_rng_state()
    initialize(model, sw.Seeds(0))
    initialize(model, sw.Seeds(1), scheme="orthogonal")
    assert random.getstate() == py
    after = np.random.get_state()
    assert np.array_equal(after[1], npy[1]) and after[2:] == npy[2:]
    assert torch.equal(torch.get_rng_state(), tc)


# -- default scheme == reset_parameters() -------------------------------------------


def _torch_init_like(make, seed: int):
    """The module as torch's own init leaves it, from a global RNG seeded with ``seed``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return make()


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: nn.Linear(16, 5), "weight"),
        (lambda: nn.Conv2d(3, 4, 3), "weight"),
        (lambda: nn.ConvTranspose2d(3, 4, 3), "weight"),
        (lambda: nn.Embedding(10, 4), "weight"),
        (lambda: nn.LSTM(4, 6), "weight_ih_l0"),  # the first parameter reset_parameters draws
        (lambda: nn.GRUCell(4, 6), "weight_ih"),
        (lambda: nn.Bilinear(3, 4, 5), "weight"),
    ],
)
def test_default_draws_exactly_what_reset_parameters_draws_from_the_same_generator(make, name):
    """reset_parameters() with the global RNG seeded like the parameter's stream gives the same bits."""
    ours = make()
    initialize(ours, sw.Seeds(11))
    seed = sw.Seeds(11)[name].torch().initial_seed()
    theirs = _torch_init_like(make, seed)
    assert torch.equal(getattr(ours, name), getattr(theirs, name))


@pytest.mark.parametrize(
    "make, names",
    [
        (lambda: nn.Linear(1024, 512), ["weight", "bias"]),
        (lambda: nn.Conv2d(64, 64, 5), ["weight", "bias"]),
        (lambda: nn.ConvTranspose1d(128, 64, 7), ["weight", "bias"]),
        (lambda: nn.Embedding(2048, 128), ["weight"]),
        (lambda: nn.LSTM(128, 256), ["weight_ih_l0", "bias_hh_l0"]),
        (lambda: nn.MultiheadAttention(256, 4, add_bias_kv=True), ["in_proj_weight", "bias_k"]),
    ],
)
def test_default_distribution_matches_reset_parameters_ks(make, names, test_seed):
    ours = make()
    initialize(ours, sw.Seeds(test_seed))
    theirs = _torch_init_like(make, test_seed)
    for name in names:
        a = getattr(ours, name).detach().flatten().numpy()
        b = getattr(theirs, name).detach().flatten().numpy()
        assert a.shape == b.shape
        result = stats.ks_2samp(a, b)
        assert result.pvalue > 1e-4, (name, result)


def test_default_deterministic_parts_match_reset_parameters():
    model = nn.ModuleDict(
        {
            "ln": nn.LayerNorm(6),
            "gn": nn.GroupNorm(2, 6),
            "bn": nn.BatchNorm1d(6),
            "inorm": nn.InstanceNorm2d(6, affine=True, track_running_stats=True),
            "emb": nn.Embedding(5, 3, padding_idx=2),
            "mha": nn.MultiheadAttention(6, 2),
            "prelu": nn.PReLU(3, init=0.1),
            "rms": nn.RMSNorm(6),
        }
    )
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(7.0)
        model["bn"].running_mean.fill_(3.0)
        model["bn"].running_var.fill_(5.0)
        model["bn"].num_batches_tracked.fill_(9)
    report = initialize(model, sw.Seeds(0))
    for name in ("ln", "gn", "bn", "inorm", "rms"):
        assert torch.equal(model[name].weight, torch.ones(6))
    for name in ("ln", "gn", "bn", "inorm"):
        assert torch.equal(model[name].bias, torch.zeros(6))
    assert torch.equal(model["bn"].running_mean, torch.zeros(6))
    assert torch.equal(model["bn"].running_var, torch.ones(6))
    assert int(model["bn"].num_batches_tracked) == 0
    assert torch.equal(model["emb"].weight[2], torch.zeros(3))
    assert not torch.equal(model["emb"].weight[1], torch.zeros(3))
    assert torch.equal(model["mha"].in_proj_bias, torch.zeros(18))
    assert torch.equal(model["mha"].out_proj.bias, torch.zeros(6))  # MHA zeroes its child's bias
    assert torch.equal(model["prelu"].weight, torch.full((3,), 0.1))
    assert report["bn.running_var"].kind == "buffer"
    assert report["bn.running_var"].stream is None
    assert report["mha.out_proj.bias"].scheme == "zeros"
    assert report["mha.out_proj.weight"].scheme == "kaiming_uniform(a=sqrt(5))"


def test_transformer_default_is_xavier_on_matrices():
    model = nn.Transformer(
        d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32, batch_first=True
    )
    report = initialize(model, sw.Seeds(0))
    assert report["encoder.layers.0.linear1.weight"].scheme == "xavier_uniform"
    assert report["encoder.layers.0.linear1.bias"].scheme.startswith("uniform(")
    assert report["encoder.layers.0.norm1.weight"].scheme == "ones"


def test_subclass_overriding_reset_parameters_is_respected():
    class ZeroLinear(nn.Linear):
        def reset_parameters(self):
            nn.init.zeros_(self.weight)
            if self.bias is not None:
                nn.init.ones_(self.bias)

    model = nn.Sequential(ZeroLinear(3, 3), nn.Linear(3, 3))
    report = initialize(model, sw.Seeds(0))
    assert torch.equal(model[0].weight, torch.zeros(3, 3))
    assert torch.equal(model[0].bias, torch.ones(3))
    assert report["0.weight"].scheme == "ZeroLinear.reset_parameters() (keyed by module)"
    assert report["0.weight"].stream == "Seeds(0)['0']['reset_parameters']"


def test_module_without_rule_is_keyed_by_module_name():
    class Scale(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.s = nn.Parameter(torch.empty(n))
            self.reset_parameters()

        def reset_parameters(self):
            nn.init.uniform_(self.s)

    a = nn.Sequential(OrderedDict(x=Scale(8), y=Scale(8)))
    b = nn.Sequential(OrderedDict(pre=nn.Linear(2, 2), x=Scale(8), y=Scale(8)))
    initialize(a, sw.Seeds(1))
    initialize(b, sw.Seeds(1))
    assert torch.equal(a.x.s, b.x.s)
    assert torch.equal(a.y.s, b.y.s)
    assert not torch.equal(a.x.s, a.y.s)


# -- schemes ------------------------------------------------------------------------


def _big(shape=(500, 800)) -> nn.Module:
    model = nn.Module()
    model.weight = nn.Parameter(torch.empty(shape))
    return model


@pytest.mark.parametrize(
    "scheme, expected_std",
    [
        ("xavier_uniform", math.sqrt(2 / (500 + 800))),
        ("xavier_normal", math.sqrt(2 / (500 + 800))),
        (sw.init.XavierNormal(gain=2.0), 2 * math.sqrt(2 / (500 + 800))),
        ("kaiming_uniform", math.sqrt(2 / (1 + 0.0**2)) / math.sqrt(800)),
        (("kaiming_normal", {"nonlinearity": "relu"}), math.sqrt(2) / math.sqrt(800)),
        (sw.init.KaimingNormal(mode="fan_out", nonlinearity="relu"), math.sqrt(2) / math.sqrt(500)),
        (("trunc_normal", {"std": 0.02}), 0.02 * stats.truncnorm(-2, 2).std()),
        (sw.init.TruncNormal(std=0.5, cutoff=1.5), 0.5 * stats.truncnorm(-1.5, 1.5).std()),
        (sw.init.Normal(std=0.3), 0.3),
        (sw.init.Uniform(-1.0, 1.0), 1 / math.sqrt(3)),
    ],
)
def test_scheme_mean_and_std_match_their_definition(scheme, expected_std, test_seed):
    model = _big()
    initialize(model, sw.Seeds(test_seed), scheme=scheme)
    w = model.weight.detach().double()
    n = w.numel()
    assert abs(float(w.mean())) < 5 * expected_std / math.sqrt(n)
    assert float(w.std()) == pytest.approx(expected_std, rel=0.01)


def test_orthogonal_rows_are_orthonormal_and_trunc_normal_is_truncated(test_seed):
    model = _big((64, 256))
    initialize(model, sw.Seeds(test_seed), scheme="orthogonal")
    w = model.weight.detach().double()
    torch.testing.assert_close(w @ w.T, torch.eye(64, dtype=torch.float64), atol=1e-5, rtol=0)
    assert float(w.pow(2).mean()) == pytest.approx(1 / 256, rel=1e-5)  # unit rows: std 1/sqrt(fan_in)
    initialize(model, sw.Seeds(test_seed), scheme=sw.init.TruncNormal(std=0.1, mean=0.5, cutoff=1.5))
    w = model.weight.detach()
    assert float(w.min()) >= 0.5 - 0.15 - 1e-6 and float(w.max()) <= 0.5 + 0.15 + 1e-6


def test_named_scheme_covers_weights_and_keeps_default_for_the_rest():
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
    report = initialize(model, sw.Seeds(0), scheme=sw.init.TruncNormal(std=0.02))
    assert report["0.weight"].scheme == "trunc_normal(std=0.02, mean=0.0, cutoff=2.0)"
    assert report["0.bias"].scheme.startswith("uniform(")
    assert torch.equal(model[1].weight, torch.ones(4))


def test_callable_scheme_and_rules():
    seen = []

    def rule(name, tensor, generator):
        seen.append((name, tuple(tensor.shape), type(generator).__name__))
        tensor.uniform_(-0.1, 0.1, generator=generator)

    model = nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2))
    report = initialize(model, sw.Seeds(0), scheme=rule)
    assert [s[0] for s in seen] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert all(s[2] == "Generator" for s in seen)
    assert report["1.weight"].scheme == "custom(test_callable_scheme_and_rules.<locals>.rule)"
    expected = torch.empty(2).uniform_(-0.1, 0.1, generator=sw.Seeds(0)["1.weight"].torch())
    assert torch.equal(model[1].weight, expected)

    report = initialize(model, sw.Seeds(0), rules={"*.bias": "zeros", "0.*": "xavier_normal", "*": "default"})
    assert torch.equal(model[0].bias, torch.zeros(2))
    assert report["0.weight"].scheme == "xavier_normal(gain=1.0)"
    assert torch.equal(model[1].weight, torch.ones(2))


def test_a_rule_on_a_tensor_the_scheme_cannot_handle_names_it():
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(InvalidArgumentError, match=r"'0.bias' has shape \(2,\)"):
        initialize(model, sw.Seeds(0), rules={"*": "xavier_uniform"})


# -- errors ---------------------------------------------------------------------------


def test_unknown_scheme_lists_the_valid_ones():
    with pytest.raises(InvalidArgumentError, match="'xavier' is unknown; valid: default, xavier_uniform"):
        initialize(nn.Linear(2, 2), sw.Seeds(0), scheme="xavier")
    with pytest.raises(InvalidArgumentError, match=r"takes parameters \['std', 'mean', 'cutoff'\]"):
        initialize(nn.Linear(2, 2), sw.Seeds(0), scheme=("trunc_normal", {"sd": 0.1}))
    with pytest.raises(InvalidArgumentError, match="mode must be one of"):
        sw.init.KaimingNormal(mode="fan")
    with pytest.raises(InvalidArgumentError, match="std must be a finite positive"):
        sw.init.TruncNormal(std=0.0)
    with pytest.raises(InvalidTypeError, match="scheme must be a scheme name"):
        initialize(nn.Linear(2, 2), sw.Seeds(0), scheme=3)
    with pytest.raises(InvalidTypeError, match="model must be a torch.nn.Module"):
        initialize("model", sw.Seeds(0))
    with pytest.raises(InvalidTypeError, match="seeds is required"):
        initialize(nn.Linear(2, 2), None)


def test_module_that_cannot_be_reinitialised_is_named():
    class Bare(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.cls_token = nn.Parameter(torch.zeros(1, 4))

    model = nn.Sequential(OrderedDict(body=Bare()))
    before = _state(model)
    with pytest.raises(InvalidArgumentError, match=r"'body.cls_token' \(a parameter of Bare 'body'"):
        initialize(model, sw.Seeds(0))
    _assert_same(before, _state(model), before)  # nothing was drawn before the error
    report = initialize(model, sw.Seeds(0), rules={"body.cls_token": ("trunc_normal", {"std": 0.02})})
    assert report["body.cls_token"].stream == "Seeds(0)['body.cls_token']"


def test_lazy_modules_must_be_materialised():
    with pytest.raises(InvalidArgumentError, match="run one forward pass"):
        initialize(nn.Sequential(nn.LazyLinear(3)), sw.Seeds(0))


# -- in place, memory format, tied weights, devices -------------------------------------


def test_in_place_and_memory_format_independent():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(4, 4))
    ptrs = {n: p.data_ptr() for n, p in model.named_parameters()}
    objs = dict(model.named_parameters())
    initialize(model, sw.Seeds(2))
    assert {n: p.data_ptr() for n, p in model.named_parameters()} == ptrs
    assert all(objs[n] is p for n, p in model.named_parameters())
    cl = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(4, 4)).to(memory_format=torch.channels_last)
    assert not cl[0].weight.is_contiguous()
    initialize(cl, sw.Seeds(2))
    assert not cl[0].weight.is_contiguous()
    assert torch.equal(cl[0].weight.contiguous(), model[0].weight)


def test_tied_weights_are_drawn_once_under_their_first_name():
    emb = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = emb.weight
    model = nn.Sequential(OrderedDict(emb=emb, head=head))
    report = initialize(model, sw.Seeds(0))
    assert report.names == ["emb.weight"]
    assert model.head.weight is model.emb.weight


def test_empty_and_double_tensors():
    with pytest.warns(UserWarning, match="zero-element"):  # torch's own init warns; ours does not
        empty = nn.Linear(0, 3)
    model = nn.Sequential(empty, nn.Linear(3, 3).double())
    report = initialize(model, sw.Seeds(0))
    assert report["0.weight"].scheme.endswith("(empty: nothing drawn)")
    assert model[1].weight.dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_parameters_use_a_generator_on_their_device():
    model = nn.Sequential(nn.Linear(64, 64), nn.LayerNorm(64)).cuda()
    ptr = model[0].weight.data_ptr()
    initialize(model, sw.Seeds(0))
    again = nn.Sequential(nn.Linear(64, 64), nn.LayerNorm(64)).cuda()
    initialize(again, sw.Seeds(0))
    assert model[0].weight.data_ptr() == ptr
    assert torch.equal(model[0].weight, again[0].weight)
    expected = torch.empty(64, 64, device="cuda")
    nn.init.kaiming_uniform_(expected, a=math.sqrt(5), generator=sw.Seeds(0)["0.weight"].torch(device="cuda"))
    assert torch.equal(model[0].weight, expected)


# -- the report ---------------------------------------------------------------------


def test_report_repr_table_and_json():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    report = initialize(model, sw.Seeds(4)["init"])
    assert len(report) == 7
    assert report["0.weight"].stream == "Seeds(4)['init']['0.weight']"
    assert report["0.weight"].shape == (2, 3)
    text = str(report)
    assert "0.weight" in text and "kaiming_uniform(a=sqrt(5))" in text and "1.running_var" in text
    assert repr(report).startswith("InitReport(seeds=Seeds(4)['init'], parameters=4, buffers=3")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["entries"][0] == {
        "name": "0.weight",
        "kind": "parameter",
        "shape": [2, 3],
        "scheme": "kaiming_uniform(a=sqrt(5))",
        "stream": "Seeds(4)['init']['0.weight']",
    }
    from rich.console import Console

    console = Console(record=True, width=200)
    console.print(report)
    assert "1.running_mean" in console.export_text()
    with pytest.raises(KeyError, match="no tensor named 'nope'"):
        report["nope"]


def test_an_extra_parameter_on_a_known_module_is_not_silently_skipped():
    class ScaledLinear(nn.Linear):  # inherits Linear.reset_parameters, which never draws `scale`
        def __init__(self, *args):
            super().__init__(*args)
            self.scale = nn.Parameter(torch.full((args[1],), 3.0))

    model = nn.Sequential(ScaledLinear(2, 3))
    with pytest.raises(
        InvalidArgumentError,
        match=r"'0.scale' \(a parameter of ScaledLinear '0', whose seedwise rule does not cover it\)",
    ):
        initialize(model, sw.Seeds(0))
    report = initialize(model, sw.Seeds(0), rules={"*.scale": "ones"})
    assert torch.equal(model[0].scale, torch.ones(3))
    assert report["0.weight"].scheme == "kaiming_uniform(a=sqrt(5))"


def test_a_model_built_on_the_meta_device_then_materialised_gets_the_same_weights():
    """The large-model recipe: build without memory, allocate once, initialise in place."""

    def build():
        return nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Embedding(10, 16))

    with torch.device("meta"):
        big = build()
    big = big.to_empty(device="cpu")
    initialize(big, sw.Seeds(3))
    normal = build()
    initialize(normal, sw.Seeds(3))
    sb, sn = _state(big), _state(normal)
    _assert_same(sb, sn, sn)
