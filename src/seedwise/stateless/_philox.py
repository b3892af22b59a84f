"""Philox-4x64-10 (Salmon et al. 2011), the bijection behind :class:`numpy.random.Philox`.

Two forms of the same function, tested bit for bit against each other and against NumPy:

* :func:`philox`: vectorised over NumPy arrays of counters (any number of blocks);
* :func:`philox_block`: one block on Python ints, for the few blocks a single sample
  needs (a DataLoader worker augments one sample at a time), where NumPy's per-call
  overhead on one-element arrays would cost about ten times more.

A block is four 64-bit counter words and a two-word key; ten rounds each multiply two of
the words by :data:`MULTIPLIERS` (keeping both halves of the 128-bit product) and add the
round key, which advances by :data:`WEYL` every round.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds

__all__ = ["KeyLike", "MULTIPLIERS", "WEYL", "ROUNDS", "as_key", "philox", "philox_block", "round_keys"]

#: the two round multipliers of Philox-4x64
MULTIPLIERS = (0xD2E7470EE14C6C93, 0xCA5A826395121157)
#: the Weyl increments of the key schedule (golden ratio, sqrt(3) - 1)
WEYL = (0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B)
ROUNDS = 10

KeyLike = Seeds | ArrayLike
U64 = NDArray[np.uint64]

_MASK = (1 << 64) - 1
_M0, _M1 = np.uint64(MULTIPLIERS[0]), np.uint64(MULTIPLIERS[1])
_W0, _W1 = np.uint64(WEYL[0]), np.uint64(WEYL[1])
_LO32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def as_key(seeds: KeyLike) -> U64:
    """The (2,) uint64 Philox key of a :class:`Seeds`, or a key given directly."""
    if isinstance(seeds, Seeds):
        return seeds.key
    if isinstance(seeds, (bool, int)) or seeds is None:
        raise InvalidTypeError(
            f"seeds must be a seedwise.Seeds (or a (2,) uint64 key), got {type(seeds).__name__} {seeds!r}; "
            "wrap an int seed as seedwise.Seeds(seed)"
        )
    key = np.asarray(seeds)
    if key.shape != (2,) or key.dtype != np.uint64:
        raise InvalidArgumentError(f"a Philox key must be a (2,) uint64 array, got shape {key.shape} dtype {key.dtype}")
    return key


# -- the vectorised form --------------------------------------------------------------------


def mulhilo(a: U64 | np.uint64, b: U64) -> tuple[U64, U64]:
    """(high, low) 64-bit halves of the 128-bit product of ``a`` and ``b``.

    ``b`` is overwritten (used as scratch space): pass a copy you no longer need.
    """
    a_lo, a_hi = a & _LO32, a >> _S32
    low = a * b
    b_lo = b & _LO32
    b_hi = np.right_shift(b, _S32, out=b)
    ll = a_lo * b_lo
    lh = a_lo * b_hi
    hl = np.multiply(b_lo, a_hi, out=b_lo)
    mid = np.right_shift(ll, _S32, out=ll)
    mid += lh & _LO32
    mid += hl & _LO32
    np.right_shift(mid, _S32, out=mid)
    hi = np.multiply(b_hi, a_hi, out=b_hi)
    hi += np.right_shift(lh, _S32, out=lh)
    hi += np.right_shift(hl, _S32, out=hl)
    hi += mid
    return hi, low


# Rows per pass: the ~400 array operations of ten rounds stay in cache (2x faster than
# one pass over a large array on the machine this was tuned on).
_CHUNK = 16384


def _rounds(x0: U64, x1: U64, x2: U64, x3: U64, k0: np.uint64, k1: np.uint64) -> tuple[U64, U64, U64, U64]:
    for r in range(ROUNDS):
        if r:
            k0 = k0 + _W0
            k1 = k1 + _W1
        hi0, lo0 = mulhilo(_M0, x0)
        hi1, lo1 = mulhilo(_M1, x2)
        hi1 ^= x1
        hi1 ^= k0
        hi0 ^= x3
        hi0 ^= k1
        x0, x1, x2, x3 = hi1, lo1, hi0, lo0
    return x0, x1, x2, x3


def philox(counter: ArrayLike, key: KeyLike) -> U64:
    """The Philox-4x64-10 bijection: counters of shape (..., 4) uint64 -> (..., 4) uint64."""
    k = as_key(key)
    ctr = np.asarray(counter, dtype=np.uint64)
    if ctr.shape[-1:] != (4,):
        raise InvalidArgumentError(f"counter must have a last axis of 4 words, got shape {ctr.shape}")
    flat = ctr.reshape(-1, 4)
    out = np.empty_like(flat)
    with np.errstate(over="ignore"):
        for start in range(0, flat.shape[0], _CHUNK):
            block = flat[start : start + _CHUNK]
            x0, x1, x2, x3 = (block[:, i].copy() for i in range(4))  # _rounds consumes its inputs
            words = _rounds(x0, x1, x2, x3, k[0], k[1])
            for i in range(4):
                out[start : start + _CHUNK, i] = words[i]
    return out.reshape(ctr.shape)


# -- the scalar form ------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def round_keys(k0: int, k1: int) -> tuple[tuple[int, int], ...]:
    """The key of each of the ten rounds (the Weyl sequence of the key schedule)."""
    out = []
    for _ in range(ROUNDS):
        out.append((k0, k1))
        k0, k1 = (k0 + WEYL[0]) & _MASK, (k1 + WEYL[1]) & _MASK
    return tuple(out)


def philox_block(c0: int, c1: int, c2: int, c3: int, k0: int, k1: int) -> tuple[int, int, int, int]:
    """:func:`philox` of one block on Python ints: counter ``(c0, c1, c2, c3)``, key ``(k0, k1)``."""
    mask, m0, m1 = _MASK, MULTIPLIERS[0], MULTIPLIERS[1]
    for r0, r1 in round_keys(k0, k1):
        p0 = m0 * c0
        p1 = m1 * c2
        c0, c1, c2, c3 = (p1 >> 64) ^ c1 ^ r0, p1 & mask, (p0 >> 64) ^ c3 ^ r1, p0 & mask
    return c0, c1, c2, c3
