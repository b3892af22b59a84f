"""The compiled CPU loop of keyed dropout masks (numba); imported lazily by :mod:`.dropout`.

The same hash as the torch-op path in :mod:`seedwise.bayes.dropout` (``lowbias32`` twice,
keyed by a per-slab 64-bit call seed), one pass over the mask, writing the dropout
multiplier directly. numba widens uint32 arithmetic to 64 bits, so every product is
masked back to 32 bits.
"""

from __future__ import annotations

import numba
import numpy as np

_MASK32 = np.uint64(0xFFFFFFFF)
_C1 = np.uint64(0x7FEB352D)
_C2 = np.uint64(0x846CA68B)
_S15 = np.uint64(15)
_S16 = np.uint64(16)


@numba.njit(cache=True, nogil=True)
def _mix(x):  # pragma: no cover - compiled
    x ^= x >> _S16
    x = (x * _C1) & _MASK32
    x ^= x >> _S15
    x = (x * _C2) & _MASK32
    return x ^ (x >> _S16)


@numba.njit(cache=True, nogil=True)
def noise(a, b, per, threshold, scale, out):  # pragma: no cover - compiled
    """``out[s * per + e] = scale`` if ``h_s(e) >= threshold`` else ``0``, for each slab ``s``."""
    zero = scale * 0
    for s in range(a.shape[0]):
        sa, sb, base = np.uint64(a[s]), np.uint64(b[s]), s * per
        for e in range(per):
            h = _mix(_mix(np.uint64(e) ^ sa) ^ sb)
            out[base + e] = scale if h >= threshold else zero
