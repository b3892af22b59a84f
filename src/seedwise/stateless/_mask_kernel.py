"""The compiled forms of keyed dropout (numba): the ``lowbias32`` hash and the mask loop.

Imported lazily by :mod:`seedwise.stateless._dropout_mask` (``None`` there when numba
cannot be imported). :func:`mix` is :func:`seedwise.stateless._hash.mix` compiled;
:func:`noise` is the torch-op mask of :func:`~seedwise.stateless._dropout_mask.keep_mask`
(``lowbias32`` twice, keyed by a per-slab 64-bit call seed) as one pass over the mask,
writing the dropout multiplier directly. numba widens uint32 arithmetic to 64 bits, so
every product is masked back to 32 bits.

The multipliers come from :mod:`seedwise.stateless._hash` and are frozen into numba's
on-disk cache of this module: they are part of the reproducibility contract and never
change.
"""

from __future__ import annotations

import numba
import numpy as np

from seedwise.stateless._hash import MULTIPLIERS

_MASK32 = np.uint64(0xFFFFFFFF)
_C1 = np.uint64(MULTIPLIERS[0])
_C2 = np.uint64(MULTIPLIERS[1])
_S15 = np.uint64(15)
_S16 = np.uint64(16)


@numba.njit(cache=True, nogil=True)
def mix(x):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled; numba infers the types
    x ^= x >> _S16
    x = (x * _C1) & _MASK32
    x ^= x >> _S15
    x = (x * _C2) & _MASK32
    return x ^ (x >> _S16)


@numba.njit(cache=True, nogil=True)
def noise(a, b, per, threshold, scale, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``out[s * per + e] = scale`` if ``h_s(e) >= threshold`` else ``0``, for each slab ``s``."""
    zero = scale * 0
    for s in range(a.shape[0]):
        sa, sb, base = np.uint64(a[s]), np.uint64(b[s]), s * per
        for e in range(per):
            h = mix(mix(np.uint64(e) ^ sa) ^ sb)
            out[base + e] = scale if h >= threshold else zero
