"""From a pipeline tree to a :class:`~seedwise.augment._program.Program`: the walk that
every transform and container takes part in through three small methods.

An item of a pipeline (a leaf transform or a container) says

* ``_draws()``: the uniforms it draws itself, as ``(stream name, count)`` pairs (a leaf:
  ``("params", k)`` and the apply/skip coin ``("apply", 1)``; ``OneOf``: its coin and
  ``("choice", 1)``); each comes from ``stream[name]`` of the item's own stream;
* ``_children()``: its named children (none for a leaf);
* ``_evaluate(node, ev, gate)``: given its uniforms (``ev.uniforms(node, name)``) and the
  samples its parent lets through (``gate``), append its leaves' steps to the program
  and return its parameters as shown by ``sample()``;
* ``_leaves()``: its leaf transforms, in the order ``_evaluate`` appends their steps.

:func:`compile_tree` gives every item its stream once; :meth:`Evaluation.run` draws all
uniforms of all streams at the requested positions in one call and walks the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from seedwise.augment import _draw
from seedwise.augment._program import Params
from seedwise.seeds import Seeds

__all__ = ["Item", "Node", "Evaluation", "compile_tree", "positions"]


def positions(indices: Any, epoch: Any) -> tuple[np.ndarray, np.uint64, bool]:
    """:func:`seedwise.augment._draw.positions`, which also takes an empty list (an empty batch)."""
    if not isinstance(indices, (int, np.integer)) and hasattr(indices, "__len__") and len(indices) == 0:
        indices = np.empty(0, dtype=np.uint64)
    return _draw.positions(indices, epoch)


@runtime_checkable
class Item(Protocol):
    """A node of a pipeline: a leaf transform, a container or a policy."""

    def _draws(self) -> list[tuple[str, int]]: ...

    def _children(self) -> list[tuple[str, Item]]: ...

    def _evaluate(self, node: Node, ev: Evaluation, gate: np.ndarray) -> Any: ...

    def _leaves(self) -> list[Any]: ...


@dataclass
class Node:
    """An item of a compiled pipeline, with its stream and where its uniforms are."""

    name: str
    item: Item
    stream: Seeds
    slots: dict[str, int]
    children: list[Node] = field(default_factory=list)


def compile_tree(items: list[tuple[str, Item]], stream: Seeds) -> tuple[list[Node], _draw.Requests]:
    """Nodes for ``items`` (item ``name`` draws from ``stream[name]``) and every draw request."""
    requests: list[tuple[Seeds, int]] = []

    def visit(name: str, item: Item, own: Seeds) -> Node:
        slots = {}
        for draw, count in item._draws():
            slots[draw] = len(requests)
            requests.append((own[draw], count))
        node = Node(name, item, own, slots)
        node.children = [visit(child_name, child, own[child_name]) for child_name, child in item._children()]
        return node

    nodes = [visit(name, item, stream[name]) for name, item in items]
    return nodes, _draw.Requests(requests)


@dataclass
class Evaluation:
    """One pass over a compiled tree at the positions ``indices`` of ``epoch``."""

    drawn: list[np.ndarray]
    epoch: np.uint64
    indices: np.ndarray
    dataset_size: int | None
    steps: list[tuple[Any, Params, Seeds]] = field(default_factory=list)
    active: list[bool] = field(default_factory=list)

    @classmethod
    def draw(
        cls,
        requests: _draw.Requests,
        epoch: np.uint64,
        indices: np.ndarray,
        dataset_size: int | None,
    ) -> Evaluation:
        """Every uniform of every stream at ``(epoch, indices)``, in one call."""
        return cls(_draw.uniforms(requests, epoch, indices), epoch, indices, dataset_size)

    @property
    def n(self) -> int:
        return int(self.indices.shape[0])

    def uniforms(self, node: Node, name: str) -> np.ndarray | None:
        """The ``(B, count)`` uniforms ``node`` draws from ``name``, or None if it does not draw them."""
        slot = node.slots.get(name)
        return None if slot is None else self.drawn[slot]

    def run(self, node: Node, gate: np.ndarray) -> Any:
        return node.item._evaluate(node, self, gate)

    def add(self, leaf: Any, params: Params, stream: Seeds, active: bool | None = None) -> None:
        """Append a step to the program (``active``: whether any sample uses it, if known)."""
        self.steps.append((leaf, params, stream))
        self.active.append(bool(np.count_nonzero(params["applied"])) if active is None else active)
