"""Distributions over Philox: raw words, uniform, normal, integers, bernoulli, permutation.

Every function takes a key (a :class:`~seedwise.Seeds`) and a counter and is a pure
function of the two. Counter layout: Philox has a 256-bit counter of four 64-bit words.
Word 0 numbers the blocks of four values one position needs (a position asking for
``size=10`` values uses blocks 0, 1 and 2); words 1-3 are the position the caller gives,
as one integer array or a tuple of up to three broadcastable integer arrays (for example
``(epoch, index)``).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.stateless._philox import U64, KeyLike, as_key, mulhilo, philox

__all__ = ["Counter", "raw", "uniform", "normal", "integers", "bernoulli", "permutation", "UNIT"]

Counter = ArrayLike | tuple[ArrayLike, ...]

#: 2**-53: ``(raw >> 11) * UNIT`` is the 53-bit float in [0, 1) NumPy makes of a 64-bit word
UNIT = 1.0 / 9007199254740992.0
_S11 = np.uint64(11)


def _mulhi(a: U64, b: ArrayLike) -> U64:
    scratch = np.array(b, dtype=np.uint64, copy=True, ndmin=1)
    return mulhilo(a, scratch)[0].reshape(np.shape(b))


def _positions(counter: Counter) -> tuple[U64, U64, U64]:
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
    items: Any = (int(size),) if isinstance(size, numbers.Integral) and not isinstance(size, bool) else size
    if isinstance(items, (str, bytes)) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in items
    ):
        raise InvalidTypeError(f"size must be an int or a tuple of ints, got {items!r}")
    out = tuple(int(s) for s in items)
    if any(s < 0 for s in out):
        raise InvalidArgumentError(f"size must not be negative, got {out}")
    return out


def raw(seeds: KeyLike, counter: Counter, size: int | tuple[int, ...] | None = None) -> U64:
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


def _to_unit(bits: U64) -> NDArray[np.float64]:
    return (bits >> _S11).astype(np.float64) * UNIT


def uniform(
    seeds: KeyLike,
    counter: Counter,
    size: int | tuple[int, ...] | None = None,
    *,
    low: ArrayLike = 0.0,
    high: ArrayLike = 1.0,
    dtype: Any = np.float64,
) -> NDArray[Any]:
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
    dtype: Any = np.float64,
) -> NDArray[Any]:
    """Gaussian floats (Box-Muller), shape ``counter.shape + size``."""
    shape = _size(size)
    bits = raw(seeds, counter, (2,) + shape)
    axis = bits.ndim - len(shape) - 1
    u1, u2 = _to_unit(np.take(bits, 0, axis=axis)), _to_unit(np.take(bits, 1, axis=axis))
    z = np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)
    scale_a = np.asarray(scale, dtype=np.float64)
    if np.any(scale_a < 0):
        raise InvalidArgumentError(f"normal needs scale >= 0, got {scale!r}")
    result: NDArray[Any] = (np.asarray(loc, dtype=np.float64) + scale_a * z).astype(dtype, copy=False)
    return result


def integers(
    seeds: KeyLike,
    counter: Counter,
    low: ArrayLike,
    high: ArrayLike | None = None,
    size: int | tuple[int, ...] | None = None,
) -> NDArray[np.int64]:
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
    result: NDArray[np.int64] = low_a.astype(np.int64) + offset.astype(np.int64)
    return result


def bernoulli(
    seeds: KeyLike, counter: Counter, p: ArrayLike, size: int | tuple[int, ...] | None = None
) -> NDArray[np.bool_]:
    """Booleans that are True with probability ``p``."""
    p_a = np.asarray(p, dtype=np.float64)
    if np.any((p_a < 0) | (p_a > 1)) or np.any(np.isnan(p_a)):
        raise InvalidArgumentError(f"bernoulli needs p in [0, 1], got {p!r}")
    result: NDArray[np.bool_] = uniform(seeds, counter, size) < p_a
    return result


def permutation(seeds: KeyLike, counter: Counter, n: int) -> NDArray[np.int64]:
    """A permutation of ``range(n)`` per position: shape ``counter.shape + (n,)``, int64."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise InvalidArgumentError(f"permutation needs n to be a non-negative int, got {n!r}")
    keys = raw(seeds, counter, int(n))
    return np.argsort(keys, axis=-1, kind="stable").astype(np.int64)
