"""Per-sample keyed dropout: each row's mask a pure function of (stream, epoch, sample index, call index).

The claim that makes it world-size invariant is checked directly: a row's mask does not
depend on which other rows share its batch, on their order, or on the batch size, on every
mask path (compiled CPU loop, torch-op hash from host words, torch-op hash from a key
tensor, inside vmap). The 1-vs-2-process training run is in test_dropout_world_size.py.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seedwise import Seeds
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.init import initialize
from seedwise.stateless import _dropout_mask
from seedwise.stateless._hash import mix_int
from seedwise.stateless._sample_mask import sample_seeds
from seedwise.stateless.dropout import KeyedDropoutMode, host_key, key_words, keyed_dropout

_M32 = 0xFFFFFFFF
#: the derivation's salts, written out here (not imported) because they are part of the contract
_C, _D, _A = 0xBB67AE85, 0xA54FF53A, 0x3C6EF372


def _reference_seeds(key: np.ndarray, epoch: int, index: int, call: int) -> tuple[int, int]:
    """The call seed of one row, on Python ints, as docs/data.md and _sample_mask's docstring state it."""
    k0, k1, k2, k3 = (int(w) for w in key)
    rows = []
    for s in (mix_int(mix_int(k0 ^ _C) ^ k1), mix_int(mix_int(k2 ^ _D) ^ k3)):
        r = mix_int(mix_int(mix_int(mix_int(s ^ (epoch & _M32)) ^ (epoch >> 32)) ^ (index & _M32)) ^ (index >> 32))
        rows.append(r)
    return mix_int(rows[0] ^ call), mix_int(rows[1] ^ ((call ^ _A) & _M32))


def _reference_row(key: np.ndarray, epoch: int, index: int, call: int, per: int, p: float) -> list[bool]:
    a, b = _reference_seeds(key, epoch, index, call)
    threshold = min(round(p * 2**32), 2**32 - 1)
    return [mix_int(mix_int(e ^ a) ^ b) >= threshold for e in range(per)]


def _bits(mask: torch.Tensor) -> str:
    return "".join("1" if b else "0" for b in mask.flatten().tolist())


def _no_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_dropout_mask, "noise_kernel", lambda: None)


def test_known_answer_masks():
    """The per-sample masks are part of the reproducibility contract: these bits must never change."""
    host = host_key(Seeds(0)["dropout"])
    golden = {
        (0, 0, 0): "11000011000111110110000110101011",
        (2**33 + 5, 2**40 + 7, 3): "01011011001010100011111011011001",
        (1, 0, 0): "00110010011000001001011100100100",
        (0, 1, 0): "10000100111110101101001101000011",
    }
    for (epoch, index, call), bits in golden.items():
        assert _bits(torch.tensor(_reference_row(host, epoch, index, call, 32, 0.5))) == bits
        for key in (host, key_words(Seeds(0)["dropout"])):
            rows = sample_seeds(key, epoch, np.array([index], dtype=np.int64))
            assert _bits(rows.keep(call, (1, 32), 0.5, "cpu")) == bits
        noise = sample_seeds(host, epoch, np.array([index])).noise(call, (1, 32), 0.5, torch.float32)
        assert noise is not None and _bits(noise != 0) == bits


def test_row_seeds_equal_the_python_int_reference_on_every_form():
    host = host_key(Seeds(9)["dropout"])
    indices = np.array([0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**40 + 3, 2**63 - 1], dtype=np.int64)
    for epoch in (0, 7, 2**32 - 1, 2**32, 2**64 - 1):
        for call in (0, 1, 2**31 - 1):
            expected = torch.tensor([_reference_row(host, epoch, int(i), call, 40, 0.3) for i in indices])
            for key in (host, key_words(Seeds(9)["dropout"])):
                assert torch.equal(sample_seeds(key, epoch, indices).keep(call, (8, 40), 0.3, "cpu"), expected)


def _model() -> nn.Module:
    model = nn.Sequential(
        nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.4), nn.Linear(16, 16), nn.AlphaDropout(0.2), nn.Linear(16, 3)
    )
    initialize(model, Seeds(0)["init"])
    return model


