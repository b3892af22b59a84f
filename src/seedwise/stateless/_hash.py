"""The ``lowbias32`` integer hash (C. Wellons): the 32-bit finaliser keyed dropout is built on.

``mix(x) = x ^ x>>16; x *= 0x7FEB352D; x ^= x>>15; x *= 0x846CA68B; x ^ x>>16`` on 32-bit
words (wrapping multiplies, logical shifts): two multiply-xorshift rounds with full
avalanche, cheap enough to hash every element of a dropout mask. It is not Philox and is
not meant for statistics or cryptography.

One function in three forms, bit for bit the same (tested):

* :func:`mix` and :func:`mix_` (in place, for large tensors: half the memory traffic) on
  int32 torch tensors, on any device and inside ``torch.func.vmap``; torch has no uint32
  arithmetic, so the words are held as signed int32 and logical shifts are arithmetic
  shifts masked to the low bits;
* :func:`mix_int` on one Python int in ``[0, 2**32)``, for the few per-call seeds the host
  computes without launching kernels;
* :func:`mix_array` on a NumPy uint64 array of 32-bit words, for the per-row seeds of a
  batch (one per sample, see :mod:`seedwise.stateless._sample_mask`);
* the numba-compiled ``mix`` of :mod:`seedwise.stateless._mask_kernel`, inside the
  compiled loop that writes dropout masks on the CPU (numba caches compiled code per
  module file, so the compiled forms keep their own module; it takes its constants from
  here).
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray

__all__ = ["MULTIPLIERS", "signed32", "mix", "mix_", "mix_int", "mix_array"]

#: the two multipliers of lowbias32, as unsigned 32-bit ints
MULTIPLIERS = (0x7FEB352D, 0x846CA68B)
_MASK32 = 0xFFFFFFFF


def signed32(value: int) -> int:
    """The int32 holding the low 32 bits of ``value`` (how torch stores a uint32 word)."""
    value &= _MASK32
    return value - 2**32 if value >= 2**31 else value


_C1, _C2 = signed32(MULTIPLIERS[0]), signed32(MULTIPLIERS[1])


def mix(x: torch.Tensor) -> torch.Tensor:
    """lowbias32 on int32 tensors (wrapping multiply; logical shifts by masking)."""
    x = x ^ ((x >> 16) & 0xFFFF)
    x = x * _C1
    x = x ^ ((x >> 15) & 0x1FFFF)
    x = x * _C2
    return x ^ ((x >> 16) & 0xFFFF)


def mix_(x: torch.Tensor) -> torch.Tensor:
    """:func:`mix` in place (for the large per-element tensors: half the memory traffic)."""
    x.bitwise_xor_(torch.bitwise_right_shift(x, 16).bitwise_and_(0xFFFF))
    x.mul_(_C1)
    x.bitwise_xor_(torch.bitwise_right_shift(x, 15).bitwise_and_(0x1FFFF))
    x.mul_(_C2)
    return x.bitwise_xor_(torch.bitwise_right_shift(x, 16).bitwise_and_(0xFFFF))


def mix_int(x: int) -> int:
    """:func:`mix` on one Python int in ``[0, 2**32)``."""
    x ^= x >> 16
    x = (x * MULTIPLIERS[0]) & _MASK32
    x ^= x >> 15
    x = (x * MULTIPLIERS[1]) & _MASK32
    return x ^ (x >> 16)


_M32 = np.uint64(_MASK32)
_U1, _U2 = np.uint64(MULTIPLIERS[0]), np.uint64(MULTIPLIERS[1])
_S15, _S16 = np.uint64(15), np.uint64(16)


def mix_array(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """:func:`mix` on a uint64 array of words in ``[0, 2**32)`` (a 32x32-bit product fits in 64 bits)."""
    x = x ^ (x >> _S16)  # a new array; the rest in place
    x *= _U1
    x &= _M32
    x ^= x >> _S15
    x *= _U2
    x &= _M32
    x ^= x >> _S16
    return x
