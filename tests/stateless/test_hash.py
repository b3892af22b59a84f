"""The lowbias32 hash: torch (out of place and in place), Python-int and compiled forms agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seedwise.stateless._hash import mix, mix_, mix_int


def _mix_reference(x: int) -> int:
    """lowbias32 in plain Python integers (mod 2**32)."""
    x &= 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    return x ^ (x >> 16)


def test_hash_matches_a_plain_python_reference():
    values = [0, 1, 2, 12345, 2**31 - 1, 2**31, 2**32 - 1, 0xDEADBEEF]
    signed = torch.tensor([v - 2**32 if v >= 2**31 else v for v in values], dtype=torch.int32)
    got = [v & 0xFFFFFFFF for v in mix(signed).tolist()]
    assert got == [_mix_reference(v) for v in values]


def _words(test_seed: int) -> list[int]:
    edges = [0, 1, 2, 12345, 2**15, 2**16 - 1, 2**16, 2**31 - 1, 2**31, 2**32 - 1, 0xDEADBEEF]
    return edges + np.random.default_rng(test_seed).integers(0, 2**32, size=2000).tolist()


def test_every_form_equals_the_reference(test_seed):
    values = _words(test_seed)
    expected = [_mix_reference(v) for v in values]
    signed = torch.tensor([v - 2**32 if v >= 2**31 else v for v in values], dtype=torch.int32)
    assert [v & 0xFFFFFFFF for v in mix(signed).tolist()] == expected
    in_place = signed.clone()
    assert mix_(in_place) is in_place
    assert torch.equal(in_place, mix(signed))
    assert [mix_int(v) for v in values] == expected


def test_compiled_form_equals_the_reference(test_seed):
    kernel = pytest.importorskip("seedwise.stateless._mask_kernel")
    values = _words(test_seed)
    assert [int(kernel.mix(np.uint64(v))) for v in values] == [_mix_reference(v) for v in values]
