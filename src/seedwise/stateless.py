"""Stateless, vectorised random draws: pure functions of (key, counter).

Every function here evaluates the Philox-4x64-10 bijection (Salmon et al. 2011, the
generator behind :class:`numpy.random.Philox`) at explicit counters, so a draw never
depends on what was drawn before it. This is what makes augmentation independent of
the number of workers, the batch size and resumption: sample ``i`` of epoch ``e`` gets
the numbers at counter ``(e, i)`` however the samples are grouped.

Counter layout: Philox has a 256-bit counter of four 64-bit words. Word 0 numbers the
blocks of four values one position needs (a position asking for ``size=10`` values
uses blocks 0, 1 and 2); words 1-3 are the position the caller gives, as one integer
array or a tuple of up to three broadcastable integer arrays (for example
``(epoch, index)``). :func:`philox` is the raw bijection; its output equals
``numpy.random.Philox(key=key, counter=counter - 1).random_raw(4)`` (NumPy increments
its counter before each block), which the tests check bit for bit.

Distributions:

* :func:`uniform`: ``(raw >> 11) * 2**-53``, the 53-bit float NumPy uses, in ``[0, 1)``
  scaled to ``[low, high)``;
* :func:`normal`: Box-Muller on two uniforms;
* :func:`integers`: ``low + mulhi64(raw, high - low)`` (bias below ``(high-low) / 2**64``);
* :func:`bernoulli`: ``uniform < p``;
* :func:`permutation`: a stable argsort of 64-bit random keys.

Values of different functions at the same counter share raw bits: give independent
quantities their own stream (``seeds["angle"]``, ``seeds["flip"]``) rather than their
own counter.
"""

from __future__ import annotations

import numbers
from typing import Union

import numpy as np
from numpy.typing import ArrayLike

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds

__all__ = ["philox", "raw", "uniform", "normal", "integers", "bernoulli", "permutation", "as_key"]

_M0 = np.uint64(0xD2E7470EE14C6C93)
_M1 = np.uint64(0xCA5A826395121157)
_W0 = np.uint64(0x9E3779B97F4A7C15)
_W1 = np.uint64(0xBB67AE8584CAA73B)
_LO32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_ROUNDS = 10

KeyLike = Union[Seeds, ArrayLike]
Counter = Union[ArrayLike, tuple]


def as_key(seeds: KeyLike) -> np.ndarray:
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


def _mulhilo(a: np.ndarray | np.uint64, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _mulhi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    scratch = np.array(b, dtype=np.uint64, copy=True, ndmin=1)
    return _mulhilo(a, scratch)[0].reshape(np.shape(b))


# Rows per pass: the ~400 array operations of ten rounds stay in cache (2x faster than
# one pass over a large array on the machine this was tuned on).
_CHUNK = 16384


def _rounds(x0: np.ndarray, x1: np.ndarray, x2: np.ndarray, x3: np.ndarray, k0: np.uint64, k1: np.uint64):
    for r in range(_ROUNDS):
        if r:
            k0 = k0 + _W0
            k1 = k1 + _W1
        hi0, lo0 = _mulhilo(_M0, x0)
        hi1, lo1 = _mulhilo(_M1, x2)
        hi1 ^= x1
        hi1 ^= k0
        hi0 ^= x3
        hi0 ^= k1
        x0, x1, x2, x3 = hi1, lo1, hi0, lo0
    return x0, x1, x2, x3


def philox(counter: ArrayLike, key: KeyLike) -> np.ndarray:
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
            words = _rounds(*(block[:, i].copy() for i in range(4)), k[0], k[1])  # _rounds consumes its inputs
            for i in range(4):
                out[start : start + _CHUNK, i] = words[i]
    return out.reshape(ctr.shape)


def _positions(counter: Counter) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    words = counter if isinstance(counter, tuple) else (counter,)
    if not 1 <= len(words) <= 3:
        raise InvalidArgumentError(
            f"counter must be an int array or a tuple of 1 to 3 int arrays, got {len(words)} words"
        )
    arrays = []
    for i, word in enumerate(words):
        arr = np.asarray(word)
        if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == object):
            raise InvalidTypeError(f"counter word {i} must hold integers, got dtype {arr.dtype}")
        if arr.dtype == object:
            if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in arr.flat):
                raise InvalidTypeError(f"counter word {i} must hold integers")
            if arr.size and (min(arr.flat) < 0 or max(arr.flat) >= 2**64):
                raise InvalidArgumentError(f"counter word {i} must be in [0, 2**64)")
            arr = arr.astype(np.uint64)
        elif np.issubdtype(arr.dtype, np.signedinteger):
            if arr.size and arr.min() < 0:
                raise InvalidArgumentError(f"counter word {i} must be >= 0, got {arr.min()}")
            arr = arr.astype(np.uint64)
        else:
            arr = arr.astype(np.uint64, copy=False)
        arrays.append(arr)
    arrays = list(np.broadcast_arrays(*arrays))
    while len(arrays) < 3:
        arrays.append(np.zeros_like(arrays[0]))
    return arrays[0], arrays[1], arrays[2]


