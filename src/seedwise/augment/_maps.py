"""Per-sample maps of a stage, composed for a whole batch (the torch backend's form).

A stage of the program is a run of geometric or colour transforms; these functions turn
it into one ``(B, 3, 3)`` coordinate map or one ``(B, C, C + 1)`` colour map per sample,
vectorised over the batch. (The CPU backend composes the same maps per image with
Python floats: see ``matrix_one`` / ``affine_one``; a test checks the two agree.)
"""

from __future__ import annotations

import numpy as np

from seedwise.augment.color import Color, apply_affine_to_mean, compose_affine
from seedwise.augment.compose import Program, Stage
from seedwise.augment.geometric import Geometric
from seedwise.errors import InvalidArgumentError

__all__ = ["compose_geometric", "compose_color", "affine_inverse", "integral", "is_identity"]


def compose_geometric(program: Program, stage: Stage, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The stage's forward matrices ``(B, 3, 3)`` (first transform applied first) and output size."""
    m = None
    for pos in stage.positions:
        leaf, params, _ = program.steps[pos]
        assert isinstance(leaf, Geometric)
        step, size = leaf.matrices(params, size)
        m = step if m is None else step @ m
    assert m is not None
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
    if len(stage.positions) == 1:
        leaf, params, _ = program.steps[stage.positions[0]]
        return leaf.affine(params, mean)  # type: ignore[attr-defined]
    n, c = mean.shape
    out = np.zeros((n, c, c + 1))
    out[:, np.arange(c), np.arange(c)] = 1.0
    for pos in stage.positions:
        leaf, params, _ = program.steps[pos]
        assert isinstance(leaf, Color)
        out = compose_affine(leaf.affine(params, apply_affine_to_mean(out, mean)), out)
    return out


def integral(m: np.ndarray, atol: float = 1e-9) -> np.ndarray:
    """Per sample: does the map send pixel centres exactly to pixel centres?"""
    return np.logical_and.reduce((np.abs(m - np.rint(m)) < atol).reshape(len(m), -1), axis=1)


def is_identity(m: np.ndarray, atol: float = 1e-12) -> np.ndarray:
    """Per sample: is the map (coordinates or colour) the identity?"""
    eye = np.eye(m.shape[-2], m.shape[-1])
    return np.logical_and.reduce((np.abs(m - eye) < atol).reshape(len(m), -1), axis=1)
