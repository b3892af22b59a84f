"""Arithmetic of the maps a stage fuses: coordinate maps (2x3 affine) and colour maps
(``C x (C + 1)`` affine), per image with Python floats and per batch with NumPy.

Each per-batch function evaluates the same expressions, in the same order, as its
per-image twin, so that the two give the same bits (IEEE arithmetic is exactly rounded
elementwise; only ``math`` functions are not NumPy's, hence :func:`elementwise`). That
is what lets the CPU path compose one image's maps with Python floats (far cheaper than
NumPy calls on arrays of one element, when a DataLoader worker augments one sample at a
time) and a batch's maps with NumPy, and still give every sample the same pixels in any
batch. Tests check the twins bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

from seedwise.augment._program import Affine2x3, ColorOp, GeometricOp, LutOp, Program, Stage
from seedwise.errors import InvalidArgumentError

__all__ = [
    "elementwise",
    "compose_2x3",
    "compose_2x3_batch",
    "invert_2x3",
    "invert_2x3_batch",
    "compose_colour_batch",
    "mean_after",
    "mean_after_batch",
    "compose_colour_rows",
    "identity_colour",
    "compose_geometric",
    "compose_color",
    "affine_inverse",
    "integral",
    "is_identity",
    "lut_ops",
    "compose_tables",
    "histogram_through",
]


def compose_2x3(second: Affine2x3, first: Affine2x3) -> Affine2x3:
    """``second o first`` for affine maps given as six floats (row-major 2x3)."""
    a2, b2, c2, d2, e2, f2 = second
    a1, b1, c1, d1, e1, f1 = first
    return (
        a2 * a1 + b2 * d1,
        a2 * b1 + b2 * e1,
        a2 * c1 + b2 * f1 + c2,
        d2 * a1 + e2 * d1,
        d2 * b1 + e2 * e1,
        d2 * c1 + e2 * f1 + f2,
    )


def elementwise(fn: Callable[[float], float], x: np.ndarray) -> np.ndarray:
    """``fn`` (a ``math`` function) on each element of a 1-D array: the same bits as the
    per-image path's ``fn(x)``, which NumPy's own ``cos``, ``tan``... do not promise."""
    return np.fromiter(map(fn, x.tolist()), dtype=np.float64, count=x.shape[0])


def compose_2x3_batch(second: np.ndarray, first: np.ndarray) -> np.ndarray:
    """:func:`compose_2x3` for ``(B, 3, 3)`` maps (last row 0, 0, 1), elementwise."""
    a2, b2, c2, d2, e2, f2 = (second[:, r, k] for r in (0, 1) for k in (0, 1, 2))
    a1, b1, c1, d1, e1, f1 = (first[:, r, k] for r in (0, 1) for k in (0, 1, 2))
    out = np.zeros_like(first)
    out[:, 0, 0] = a2 * a1 + b2 * d1
    out[:, 0, 1] = a2 * b1 + b2 * e1
    out[:, 0, 2] = a2 * c1 + b2 * f1 + c2
    out[:, 1, 0] = d2 * a1 + e2 * d1
    out[:, 1, 1] = d2 * b1 + e2 * e1
    out[:, 1, 2] = d2 * c1 + e2 * f1 + f2
    out[:, 2, 2] = 1.0
    return out


def invert_2x3(m: Affine2x3) -> Affine2x3:
    """The inverse map, computed as ``cv2.invertAffineTransform`` does (bit for bit; a
    singular map gives zeros, as there)."""
    a, b, c, d, e, f = m
    det = a * e - b * d
    r = 1.0 / det if det != 0.0 else 0.0
    a11, a22, a12, a21 = e * r, a * r, -b * r, -d * r
    return (a11, a12, -a11 * c - a12 * f, a21, a22, -a21 * c - a22 * f)


def invert_2x3_batch(m: np.ndarray) -> np.ndarray:
    """:func:`invert_2x3` of ``(B, 3, 3)`` maps, as ``(B, 2, 3)`` inverse maps for ``cv2.warpAffine``."""
    a, b, c, d, e, f = (m[:, r, k] for r in (0, 1) for k in (0, 1, 2))
    det = a * e - b * d
    nonzero = det != 0.0
    r = np.where(nonzero, 1.0 / np.where(nonzero, det, 1.0), 0.0)
    a11, a22, a12, a21 = e * r, a * r, -b * r, -d * r
    out = np.empty((m.shape[0], 2, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 0, 2] = a11, a12, -a11 * c - a12 * f
    out[:, 1, 0], out[:, 1, 1], out[:, 1, 2] = a21, a22, -a21 * c - a22 * f
    return out


def compose_colour_rows(second: list[list[float]], first: list[list[float]]) -> list[list[float]]:
    """``second o first`` for colour maps given as C rows of C + 1 floats."""
    c = len(first)
    return [
        [sum(r2[k] * first[k][j] for k in range(c)) for j in range(c)]
        + [sum(r2[k] * first[k][c] for k in range(c)) + r2[c]]
        for r2 in second
    ]


def compose_colour_batch(second: np.ndarray, first: np.ndarray) -> np.ndarray:
    """:func:`compose_colour_rows` for ``(B, C, C + 1)`` maps, elementwise."""
    c = first.shape[1]
    out: np.ndarray = second[:, :, 0:1] * first[:, 0:1, :]
    for k in range(1, c):
        out = out + second[:, :, k : k + 1] * first[:, k : k + 1, :]
    out[:, :, c] += second[:, :, c]
    return out


def mean_after(step: list[list[float]], mean: list[float]) -> list[float]:
    """The mean colour after the map ``step`` (maps are affine, so means follow exactly, clipping aside)."""
    c = len(mean)
    return [sum(r[j] * mean[j] for j in range(c)) + r[c] for r in step]


def mean_after_batch(step: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """:func:`mean_after` for ``(B, C, C + 1)`` maps and ``(B, C)`` means, elementwise."""
    c = mean.shape[1]
    out = step[:, :, 0] * mean[:, 0:1]
    for j in range(1, c):
        out = out + step[:, :, j] * mean[:, j : j + 1]
    return cast(np.ndarray, out + step[:, :, c])


def identity_colour(n: int, c: int) -> np.ndarray:
    """``n`` identity colour maps ``(n, C, C + 1)``."""
    out = np.zeros((n, c, c + 1))
    out[:, np.arange(c), np.arange(c)] = 1.0
    return out


def compose_geometric(program: Program, stage: Stage, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The stage's forward matrices ``(B, 3, 3)`` (first transform applied first) and output size."""
    m: np.ndarray | None = None
    n = 0
    for pos in stage.positions:
        leaf, params, _ = program.steps[pos]
        op = cast(GeometricOp, leaf)
        n = len(params["applied"])
        if not (program.active[pos] or op.changes_size):
            continue  # the identity for every sample: composing with it changes nothing
        step, size = op.matrices(params, size)
        m = step if m is None else compose_2x3_batch(step, m)
    if m is None:
        m = np.repeat(np.eye(3)[None], n, axis=0)
    return m, size