#: dropout layers only: elementwise, so a row's output depends on its mask alone (a Linear's
#: matrix product may round a row differently with another batch size, whatever the masks)
_MASKS = nn.Sequential(nn.Dropout(0.4), nn.AlphaDropout(0.2), nn.Dropout1d(0.3))


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_rows_masks_do_not_depend_on_the_rest_of_its_batch(monkeypatch, compiled, dtype, test_seed):
    """Batch of 8 vs the same rows split 4 + 4, vs shuffled, vs beside other samples: identical rows."""
    if not compiled:
        _no_kernel(monkeypatch)
    x = torch.from_numpy(Seeds(test_seed)["x"].numpy().standard_normal((8, 5, 6))).to(dtype)
    indices = np.array([17, 3, 40, 41, 0, 9, 1000, 2**33])
    stream = Seeds(test_seed)["dropout"]

    def run(rows: np.ndarray, xs: torch.Tensor, epoch: int = 2) -> torch.Tensor:
        with keyed_dropout(stream, per_sample=(epoch, rows)) as mode:
            out = _MASKS(xs)
        assert mode.calls == 3
        return out

    whole = run(indices, x)
    assert torch.equal(torch.cat([run(indices[:4], x[:4]), run(indices[4:], x[4:])]), whole)
    perm = np.array([5, 2, 7, 0, 3, 6, 1, 4])
    assert torch.equal(run(indices[perm], x[perm]), whole[perm])
    assert torch.equal(run(indices[[6]], x[[6]]), whole[[6]])
    others = np.array([1, 2, 3, 4000])  # rows 0 and 2 beside samples not in the first batch
    mixed = run(np.array([indices[0], others[0], indices[2], others[1]]), torch.stack([x[0], x[1], x[2], x[3]]))
    assert torch.equal(mixed[[0, 2]], whole[[0, 2]])
    assert not torch.equal(run(indices, x, epoch=3), whole)  # another epoch, other masks


@pytest.mark.parametrize("compiled", [True, False])
def test_channel_dropout_keys_each_row_and_channel(monkeypatch, compiled):
    if not compiled:
        _no_kernel(monkeypatch)
    x = torch.ones(6, 5, 4, 4)
    stream, idx = Seeds(4)["dropout"], np.arange(10, 16)
    with keyed_dropout(stream, per_sample=(0, idx)):
        whole = F.dropout2d(x, 0.5)
    with keyed_dropout(stream, per_sample=(0, idx[3:])):
        tail = F.dropout2d(x[3:], 0.5)
    assert torch.equal(whole[3:], tail)
    assert torch.equal(whole.amin((2, 3)), whole.amax((2, 3)))  # one value per (row, channel)
    expected = torch.tensor([_reference_row(host_key(stream), 0, int(i), 0, 5, 0.5) for i in idx])
    assert torch.equal(whole[:, :, 0, 0] != 0, expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (5, 2, 33), (4, 3, 2, 2)])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.77, 1 - 1e-12])
def test_compiled_cpu_noise_equals_the_torch_path_bit_for_bit(dtype, shape, p):
    """The numba loop, the torch-op hash from host words and from a key tensor: one set of bits."""
    stream = Seeds(3)["dropout"]
    indices = (np.arange(shape[0]) * 7919 + 2**32 - 3).astype(np.int64)
    host = sample_seeds(host_key(stream), 11, indices)
    got = host.noise(2, shape, p, dtype)
    assert got is not None and got.dtype == dtype and got.shape == shape
    keep = host.keep(2, shape, p, "cpu")
    assert torch.equal(got, keep.to(dtype) / (1.0 - p))
    assert torch.equal(keep, sample_seeds(key_words(stream), 11, indices).keep(2, shape, p, "cpu"))
    assert sample_seeds(key_words(stream), 11, indices).noise(2, shape, p, dtype) is None  # torch key: no kernel


