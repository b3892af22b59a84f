"""Per-sample draws for seedwise's consumers: many streams at one position, or a generator each.

Augmentation asks, for every sample ``i`` of epoch ``e``, for a few uniforms from each of
several streams, and for per-pixel noise a whole generator. Both are pure functions of
``(stream, epoch, index)``:

* :func:`uniforms` evaluates ``uniform(stream_k, (epoch, indices), size=size_k)`` for
  several streams at once. For a batch it calls :func:`~seedwise.stateless.uniform` per
  stream. For the few Philox blocks a single sample needs (a DataLoader worker augments
  one sample at a time) it evaluates the same bijection on Python ints
  (:func:`~seedwise.stateless._philox.philox_block`), which avoids NumPy's per-call
  overhead on arrays of one element (about ten times faster); a test checks both paths bit
  for bit against ``uniform``.
* :func:`generators` hands out one NumPy generator per sample: a Philox generator keyed by
  two words drawn at ``(epoch, index)``, so a sample's noise image never depends on the
  other samples of its batch.

Internal to seedwise (used by :mod:`seedwise.augment`): the caller validates the positions
first (``indices`` a 1-D uint64 array, ``epoch`` a uint64), as the hot path of one sample
per call cannot afford to validate twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from seedwise.seeds import Seeds
from seedwise.stateless._distributions import UNIT, raw, uniform
from seedwise.stateless._philox import U64, philox_block

__all__ = ["uniforms", "generators"]

#: up to this many Philox blocks (samples x blocks per sample, over all streams), the
#: Python-int form is faster than NumPy's
_SCALAR_BLOCKS = 48


def uniforms(requests: Sequence[tuple[Seeds, int]], epoch: np.uint64, indices: U64) -> list[NDArray[np.float64]]:
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
    return [uniform(stream, (epoch, indices), size=size).reshape(b, size) for stream, size in requests]


def _key_ints(stream: Seeds) -> tuple[int, int]:
    key = stream.key
    return int(key[0]), int(key[1])


def _uniforms_scalar(
    keys: list[tuple[int, int]], epoch: int, indices: U64, sizes: list[int], blocks: list[int]
) -> list[NDArray[np.float64]]:
    scale = UNIT
    index_list = indices.tolist()
    out = []
    for (k0, k1), size, nb in zip(keys, sizes, blocks):
        values = [
            [(w >> 11) * scale for blk in range(nb) for w in philox_block(blk, epoch, index, 0, k0, k1)][:size]
            for index in index_list
        ]
        out.append(np.array(values, dtype=np.float64).reshape(len(index_list), size))
    return out


def generators(stream: Seeds, epoch: np.uint64, indices: U64) -> list[np.random.Generator]:
    """One generator per sample, a pure function of (stream, epoch, index)."""
    if indices.shape[0] == 0:
        return []
    words = raw(stream, (epoch, indices), size=2)  # (B, 2) uint64
    return [np.random.Generator(np.random.Philox(key=w)) for w in words]
