"""Arithmetic of the maps a stage fuses: coordinate maps (2x3 affine) and colour maps
(``C x (C + 1)`` affine), per image with Python floats and per batch with NumPy.

The CPU path composes per image with Python floats (far cheaper than NumPy calls on
arrays of one element when a DataLoader worker augments one sample at a time); the
torch path composes per batch (:func:`compose_geometric`, :func:`compose_color`). A
test checks the two agree.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from seedwise.augment._program import Affine2x3, ColorOp, GeometricOp, Program, Stage
from seedwise.errors import InvalidArgumentError

__all__ = [
    "compose_2x3",
    "compose_colour_rows",
    "identity_colour",
    "compose_affine",
    "apply_affine_to_mean",
    "compose_geometric",
    "compose_color",
    "affine_inverse",
    "integral",
    "is_identity",
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


def compose_colour_rows(second: list[list[float]], first: list[list[float]]) -> list[list[float]]:
    """``second o first`` for colour maps given as C rows of C + 1 floats."""
    c = len(first)
    return [
        [sum(r2[k] * first[k][j] for k in range(c)) for j in range(c)]
        + [sum(r2[k] * first[k][c] for k in range(c)) + r2[c]]
        for r2 in second
    ]


def identity_colour(n: int, c: int) -> np.ndarray:
    """``n`` identity colour maps ``(n, C, C + 1)``."""
    out = np.zeros((n, c, c + 1))
    out[:, np.arange(c), np.arange(c)] = 1.0
    return out


def compose_affine(second: np.ndarray, first: np.ndarray) -> np.ndarray:
    """``second o first`` for ``(B, C, C + 1)`` colour maps."""
    a2, t2 = second[..., :-1], second[..., -1]
    a1, t1 = first[..., :-1], first[..., -1]
    return np.concatenate([a2 @ a1, (a2 @ t1[..., None])[..., 0][..., None] + t2[..., None]], axis=-1)


def apply_affine_to_mean(amap: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """The mean colour after the map (maps are affine, so means follow exactly, clipping aside)."""
    return cast(np.ndarray, (amap[..., :-1] @ mean[..., None])[..., 0] + amap[..., -1])


def compose_geometric(program: Program, stage: Stage, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The stage's forward matrices ``(B, 3, 3)`` (first transform applied first) and output size."""
    m: np.ndarray | None = None
    for pos in stage.positions:
        leaf, params, _ = program.steps[pos]
        step, size = cast(GeometricOp, leaf).matrices(params, size)
        m = step if m is None else step @ m
    if m is None:
        raise InvalidArgumentError("a geometric stage needs at least one transform")
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
    leaves: list[tuple[ColorOp, Any]] = [
        (cast(ColorOp, program.steps[p][0]), program.steps[p][1]) for p in stage.positions
    ]
    if len(leaves) == 1:
        leaf, params = leaves[0]
        return leaf.affine(params, mean)
    n, c = mean.shape
    out = identity_colour(n, c)
    for leaf, params in leaves:
        out = compose_affine(leaf.affine(params, apply_affine_to_mean(out, mean)), out)
    return out


def integral(m: np.ndarray, atol: float = 1e-9) -> np.ndarray:
    """Per sample: does the map send pixel centres exactly to pixel centres?"""
    return cast(np.ndarray, np.logical_and.reduce((np.abs(m - np.rint(m)) < atol).reshape(len(m), -1), axis=1))


def is_identity(m: np.ndarray, atol: float = 1e-12) -> np.ndarray:
    """Per sample: is the map (coordinates or colour) the identity?"""
    eye = np.eye(m.shape[-2], m.shape[-1])
    return cast(np.ndarray, np.logical_and.reduce((np.abs(m - eye) < atol).reshape(len(m), -1), axis=1))