def _size(size: int | tuple[int, ...] | None) -> tuple[int, ...]:
    if size is None:
        return ()
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (int(size),)
    if isinstance(size, (str, bytes)) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool)
        for s in size  # type: ignore[union-attr]
    ):
        raise InvalidTypeError(f"size must be an int or a tuple of ints, got {size!r}")
    out = tuple(int(s) for s in size)  # type: ignore[union-attr]
    if any(s < 0 for s in out):
        raise InvalidArgumentError(f"size must not be negative, got {out}")
    return out


def raw(seeds: KeyLike, counter: Counter, size: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Raw 64-bit words: shape ``counter.shape + size``, a pure function of (key, counter)."""
    key = as_key(seeds)
    c1, c2, c3 = _positions(counter)
    shape = _size(size)
    m = int(np.prod(shape, dtype=np.int64))
    blocks = max(1, -(-m // 4))
    ctr = np.empty(c1.shape + (blocks, 4), dtype=np.uint64)
    ctr[..., 0] = np.arange(blocks, dtype=np.uint64)
    ctr[..., 1] = c1[..., None]
    ctr[..., 2] = c2[..., None]
    ctr[..., 3] = c3[..., None]
    out = philox(ctr, key).reshape(c1.shape + (blocks * 4,))[..., :m]
    return out.reshape(c1.shape + shape)


def _to_unit(bits: np.ndarray) -> np.ndarray:
    return (bits >> _S11).astype(np.float64) * (1.0 / 9007199254740992.0)


def uniform(
    seeds: KeyLike,
    counter: Counter,
    size: int | tuple[int, ...] | None = None,
    *,
    low: ArrayLike = 0.0,
    high: ArrayLike = 1.0,
    dtype: type = np.float64,
) -> np.ndarray:
    """Uniform floats in ``[low, high)``, shape ``counter.shape + size``."""
    u = _to_unit(raw(seeds, counter, size))
    low_a, high_a = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    if np.any(high_a < low_a):
        raise InvalidArgumentError(f"uniform needs low <= high, got low={low!r}, high={high!r}")
    return (low_a + (high_a - low_a) * u).astype(dtype, copy=False)


def normal(
    seeds: KeyLike,
    counter: Counter,
    size: int | tuple[int, ...] | None = None,
    *,
    loc: ArrayLike = 0.0,
    scale: ArrayLike = 1.0,
    dtype: type = np.float64,
) -> np.ndarray:
    """Gaussian floats (Box-Muller), shape ``counter.shape + size``."""
    shape = _size(size)
    bits = raw(seeds, counter, (2,) + shape)
    axis = bits.ndim - len(shape) - 1
    u1, u2 = _to_unit(np.take(bits, 0, axis=axis)), _to_unit(np.take(bits, 1, axis=axis))
    z = np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)
    scale_a = np.asarray(scale, dtype=np.float64)
    if np.any(scale_a < 0):
        raise InvalidArgumentError(f"normal needs scale >= 0, got {scale!r}")
    return (np.asarray(loc, dtype=np.float64) + scale_a * z).astype(dtype, copy=False)


def integers(
    seeds: KeyLike,
    counter: Counter,
    low: ArrayLike,
    high: ArrayLike | None = None,
    size: int | tuple[int, ...] | None = None,
) -> np.ndarray:
    """Integers in ``[low, high)`` (or ``[0, low)`` when ``high`` is None), as int64."""
    if high is None:
        low, high = 0, low
    low_a, high_a = np.asarray(low), np.asarray(high)
    for name, arr in (("low", low_a), ("high", high_a)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise InvalidTypeError(f"integers: {name} must be an int, got {arr.dtype}")
    if np.any(high_a <= low_a):
        raise InvalidArgumentError(f"integers needs low < high, got low={low!r}, high={high!r}")
    span = (high_a.astype(np.int64) - low_a.astype(np.int64)).astype(np.uint64)
    bits = raw(seeds, counter, size)
    with np.errstate(over="ignore"):
        offset = _mulhi(span, np.broadcast_to(bits, np.broadcast_shapes(bits.shape, span.shape)))
    return low_a.astype(np.int64) + offset.astype(np.int64)


def bernoulli(seeds: KeyLike, counter: Counter, p: ArrayLike, size: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Booleans that are True with probability ``p``."""
    p_a = np.asarray(p, dtype=np.float64)
    if np.any((p_a < 0) | (p_a > 1)) or np.any(np.isnan(p_a)):
        raise InvalidArgumentError(f"bernoulli needs p in [0, 1], got {p!r}")
    return uniform(seeds, counter, size) < p_a


def permutation(seeds: KeyLike, counter: Counter, n: int) -> np.ndarray:
    """A permutation of ``range(n)`` per position: shape ``counter.shape + (n,)``, int64."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise InvalidArgumentError(f"permutation needs n to be a non-negative int, got {n!r}")
    keys = raw(seeds, counter, int(n))
    return np.argsort(keys, axis=-1, kind="stable").astype(np.int64)