def affine_inverse(m: np.ndarray) -> np.ndarray:
    """Inverses of ``(B, 3, 3)`` affine matrices (last row 0, 0, 1), in closed form."""
    a, b, tx = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    c, d, ty = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    det = a * d - b * c
    if np.any(det == 0):
        raise InvalidArgumentError("a geometric transform collapsed the image (singular matrix); check scale and shear")
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    out = np.zeros_like(m)
    out[:, 0, 0], out[:, 0, 1], out[:, 0, 2] = ia, ib, -(ia * tx + ib * ty)
    out[:, 1, 0], out[:, 1, 1], out[:, 1, 2] = ic, id_, -(ic * tx + id_ * ty)
    out[:, 2, 2] = 1.0
    return out


def compose_color(program: Program, stage: Stage, mean: np.ndarray) -> np.ndarray:
    """The stage's colour maps ``(B, C, C + 1)``; ``mean`` is the input's per-channel mean (units of 1.0)."""
    out: np.ndarray | None = None
    for pos in stage.positions:
        leaf, params, _ = program.steps[pos]
        if not program.active[pos]:
            continue  # the identity for every sample
        step = cast(ColorOp, leaf).affine(params, mean)
        out = step if out is None else compose_colour_batch(step, out)
        mean = mean_after_batch(step, mean)
    return identity_colour(*mean.shape) if out is None else out


def integral(m: np.ndarray, atol: float = 1e-9) -> np.ndarray:
    """Per sample: does the map send pixel centres exactly to pixel centres?"""
    close = np.abs(m - np.rint(m)) < atol
    return cast(np.ndarray, np.logical_and.reduce(close.reshape(len(m), int(np.prod(m.shape[1:]))), axis=1))


def is_identity(m: np.ndarray, atol: float = 1e-12) -> np.ndarray:
    """Per sample: is the map (coordinates or colour) the identity?"""
    close = np.abs(m - np.eye(m.shape[-2], m.shape[-1])) < atol
    return cast(np.ndarray, np.logical_and.reduce(close.reshape(len(m), int(np.prod(m.shape[1:]))), axis=1))


def lut_ops(program: Program, stage: Stage) -> list[tuple[LutOp, Any]]:
    """The stage's lookup-table ops that apply to at least one sample, with their params."""
    steps = program.steps
    return [(steps[p][0], steps[p][1]) for p in stage.positions if program.active[p]]


def histogram_through(hist: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The ``(B, C, 256)`` histograms of images with histograms ``hist`` after mapping them
    through ``table`` ``(B, C, 256)`` (exact integer counts)."""
    n, c = hist.shape[:2]
    table = np.broadcast_to(table, (n, c, 256))
    rows = np.arange(n * c)[:, None] * 256
    flat = np.bincount((rows + table.reshape(n * c, 256)).ravel(), weights=hist.reshape(-1), minlength=n * c * 256)
    return flat.astype(np.int64).reshape(n, c, 256)


def compose_tables(
    ops: list[tuple[LutOp, Any]], n: int, c: int, histogram: Callable[[], np.ndarray] | None
) -> np.ndarray:
    """The ``(B, C, 256)`` uint8 table of the ops in order; ``histogram()`` gives the input
    images' ``(B, C, 256)`` histograms, asked for only when an op needs them."""
    total: np.ndarray | None = None
    hist0: np.ndarray | None = None
    for op, params in ops:
        hist = None
        if op.needs_histogram:
            if histogram is None:
                raise InvalidArgumentError(f"{type(op).__name__} needs the images' histograms")
            hist0 = histogram() if hist0 is None else hist0
            hist = hist0 if total is None else histogram_through(hist0, total)
        t = np.broadcast_to(op.tables(params, hist), (n, c, 256))
        total = t if total is None else np.take_along_axis(t, total.astype(np.intp), axis=2)
    if total is None:
        total = np.broadcast_to(np.arange(256, dtype=np.uint8), (n, c, 256))
    return np.array(total, dtype=np.uint8)  # an owned, writable copy (a table may be a broadcast view)
