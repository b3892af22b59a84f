"""Where augmentation randomness comes from: stateless draws at counter ``(epoch, index)``.

:func:`uniforms` evaluates :func:`seedwise.stateless.uniform` for several streams at
once. For a batch it calls ``stateless.uniform`` per stream. For the few Philox blocks a
single sample needs (a DataLoader worker augments one sample at a time) it evaluates
the same bijection on Python ints, which avoids NumPy's per-call overhead on arrays of
one element (about ten times faster); a test checks it bit for bit against
``stateless.uniform(seeds, (epoch, indices), size=k)``.

:func:`noise_generators` hands out one NumPy generator per sample for per-pixel noise:
a Philox generator keyed by two words drawn statelessly at ``(epoch, index)``, so a
sample's noise image never depends on the other samples of its batch.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from seedwise import stateless as S
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds

__all__ = ["positions", "uniforms", "noise_generators"]


def positions(indices: Any, epoch: Any) -> tuple[np.ndarray, np.uint64, bool]:
    """Validate ``indices`` (an int, or an int array / tensor) and ``epoch`` (an int >= 0).

    Returns ``(indices as 1-D uint64, epoch as uint64, was_scalar)``.
    """
    if type(indices) is int and type(epoch) is int and 0 <= indices < 2**64 and 0 <= epoch < 2**64:
        return np.array([indices], dtype=np.uint64), np.uint64(epoch), True  # the per-sample fast path
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
        if hasattr(epoch, "item") and getattr(epoch, "ndim", 1) == 0:
            epoch = epoch.item()
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
            raise InvalidTypeError(f"epoch must be an int >= 0, got {type(epoch).__name__} {epoch!r}")
    if epoch < 0:
        raise InvalidArgumentError(f"epoch must be >= 0, got {epoch}")
    if indices is None:
        raise InvalidTypeError(
            "indices is required: pass each sample's dataset index (an int, or an int array for a batch)"
        )
    if hasattr(indices, "detach") and hasattr(indices, "cpu"):  # a torch tensor
        indices = indices.detach().cpu().numpy()
    scalar = isinstance(indices, numbers.Integral) and not isinstance(indices, bool)
    arr = np.asarray(indices)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise InvalidTypeError(f"indices must be dataset indices (ints), got dtype {arr.dtype}: {indices!r}")
    if arr.ndim > 1:
        raise InvalidArgumentError(f"indices must be an int or a 1-D array of ints, got shape {arr.shape}")
    if arr.size and np.issubdtype(arr.dtype, np.signedinteger) and arr.min() < 0:
        raise InvalidArgumentError(f"indices must be >= 0 (dataset indices), got {int(arr.min())}")
    return arr.reshape(-1).astype(np.uint64), np.uint64(epoch), scalar or arr.ndim == 0


def uniforms(requests: Sequence[tuple[Seeds, int]], epoch: np.uint64, indices: np.ndarray) -> list[np.ndarray]:
    """Uniforms in [0, 1) for several streams at the same positions.

    ``requests`` holds ``(stream, size)`` pairs; item ``k`` of the result equals
    ``stateless.uniform(stream_k, (epoch, indices), size=size_k)``, shape ``(B, size_k)``.
    """
    n = len(requests)
    b = indices.shape[0]
    if n == 0:
        return []
    sizes = [int(size) for _, size in requests]
    blocks = [max(1, -(-size // 4)) for size in sizes]
    if b * sum(blocks) <= _SCALAR_BLOCKS:
        keys = [_key_ints(stream) for stream, _ in requests]
        return _uniforms_scalar(keys, int(epoch), indices, sizes, blocks)
    return [S.uniform(stream, (epoch, indices), size=size).reshape(b, size) for stream, size in requests]


_SCALAR_BLOCKS = 48
_MASK = (1 << 64) - 1
# Philox-4x64 constants (Salmon et al. 2011), as in numpy.random.Philox and seedwise.stateless.
_M0, _M1 = 0xD2E7470EE14C6C93, 0xCA5A826395121157
_W0, _W1 = 0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B
_ROUNDS = 10


@functools.lru_cache(maxsize=1024)
def _round_keys(k0: int, k1: int) -> tuple[tuple[int, int], ...]:
    """The key of each of the ten rounds (the Weyl sequence of the key schedule)."""
    out = []
    for _ in range(_ROUNDS):
        out.append((k0, k1))
        k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    return tuple(out)


def _philox_block(c0: int, c1: int, c2: int, c3: int, k0: int, k1: int) -> tuple[int, int, int, int]:
    """Philox-4x64-10 on Python ints: the same bijection as :func:`seedwise.stateless.philox`."""
    mask = _MASK
    for r0, r1 in _round_keys(k0, k1):
        p0 = 0xD2E7470EE14C6C93 * c0
        p1 = 0xCA5A826395121157 * c2
        c0, c1, c2, c3 = (p1 >> 64) ^ c1 ^ r0, p1 & mask, (p0 >> 64) ^ c3 ^ r1, p0 & mask
    return c0, c1, c2, c3


def _key_ints(stream: Seeds) -> tuple[int, int]:
    key = stream.key
    return int(key[0]), int(key[1])


def _uniforms_scalar(
    keys: list[tuple[int, int]], epoch: int, indices: np.ndarray, sizes: list[int], blocks: list[int]
) -> list[np.ndarray]:
    scale = 1.0 / 9007199254740992.0
    index_list = indices.tolist()
    out = []
    for (k0, k1), size, nb in zip(keys, sizes, blocks):
        values = [
            [(w >> 11) * scale for blk in range(nb) for w in _philox_block(blk, epoch, index, 0, k0, k1)][:size]
            for index in index_list
        ]
        out.append(np.array(values, dtype=np.float64).reshape(len(index_list), size))
    return out


def noise_generators(stream: Seeds, epoch: np.uint64, indices: np.ndarray) -> list[np.random.Generator]:
    """One generator per sample, a pure function of (stream, epoch, index)."""
    if indices.shape[0] == 0:
        return []
    words = S.raw(stream, (epoch, indices), size=2)  # (B, 2) uint64
    return [np.random.Generator(np.random.Philox(key=w)) for w in words]
