"""Keyed dropout: masks a pure function of (stream, position, call index), on every path alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seedwise import Seeds
from seedwise.errors import InvalidArgumentError
from seedwise.stateless import _dropout_mask
from seedwise.stateless._dropout_mask import host_noise, keep_mask
from seedwise.stateless.dropout import KeyedDropoutMode, host_key, key_words, keyed_dropout


def _bits(mask: torch.Tensor) -> str:
    return "".join("1" if b else "0" for b in mask.flatten().tolist())


def test_known_answer_masks():
    """The masks are part of the reproducibility contract: these bits must never change."""
    key = key_words(Seeds(0)["dropout"])
    assert key.tolist() == [-1309310889, -1361092913, 1371264366, -951061792]
    assert _bits(keep_mask(key, 0, 0, (32,), 0.5, "cpu")) == "11010011111101111110101000111011"
    assert _bits(keep_mask(key, 7, 3, (32,), 0.5, "cpu")) == "00000010111000110001100001001101"
    # the host path (Python ints, used outside vmap) and the torch path (inside vmap) agree
    host = host_key(Seeds(0)["dropout"])
    assert _bits(keep_mask(host, 7, 3, (32,), 0.5, "cpu")) == "00000010111000110001100001001101"
    positions = np.arange(5, 9)
    assert torch.equal(keep_mask(host, positions, 2, (4, 100), 0.3, "cpu"),
                       keep_mask(key, positions, 2, (4, 100), 0.3, "cpu"))  # fmt: skip


def test_keep_rate_and_independence():
    key = key_words(Seeds(1)["dropout"])
    n = 100_000
    for p in (0.1, 0.5, 0.9):
        keep = keep_mask(key, 0, 0, (n,), p, "cpu").double()
        assert abs(keep.mean().item() - (1 - p)) < 5 * (p * (1 - p) / n) ** 0.5
    a = keep_mask(key, 0, 0, (n,), 0.5, "cpu").double()
    for other in (keep_mask(key, 1, 0, (n,), 0.5, "cpu"), keep_mask(key, 0, 1, (n,), 0.5, "cpu"),
                  keep_mask(key_words(Seeds(2)["dropout"]), 0, 0, (n,), 0.5, "cpu")):  # fmt: skip
        corr = np.corrcoef(a.numpy(), other.double().numpy())[0, 1]
        assert abs(corr) < 5 / n**0.5
    # neighbouring elements are not correlated either
    assert abs(np.corrcoef(a[:-1].numpy(), a[1:].numpy())[0, 1]) < 5 / n**0.5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("positions", "shape"), [(0, (7,)), (3, (5, 33)), (np.arange(4, 8), (4, 3, 50)), (np.arange(1), (1, 1))]
)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.77, 1 - 1e-12])
def test_compiled_cpu_noise_equals_the_torch_path_bit_for_bit(dtype, positions, shape, p):
    """The numba kernel (CPU fast path) and the torch-op hash give the same multiplier."""
    host = host_key(Seeds(3)["dropout"])
    got = host_noise(host, positions, 2, shape, p, dtype)
    assert got is not None and got.dtype == dtype and got.shape == shape
    expected = keep_mask(host, positions, 2, shape, p, "cpu").to(dtype) / (1.0 - p)
    assert torch.equal(got, expected)
    # and through the batched-key (vmap) path
    assert torch.equal(got != 0, keep_mask(key_words(Seeds(3)["dropout"]), positions, 2, shape, p, "cpu"))


@pytest.mark.parametrize("compiled", [True, False])
def test_member_index_and_batched_key_give_the_same_masks_inside_vmap(monkeypatch, compiled):
    """Two ways to key K members inside vmap: a batched key tensor, or host keys + member index."""
    from torch.func import vmap

    if not compiled:
        monkeypatch.setattr(_dropout_mask, "noise_kernel", lambda: None)
    keys = torch.stack([key_words(Seeds(1)[i]["dropout"]) for i in range(3)])  # ensemble.member_keys(Seeds(1), 3)
    host = keys.numpy().view(np.uint32)
    x = torch.from_numpy(Seeds(2)["x"].numpy().standard_normal((3, 5, 16)).astype("float32"))

    def body(xb: torch.Tensor) -> torch.Tensor:
        return F.dropout(xb, 0.3) + F.alpha_dropout(xb, 0.2, True) + F.dropout(xb, 0.6)

    def via_key(k, xb):
        with KeyedDropoutMode(k, 5):
            return body(xb)

    def via_member(m, xb):
        with KeyedDropoutMode(host, 5, member=m):
            return body(xb)

    a = vmap(via_key, randomness="error")(keys, x)
    b = vmap(via_member, randomness="error")(torch.arange(3), x)
    assert torch.equal(a, b)
    with KeyedDropoutMode(host[1], 5):
        assert torch.equal(body(x[1]), a[1])  # member 1 alone, outside vmap
    with pytest.raises(InvalidArgumentError, match="member= needs"):
        KeyedDropoutMode(host[0], 5, member=torch.tensor(0))


def test_dropout_with_p_next_to_one_drops_everything():
    host = host_key(Seeds(6)["dropout"])
    assert not keep_mask(host, 0, 0, (10_000,), 1 - 1e-12, "cpu").any()


def test_alpha_dropout_keeps_selu_statistics():
    x = torch.from_numpy(Seeds(4)["x"].numpy().normal(size=(4000, 50))).float()
    with keyed_dropout(Seeds(4)["dropout"], 0):
        out = F.alpha_dropout(x, 0.2, training=True)
    assert abs(out.mean().item()) < 0.02 and abs(out.std().item() - 1.0) < 0.02
    # every dropped unit takes SELU's saturation value, affinely corrected: -alpha * a * (1 - p)
    alpha, p = 1.7580993408473766, 0.2
    a = 1.0 / ((alpha * alpha * p + 1.0) * (1.0 - p)) ** 0.5
    dropped = (out - (-alpha * a * (1 - p))).abs() < 1e-6
    assert 0.19 < dropped.double().mean().item() < 0.21


def test_keyed_dropout_honours_the_training_flag_and_is_repeatable():
    x = torch.ones(100)
    with keyed_dropout(Seeds(0), 3) as mode:
        a = F.dropout(x, 0.5)
        b = F.dropout(x, 0.5)
        assert torch.equal(F.dropout(x, 0.5, training=False), x)
    assert mode.calls == 2 and not torch.equal(a, b)  # call index separates the two layers
    with keyed_dropout(Seeds(0), 3):
        assert torch.equal(F.dropout(x, 0.5), a)
    with keyed_dropout(Seeds(0), 4):
        assert not torch.equal(F.dropout(x, 0.5), a)
    assert "calls=2" in repr(mode)


def test_keyed_dropout_names_are_reexported_where_users_find_them():
    import seedwise.bayes
    import seedwise.bayes.dropout as bayes_dropout
    import seedwise.stateless.dropout as core

    for name in ("keyed_dropout", "KeyedDropoutMode", "key_words", "host_key"):
        assert getattr(bayes_dropout, name) is getattr(core, name)
        assert name in bayes_dropout.__all__
    assert seedwise.bayes.keyed_dropout is core.keyed_dropout
    assert seedwise.bayes.KeyedDropoutMode is core.KeyedDropoutMode
