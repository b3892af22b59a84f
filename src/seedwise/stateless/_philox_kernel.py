"""The compiled form of per-sample uniforms (numba): Philox-4x64-10 blocks straight to floats.

Imported lazily by :mod:`seedwise.stateless._per_sample` (which falls back to the
Python-int and NumPy forms of :mod:`seedwise.stateless._philox` when numba cannot be
imported). :func:`unit_blocks` evaluates, for every sample ``b`` and every stream ``s``,
the blocks ``0 .. blocks[s] - 1`` at counter ``(block, epoch, indices[b], 0)`` under key
``keys[s]``, and writes each 64-bit word ``w`` as the float ``(w >> 11) * 2**-53``: the
same bits as ``stateless.uniform(stream, (epoch, indices), size)`` (tests compare them
exactly).

numba has no 128-bit integers, so the high half of each product is assembled from 32-bit
halves, as :func:`seedwise.stateless._philox.mulhilo` does. Every constant is a uint64:
numba turns uint64 mixed with a signed int into a float.
"""

from __future__ import annotations

import numba
import numpy as np

from seedwise.stateless._philox import MULTIPLIERS, ROUNDS, WEYL

_M0, _M1 = np.uint64(MULTIPLIERS[0]), np.uint64(MULTIPLIERS[1])
_W0, _W1 = np.uint64(WEYL[0]), np.uint64(WEYL[1])
_LO32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_ZERO = np.uint64(0)
_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@numba.njit(cache=True, nogil=True)
def _mulhilo(a, b):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled; numba infers the types
    a_lo, a_hi, b_lo, b_hi = a & _LO32, a >> _S32, b & _LO32, b >> _S32
    lh, hl = a_lo * b_hi, a_hi * b_lo
    mid = ((a_lo * b_lo) >> _S32) + (lh & _LO32) + (hl & _LO32)
    return a_hi * b_hi + (lh >> _S32) + (hl >> _S32) + (mid >> _S32), a * b


@numba.njit(cache=True, nogil=True)
def unit_blocks(keys, blocks, epoch, indices, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``out[b, 4 * (first block of s + k) + j]``: word ``j`` of block ``k`` of stream
    ``s`` at sample ``b``, as a unit float."""
    for b in range(indices.shape[0]):
        index = indices[b]
        col = 0
        for s in range(keys.shape[0]):
            for blk in range(blocks[s]):
                x0, x1, x2, x3 = np.uint64(blk), epoch, index, _ZERO
                r0, r1 = keys[s, 0], keys[s, 1]
                for r in range(ROUNDS):
                    if r > 0:
                        r0 += _W0
                        r1 += _W1
                    hi0, lo0 = _mulhilo(_M0, x0)
                    hi1, lo1 = _mulhilo(_M1, x2)
                    x0, x1, x2, x3 = hi1 ^ x1 ^ r0, lo1, hi0 ^ x3 ^ r1, lo0
                out[b, col] = np.float64(x0 >> _S11) * _UNIT
                out[b, col + 1] = np.float64(x1 >> _S11) * _UNIT
                out[b, col + 2] = np.float64(x2 >> _S11) * _UNIT
                out[b, col + 3] = np.float64(x3 >> _S11) * _UNIT
                col += 4
