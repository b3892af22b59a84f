"""Per-sample draws for seedwise's consumers: many streams at one position, or a generator each.

Augmentation asks, for every sample ``i`` of epoch ``e``, for a few uniforms from each of
several streams, and for per-pixel noise a whole generator. Both are pure functions of
``(stream, epoch, index)``:

* :func:`uniforms` evaluates ``uniform(stream_k, (epoch, indices), size=size_k)`` for
  several streams at once: with numba, every block of every stream and sample in one
  compiled call (:func:`~seedwise.stateless._philox_kernel.unit_blocks`, a few
  microseconds for one sample, where Python ints take about 25 and NumPy's per-call
  overhead ten times that). Without numba, for a batch it calls
  :func:`~seedwise.stateless.uniform` per stream, and for the few Philox blocks a single
  sample needs (a DataLoader worker augments one sample at a time) it evaluates the same
  bijection on Python ints (:func:`~seedwise.stateless._philox.philox_block`). Tests check
  every path bit for bit against ``uniform``.
* :func:`generators` hands out one NumPy generator per sample: a Philox generator keyed by
  two words drawn at ``(epoch, index)``, so a sample's noise image never depends on the
  other samples of its batch.

Internal to seedwise (used by :mod:`seedwise.augment`): the caller validates the positions
first (``indices`` a 1-D uint64 array, ``epoch`` a uint64), as the hot path of one sample
per call cannot afford to validate twice.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from seedwise._optional import compiled
from seedwise.seeds import Seeds
from seedwise.stateless._distributions import UNIT, raw, uniform
from seedwise.stateless._philox import U64, philox_block

__all__ = ["Requests", "uniforms", "generators", "unit_kernel", "warm"]

#: up to this many Philox blocks (samples x blocks per sample, over all streams), the
#: Python-int form is faster than NumPy's
_SCALAR_BLOCKS = 48


class Requests(Sequence[tuple[Seeds, int]]):
    """``(stream, size)`` pairs with what every draw needs of them worked out once: the
    streams' keys, their block counts and where each stream's values sit in a row.

    A pipeline builds its requests once and draws from them per call; :func:`uniforms`
    also takes a plain sequence of pairs (and builds this for the call)."""

    def __init__(self, pairs: Sequence[tuple[Seeds, int]]):
        self.pairs = tuple((stream, int(size)) for stream, size in pairs)
        self.sizes = [size for _, size in self.pairs]
        self.block_list = [max(1, -(-size // 4)) for size in self.sizes]
        self.blocks = np.array(self.block_list, dtype=np.int64)
        self.keys = np.array([stream.key for stream, _ in self.pairs], dtype=np.uint64).reshape(-1, 2)
        starts = np.concatenate([[0], 4 * np.cumsum(self.blocks)]).tolist()
        self.width = int(starts[-1])
        self.columns = [(start, start + size) for start, size in zip(starts, self.sizes)]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, k: Any) -> Any:
        return self.pairs[k]


def uniforms(requests: Sequence[tuple[Seeds, int]], epoch: np.uint64, indices: U64) -> list[NDArray[np.float64]]:
    """Uniforms in [0, 1) for several streams at the same positions.

    ``requests`` holds ``(stream, size)`` pairs (best a :class:`Requests`, built once);
    item ``k`` of the result equals ``stateless.uniform(stream_k, (epoch, indices),
    size=size_k)``, shape ``(B, size_k)``.
    """
    plan = requests if isinstance(requests, Requests) else Requests(requests)
    b = indices.shape[0]
    if not plan.pairs:
        return []
    kernel = unit_kernel()
    if kernel is not None:
        out = np.empty((b, plan.width), dtype=np.float64)
        kernel(plan.keys, plan.blocks, np.uint64(epoch), indices.astype(np.uint64, copy=False), out)
        return [out[:, start:stop] for start, stop in plan.columns]
    if b * plan.width // 4 <= _SCALAR_BLOCKS:
        keys = [(int(k0), int(k1)) for k0, k1 in plan.keys.tolist()]
        return _uniforms_scalar(keys, int(epoch), indices, plan.sizes, plan.block_list)
    return [uniform(stream, (epoch, indices), size=size).reshape(b, size) for stream, size in plan.pairs]


@functools.lru_cache(maxsize=1)
def unit_kernel() -> Any:
    """The numba-compiled draw loop, or ``None`` when numba cannot be imported."""
    return compiled("seedwise.stateless._philox_kernel", "unit_blocks")


def warm() -> None:
    """Load the compiled draw loop into this process now, so that processes forked from it have it.

    numba loads the compiled loop from its on-disk cache at the first draw of a process
    (~0.4 s). A DataLoader's workers that are not persistent are forked afresh every epoch,
    and each would pay that at its first augmented sample, every epoch, unless the parent
    has loaded it before forking them (``seedwise.data.DataLoader`` calls this). Nothing
    after the first call, and nothing without numba.
    """
    kernel = unit_kernel()
    if kernel is None or kernel.signatures:
        return
    out = np.empty((1, 4), dtype=np.float64)  # the argument types of every draw: one compiled form
    kernel(np.zeros((1, 2), dtype=np.uint64), np.ones(1, dtype=np.int64), np.uint64(0), np.zeros(1, np.uint64), out)


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