def test_inside_vmap_a_batched_key_gives_each_member_its_own_per_sample_masks():
    from torch.func import vmap

    keys = torch.stack([key_words(Seeds(1)[i]["dropout"]) for i in range(3)])
    x = torch.from_numpy(Seeds(2)["x"].numpy().standard_normal((3, 5, 16)).astype("float32"))
    idx = np.array([4, 8, 15, 16, 23])

    def body(k: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        with KeyedDropoutMode(k, per_sample=(1, idx)):
            return F.dropout(xb, 0.3) + F.alpha_dropout(xb, 0.2, True)

    out = vmap(body, randomness="error")(keys, x)
    for i in range(3):
        with KeyedDropoutMode(host_key(Seeds(1)[i]["dropout"]), per_sample=(1, idx)):
            alone = F.dropout(x[i], 0.3) + F.alpha_dropout(x[i], 0.2, True)
        assert torch.equal(out[i], alone)
    assert not torch.equal(out[0], out[1])


def test_per_sample_masks_differ_from_per_step_ones_and_keep_the_rate():
    stream = Seeds(5)["dropout"]
    n_rows, width = 400, 250
    idx = np.arange(n_rows)
    with keyed_dropout(stream, per_sample=(0, idx)):
        a = F.dropout(torch.ones(n_rows, width), 0.3) != 0
    with keyed_dropout(stream, 0):
        b = F.dropout(torch.ones(n_rows, width), 0.3) != 0
    n = n_rows * width
    for keep in (a, b):
        assert abs(keep.double().mean().item() - 0.7) < 5 * (0.21 / n) ** 0.5
    corr = np.corrcoef(a.flatten().double().numpy(), b.flatten().double().numpy())[0, 1]
    assert abs(corr) < 5 / n**0.5
    rows = a.double().numpy()  # neighbouring rows (consecutive sample indices) are not correlated
    assert abs(np.corrcoef(rows[:-1].ravel(), rows[1:].ravel())[0, 1]) < 5 / n**0.5
    assert abs(np.corrcoef(rows[:, :-1].ravel(), rows[:, 1:].ravel())[0, 1]) < 5 / n**0.5


def test_the_two_modes_are_chosen_once_and_explicitly():
    stream = Seeds(0)["dropout"]
    with pytest.raises(InvalidArgumentError, match="not both"), keyed_dropout(stream, 3, per_sample=(0, [1])):
        pass
    with pytest.raises(InvalidArgumentError, match="needs the step as position"), keyed_dropout(stream):
        pass
    with pytest.raises(InvalidArgumentError, match="exactly one of them"):
        KeyedDropoutMode(host_key(stream))
    with pytest.raises(InvalidArgumentError, match="exactly one of them"):
        KeyedDropoutMode(host_key(stream), 0, per_sample=(0, [1]))
    stacked = np.stack([host_key(Seeds(0)[i]) for i in range(2)])
    with pytest.raises(InvalidArgumentError, match="the key of one dropout stream"):
        KeyedDropoutMode(stacked, per_sample=(0, [1]))
    with pytest.raises(InvalidArgumentError, match="the key of one dropout stream"):
        KeyedDropoutMode(None, per_sample=(0, [1]))
    with KeyedDropoutMode(host_key(stream), per_sample=(0, [1, 2])) as mode:
        F.dropout(torch.ones(2, 3), 0.5)
    assert repr(mode) == "KeyedDropoutMode(per_sample=<2 rows>, force=False, calls=1)"


@pytest.mark.parametrize(
    ("per_sample", "error", "match"),
    [
        ([0, [1, 2]], InvalidTypeError, "must be a pair"),
        ((0, [1, 2], 3), InvalidTypeError, "must be a pair"),
        ((np.array([0, 0]), [1, 2]), InvalidTypeError, "epoch must be one int"),
        (([1, 2], 0), InvalidTypeError, "epoch must be one int"),  # (indices, epoch) swapped
        ((0.0, [1, 2]), InvalidTypeError, "epoch must be an int"),
        ((-1, [1, 2]), InvalidArgumentError, "epoch must be >= 0"),
        ((0, 5), InvalidTypeError, "1-D integer array"),
        ((0, [[1, 2]]), InvalidTypeError, "1-D integer array"),
        ((0, [1.0, 2.0]), InvalidTypeError, "1-D integer array"),
        ((0, [True, False]), InvalidTypeError, "1-D integer array"),
        ((0, []), InvalidArgumentError, "empty"),
        ((0, [3, -1]), InvalidArgumentError, r"in \[0, 2\*\*63\)"),
        ((0, np.array([2**63], dtype=np.uint64)), InvalidArgumentError, r"in \[0, 2\*\*63\)"),
    ],
)
def test_bad_per_sample_keys_are_refused_naming_the_fix(per_sample, error, match):
    with pytest.raises(error, match=match), keyed_dropout(Seeds(0), per_sample=per_sample):
        pass


def test_indices_may_be_a_tensor_or_a_list():
    stream = Seeds(2)["dropout"]
    masks = []
    for idx in ([5, 6, 7], np.array([5, 6, 7], dtype=np.uint32), torch.tensor([5, 6, 7])):
        with keyed_dropout(stream, per_sample=(np.int64(1), idx)):
            masks.append(F.dropout(torch.ones(3, 20), 0.5))
    assert torch.equal(masks[0], masks[1]) and torch.equal(masks[0], masks[2])


def test_a_dropout_input_that_is_not_the_batch_raises():
    stream = Seeds(0)["dropout"]
    with keyed_dropout(stream, per_sample=(0, np.arange(4))):
        F.dropout(torch.ones(4, 3), 0.5)  # batch-first: fine
        with pytest.raises(InvalidArgumentError, match=r"shape \(3, 4\), but per_sample= keys 4 rows"):
            F.dropout(torch.ones(3, 4), 0.5)  # (features, batch)
        with pytest.raises(InvalidArgumentError, match="batch-first"):
            F.dropout(torch.ones(8, 3), 0.5)  # MC copies stacked: not this mode
        with pytest.raises(InvalidArgumentError, match="batch-first"):
            F.dropout2d(torch.ones(4, 5, 5), 0.5)  # an unbatched (C, H, W) image, even with C == 4
        assert torch.equal(F.dropout(torch.ones(3, 4), 0.5, training=False), torch.ones(3, 4))  # eval: untouched


def test_global_rngs_untouched():
    model = _model()
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    with keyed_dropout(Seeds(0), per_sample=(0, np.arange(5))):
        model(torch.ones(5, 6))
    assert torch.equal(before[0], torch.get_rng_state())
    assert np.array_equal(before[1], np.random.get_state()[1])
    assert before[2] == random.getstate()
