"""The compiled forms of two torch-path steps on the CPU (numba): one pass over memory each.

Imported lazily by :mod:`seedwise.augment.torch_backend`, which uses them on the CPU with
one torch thread (a DataLoader worker's setting) and its torch-op forms otherwise (more
threads, a GPU, no numba). Each evaluates the torch-op form's products and sums, in its
order, each rounded to the images' dtype (numba contracts nothing into a fused
multiply-add unless asked for fastmath), so the two forms give the same bits (tests
compare them exactly), whatever the number of threads.

* :func:`colour_map`: for every pixel of every sample, each output channel as
  ``((x_0 a_0 + a_C) + x_1 a_1) + x_2 a_2`` clipped to ``[0, scale]``. It reads a
  pixel's channels before it writes any of them, so ``out`` may be ``x`` itself. (The
  torch-op form makes nine image-sized products, then the sums: passes over memory that
  cost about a sixth of a batch's time at 224x224.)
* :func:`channel_sums`: each image's per-channel sum of its values in fixed point
  (``rint(v * factor)`` as int64), which is exact in any order.
* :func:`sampling_grid`: ``grid_sample``'s interleaved (x, y) grid of every sample from
  its 2x3 matrix, ``(t_0 g_x) + (t_1 g_y + t_2)`` per coordinate.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _clip(v, zero, scale):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    # torch's clamp_(0, scale) on finite values, -0.0 included (it gives +0.0)
    v = v if v > zero else zero
    return v if v < scale else scale


@numba.njit(cache=True, nogil=True)
def colour_map(x, a, scale, out, row):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``out[i] = clip(a[i, :, :C] x[i] + a[i, :, C], 0, scale)`` for ``(B, C, H, W)`` images, C 1 or 3.

    Each image row is first copied into ``row`` (``(C, W)``, scratch): then the loop that
    computes reads memory it does not write even when ``out`` is ``x``, which lets the
    compiler vectorise it (in place, reading and writing ``x`` directly ran ~3x slower)."""
    n, c, h, w = x.shape
    zero = scale - scale  # 0 in the images' dtype
    for i in range(n):
        if c == 3:
            a00, a01, a02, t0 = a[i, 0, 0], a[i, 0, 1], a[i, 0, 2], a[i, 0, 3]
            a10, a11, a12, t1 = a[i, 1, 0], a[i, 1, 1], a[i, 1, 2], a[i, 1, 3]
            a20, a21, a22, t2 = a[i, 2, 0], a[i, 2, 1], a[i, 2, 2], a[i, 2, 3]
            for y in range(h):
                for k in range(3):
                    for v in range(w):
                        row[k, v] = x[i, k, y, v]
                for v in range(w):
                    x0, x1, x2 = row[0, v], row[1, v], row[2, v]
                    r = ((x0 * a00 + t0) + x1 * a01) + x2 * a02
                    g = ((x0 * a10 + t1) + x1 * a11) + x2 * a12
                    b = ((x0 * a20 + t2) + x1 * a21) + x2 * a22
                    out[i, 0, y, v] = _clip(r, zero, scale)
                    out[i, 1, y, v] = _clip(g, zero, scale)
                    out[i, 2, y, v] = _clip(b, zero, scale)
        else:
            a00, t0 = a[i, 0, 0], a[i, 0, 1]
            for y in range(h):
                for v in range(w):
                    row[0, v] = x[i, 0, y, v]
                for v in range(w):
                    out[i, 0, y, v] = _clip(row[0, v] * a00 + t0, zero, scale)


@numba.njit(cache=True, nogil=True)
def sampling_grid(theta, gx, gy, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``out[i, y, x, k] = theta[i, k, 0] * gx[x] + (theta[i, k, 1] * gy[y] + theta[i, k, 2])``."""
    n, oh, ow = out.shape[0], out.shape[1], out.shape[2]
    for i in range(n):
        a0, a1, a2 = theta[i, 0, 0], theta[i, 0, 1], theta[i, 0, 2]
        b0, b1, b2 = theta[i, 1, 0], theta[i, 1, 1], theta[i, 1, 2]
        for y in range(oh):
            row_x, row_y = a1 * gy[y] + a2, b1 * gy[y] + b2
            for v in range(ow):
                out[i, y, v, 0] = a0 * gx[v] + row_x
                out[i, y, v, 1] = b0 * gx[v] + row_y


@numba.njit(cache=True, nogil=True)
def channel_sums(x, factor, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``out[i, k] = sum(int64(rint(x[i, k] * factor)))``; ``factor`` in the images' dtype
    (the product is rounded to it, as torch's ``x * factor`` is)."""
    n, c, h, w = x.shape
    for i in range(n):
        for k in range(c):
            acc = np.int64(0)
            for y in range(h):
                for v in range(w):
                    acc += np.int64(np.rint(x[i, k, y, v] * factor))
            out[i, k] = acc
