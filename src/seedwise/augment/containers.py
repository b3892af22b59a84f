"""Transforms made of transforms: the :class:`Container` base, :class:`OneOf` and :class:`RandomApply`.

A container's children are named (a dict gives the names; a list names each child by
its class, with ``_2``, ``_3``... for repeats, never by position), and each child draws
from the container's stream by its own name (``seeds["one"]["Rotate"]``). A container
takes part in sampling through the small protocol of :mod:`seedwise.augment._tree`: the
draws it makes itself (an apply/skip coin, a choice) and how it gates its children.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from seedwise.augment._ranges import check_probability, real
from seedwise.augment._tree import Evaluation, Item, Node
from seedwise.augment.base import fmt
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["Container", "OneOf", "RandomApply", "named"]


def named(transforms: object, owner: str) -> list[tuple[str, Any]]:
    """``(name, transform)`` pairs from a mapping (names given) or a sequence (names derived)."""
    if isinstance(transforms, Mapping):
        pairs = list(transforms.items())
        for name, _ in pairs:
            if not isinstance(name, str) or not name:
                raise InvalidTypeError(f"{owner}: transform names must be non-empty strings, got {name!r}")
    elif isinstance(transforms, Sequence) and not isinstance(transforms, (str, bytes)):
        counts: dict[str, int] = {}
        pairs = []
        for t in transforms:
            base = type(t).__name__
            counts[base] = counts.get(base, 0) + 1
            pairs.append((base if counts[base] == 1 else f"{base}_{counts[base]}", t))
    else:
        raise InvalidTypeError(
            f"{owner} takes a list of transforms or a dict {{name: transform}}, got {type(transforms).__name__}"
        )
    if not pairs:
        raise InvalidArgumentError(f"{owner} needs at least one transform")
    for name, t in pairs:
        if not isinstance(t, Item):
            raise InvalidTypeError(
                f"{owner}: {name!r} is a {type(t).__name__}, not a seedwise.augment transform; "
                "wrap your own function as a subclass of seedwise.augment.Transform"
            )
    return pairs


class Container:
    """A transform made of named transforms."""

    def __init__(self, transforms: object):
        self.items: list[tuple[str, Any]] = named(transforms, type(self).__name__)

    def _check_optional(self) -> None:
        """Children of a container that may skip them must keep the image size."""
        for name, child in self.items:
            for leaf in child._leaves():
                if leaf.changes_size:
                    raise InvalidArgumentError(
                        f"{type(self).__name__} cannot hold {type(leaf).__name__} ({name!r}): it changes the image "
                        "size, so skipping it would give images of different sizes; put it directly in Compose"
                    )

    # -- its place in a pipeline (see seedwise.augment._tree) ---------------------------

    def _draws(self) -> list[tuple[str, int]]:
        return []

    def _children(self) -> list[tuple[str, Item]]:
        return list(self.items)

    def _evaluate(self, node: Node, ev: Evaluation, gate: np.ndarray) -> Any:
        raise NotImplementedError

    def _leaves(self) -> list[Any]:
        return [leaf for _, child in self.items for leaf in child._leaves()]

    # -- presentation -----------------------------------------------------------------

    def _repr_items(self, indent: str) -> str:
        lines = []
        for name, child in self.items:
            text = child._repr(indent + "    ") if isinstance(child, Container) else repr(child)
            lines.append(f"{indent}    {name!r}: {text},")
        return "{\n" + "\n".join(lines) + f"\n{indent}}}"

    def _repr_extra(self) -> str:
        return ""

    def _repr(self, indent: str = "") -> str:
        return f"{type(self).__name__}({self._repr_items(indent)}{self._repr_extra()})"

    def __repr__(self) -> str:
        return self._repr()


def _coin(ev: Evaluation, node: Node, p: float) -> np.ndarray:
    u = ev.uniforms(node, "apply")
    return np.full(ev.n, p >= 1.0) if u is None else u[:, 0] < p


class RandomApply(Container):
    """Apply all of ``transforms`` (in order) with probability ``p``, or none of them."""

    def __init__(self, transforms: object, p: float = 0.5):
        super().__init__(transforms)
        self.p = check_probability("p", p)
        self._check_optional()

    def _draws(self) -> list[tuple[str, int]]:
        return [("apply", 1)] if 0.0 < self.p < 1.0 else []

    def _evaluate(self, node: Node, ev: Evaluation, gate: np.ndarray) -> Any:
        applied = gate & _coin(ev, node, self.p)
        return {"applied": applied, "transforms": {c.name: ev.run(c, applied) for c in node.children}}

    def _repr_extra(self) -> str:
        return f", p={fmt(self.p)}"


class OneOf(Container):
    """Apply exactly one of ``transforms`` (chosen with probabilities proportional to
    ``weights``, equal by default), with probability ``p``."""

    def __init__(self, transforms: object, *, weights: Sequence[float] | None = None, p: float = 1.0):
        super().__init__(transforms)
        self.p = check_probability("p", p)
        if weights is None:
            w = np.ones(len(self.items))
        else:
            if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__") or len(weights) != len(self.items):
                raise InvalidArgumentError(
                    f"weights must hold one number per transform ({len(self.items)}), got {weights!r}"
                )
            w = np.array([real(f"weights[{i}]", v) for i, v in enumerate(weights)])
            if np.any(w < 0) or w.sum() <= 0:
                raise InvalidArgumentError(f"weights must be >= 0 with a positive sum, got {list(weights)}")
        self.weights = tuple(float(v) for v in w / w.sum())
        self._check_optional()

    def _draws(self) -> list[tuple[str, int]]:
        out = [("apply", 1)] if 0.0 < self.p < 1.0 else []
        return out + ([("choice", 1)] if len(self.items) > 1 else [])

    def _evaluate(self, node: Node, ev: Evaluation, gate: np.ndarray) -> Any:
        applied = gate & _coin(ev, node, self.p)
        u = ev.uniforms(node, "choice")
        if u is None:
            choice = np.zeros(ev.n, dtype=np.int64)
        else:
            edges = np.cumsum(self.weights)[:-1]
            choice = np.searchsorted(edges, u[:, 0], side="right").astype(np.int64)
        chosen = {c.name: ev.run(c, applied & (choice == j)) for j, c in enumerate(node.children)}
        return {"applied": applied, "choice": choice, "transforms": chosen}

    def _repr_extra(self) -> str:
        return f", weights={fmt(self.weights)}, p={fmt(self.p)}"
