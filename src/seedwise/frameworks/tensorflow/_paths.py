"""Stable names for the parts of a Keras model: what seedwise keys initial weights and dropout by.

Keras names a layer it was not given a name for from a counter that runs through the whole
process (``dense``, ``dense_1``, ... ``dense_7`` in the fourth model built), and prefixes
variable paths with the model's own such name, so ``variable.path`` changes with how many
models the process built before. seedwise's path of a layer is the chain of layer names
from the model down (the model itself left out), where a layer's name is:

* the name it was given, when it was given one;
* for a layer Keras named itself (a name of the form ``<class in snake case>[_<n>]``):
  the class in snake case, then ``_1``, ``_2``... for the second, third... such layer of
  that class under the same parent, as Keras names them in a fresh process.

A variable's path is its layer's path and its own name (``"encoder/dense_1/kernel"``); a
``SeedGenerator``'s is its layer's path and ``seed_generator`` (``_1``... for more in one
layer). Name the layers whose streams must not move: an automatically named layer is
renamed when a layer of the same class is inserted before it under the same parent
(layers of other classes never rename it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Part", "layers", "variables", "seed_generators"]


@dataclass(frozen=True)
class Part:
    """A variable or a seed generator of a model, with its seedwise path and its layer."""

    path: str
    obj: Any
    layer: Any


def _snake(name: str) -> str:
    """Keras's ``to_snake_case`` (keras.src.utils.naming), repeated to avoid importing Keras internals."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _children(layer: Any) -> list[Any]:
    return list(getattr(layer, "_layers", None) or [])


def _element_names(children: list[Any]) -> list[str]:
    """Each child's path element (see the module docstring)."""
    counts: dict[str, int] = {}
    out = []
    for child in children:
        snake = _snake(type(child).__name__)
        if re.fullmatch(re.escape(snake) + r"(_\d+)?", str(child.name)):
            k = counts.get(snake, 0)
            counts[snake] = k + 1
            out.append(snake if k == 0 else f"{snake}_{k}")
        else:
            out.append(str(child.name))
    return out


def layers(model: Any) -> Iterator[tuple[str, Any]]:
    """``(path, layer)`` for the model (path ``""``) and every layer under it, each once, parents first."""
    seen: set[int] = set()

    def walk(prefix: str, layer: Any) -> Iterator[tuple[str, Any]]:
        seen.add(id(layer))
        yield prefix, layer
        children = _children(layer)
        for name, child in zip(_element_names(children), children):
            if id(child) not in seen:
                yield from walk(f"{prefix}/{name}" if prefix else name, child)

    yield from walk("", model)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def seed_generators(model: Any) -> list[Part]:
    """Every ``keras.random.SeedGenerator`` a layer of ``model`` owns, with its path."""
    out: list[Part] = []
    seen: set[int] = set()
    for prefix, layer in layers(model):
        own = [g for g in getattr(layer, "_seed_generators", None) or [] if id(g) not in seen]
        for k, generator in enumerate(own):
            seen.add(id(generator))
            out.append(Part(_join(prefix, "seed_generator" if k == 0 else f"seed_generator_{k}"), generator, layer))
    return out


def variables(model: Any) -> list[Part]:
    """Every weight variable of ``model`` (not the seed generators' states), with its path, in model order."""
    generator_states = {id(p.obj.state) for p in seed_generators(model)}
    out: list[Part] = []
    seen: set[int] = set(generator_states)
    walked = list(layers(model))
    below: dict[int, set[int]] = {}
    for _, layer in walked:
        below[id(layer)] = {id(v) for child in _children(layer) for v in child.variables}
    for prefix, layer in walked:
        names: dict[str, int] = {}
        for variable in layer.variables:
            if id(variable) in seen or id(variable) in below[id(layer)]:
                continue
            seen.add(id(variable))
            short = str(variable.name).rsplit("/", 1)[-1]
            k = names.get(short, 0)
            names[short] = k + 1
            out.append(Part(_join(prefix, short if k == 0 else f"{short}_{k}"), variable, layer))
    return out
