"""The ints of many children of one stream at once: ``int(seeds.child(i, *suffix))`` for a block of ``i``.

``int(seeds)`` builds a :class:`numpy.random.SeedSequence` per stream, about 30 µs each:
too much for a value wanted at every training step (the step's dropout key). Every child
``i`` of one stream shares the start of its entropy (the root entropy and the parent's
path words), so this module mixes that prefix into SeedSequence's pool once and then mixes
the words that differ (the index, the suffix and the ``"int"`` purpose) for the whole
block in vectorised uint32 arithmetic.

It is NumPy's SeedSequence algorithm (``numpy/random/bit_generator.pyx``: ``hashmix``,
``mix``, ``mix_entropy`` and ``generate_state`` with a pool of four words) restated, and
must stay bit-identical to it: ``tests/test_seed_block.py`` compares it with
``int(seeds.child(i, *suffix))`` exactly, over roots, overrides, paths and indices.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.seeds import PathElement, Seeds

__all__ = ["child_ints"]

_MASK = 0xFFFFFFFF
_POOL = 4
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_SHIFT = 16


class _Pool:
    """SeedSequence's entropy pool while words are mixed in: four lanes of uint32, one per child."""

    def __init__(self, words: list[int]) -> None:
        # The first pool-size words fill the pool and cross-mix, as in mix_entropy.
        self.const = _INIT_A
        lanes = [self._hash_int(w) for w in words[:_POOL]]
        for src in range(_POOL):
            for dst in range(_POOL):
                if src != dst:
                    lanes[dst] = _mix_int(lanes[dst], self._hash_int(lanes[src]))
        self.lanes = lanes
        for w in words[_POOL:]:
            self.absorb_int(w)

    def _hash_int(self, value: int) -> int:
        value ^= self.const
        self.const = (self.const * _MULT_A) & _MASK
        value = (value * self.const) & _MASK
        return value ^ (value >> _SHIFT)

    def absorb_int(self, word: int) -> None:
        for dst in range(_POOL):
            self.lanes[dst] = _mix_int(self.lanes[dst], self._hash_int(word))

    def absorb(self, lanes: np.ndarray, words: np.ndarray) -> None:
        """Mix one word per child (``words``, uint32, shape ``(n,)``) into ``lanes`` (uint32, ``(4, n)``).

        The four pool words take the word in turn, each hashed with the next hash constant;
        they do not read each other, so the four run as one ``(4, n)`` operation.
        """
        consts = np.empty((_POOL, 1), dtype=np.uint32)
        for dst in range(_POOL):
            consts[dst] = self.const
            self.const = (self.const * _MULT_A) & _MASK
        multipliers = np.empty((_POOL, 1), dtype=np.uint32)
        multipliers[:-1] = consts[1:]
        multipliers[-1] = self.const
        value = words ^ consts
        value *= multipliers
        value ^= value >> np.uint32(_SHIFT)
        mixed = np.uint32(_MIX_L) * lanes - np.uint32(_MIX_R) * value
        mixed ^= mixed >> np.uint32(_SHIFT)
        lanes[...] = mixed


def _mix_int(x: int, y: int) -> int:
    result = (_MIX_L * x - _MIX_R * y) & _MASK
    return result ^ (result >> _SHIFT)


def _uint32_words(value: int) -> list[int]:
    """An int as SeedSequence reads it: 32-bit words, least significant first (0 is one word)."""
    words = [value & _MASK]
    value >>= 32
    while value:
        words.append(value & _MASK)
        value >>= 32
    return words


def _element_words(element: PathElement) -> tuple[int, ...]:
    from seedwise.seeds import _encode

    return _encode(element)


def _index_words(index: int) -> bytes:
    # seeds._encode of an index, without its cache (a block's indices are used once)
    return hashlib.blake2b(b"seedwise:index:" + str(index).encode("ascii"), digest_size=16).digest()


def child_ints(seeds: Seeds, indices: Iterable[int], suffix: tuple[PathElement, ...] = ()) -> list[int]:
    """``[int(seeds.child(i, *suffix)) for i in indices]``, the same values, derived together.

    Args:
        seeds: the parent stream (overrides on its path apply, as they do to its children).
        indices: child indices, ints in ``[0, 2**64)``.
        suffix: names or indices below each child (``()`` for the child itself).
    """
    from seedwise.seeds import _check_element, _use

    indices = [i if type(i) is int and 0 <= i < 2**64 else int(_check_element(i)) for i in indices]
    if not indices:
        return []
    entropy, _ = seeds._effective()
    run = _uint32_words(entropy)
    run += [0] * (_POOL - len(run))  # SeedSequence pads the run entropy to the pool when there is a spawn key
    pool = _Pool(run + list(seeds._spawn_words))
    n = len(indices)
    lanes = np.repeat(np.array(pool.lanes, dtype=np.uint32)[:, None], n, axis=1)
    digests = np.frombuffer(b"".join(_index_words(i) for i in indices), dtype="<u4").reshape(n, 4)
    for k in range(4):
        pool.absorb(lanes, digests[:, k].astype(np.uint32))
    tail: list[int] = []
    for element in suffix:
        tail.extend(_element_words(_check_element(element)))
    tail.extend(_use("int"))
    for word in tail:
        pool.absorb(lanes, np.full(n, word, dtype=np.uint32))
    # generate_state(1, uint64): two uint32 words from the pool, low word first
    const = _INIT_B
    out = []
    for lane in lanes[:2]:
        value = lane ^ np.uint32(const)
        const = (const * _MULT_B) & _MASK
        value *= np.uint32(const)
        value ^= value >> np.uint32(_SHIFT)
        out.append(value.astype(np.uint64))
    values: list[int] = (out[0] | (out[1] << np.uint64(32))).tolist()
    return values
