"""Pipelines: :class:`Compose`, :class:`OneOf`, :class:`RandomApply`.

Streams. A pipeline's stream is ``seeds``; a transform named ``name`` draws from
``seeds[name]`` (its parameters from ``seeds[name]["params"]``, its apply/skip coin from
``seeds[name]["apply"]``); a container's children draw from the container's stream by
their own names (``seeds["cutout"]["erase"]``). Names are given by the user
(``Compose({"flip": HorizontalFlip(), ...})``) or default to the class name, with
``_2``, ``_3``... for repeats, never the position: inserting a transform of another
class leaves every other transform's draws unchanged.

Execution. Sampling walks the tree once (all streams of the pipeline in one vectorised
Philox pass) and yields a flat *program*: the leaf transforms in order, each with its
parameters, where a container's decision is folded into its children's ``applied``
flags. The backends run the program in *stages*: consecutive geometric transforms as
one warp, consecutive colour transforms as one colour matrix, every other transform on
its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from seedwise.augment import _draw
from seedwise.augment._ranges import check_probability, real
from seedwise.augment.base import Params, Transform, _fmt
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import SeedLike, Seeds, as_seeds

__all__ = ["Compose", "OneOf", "RandomApply", "Program", "Stage"]

Item = Union[Transform, "Container"]


def _named(transforms: object, owner: str) -> list[tuple[str, Item]]:
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
        if not isinstance(t, (Transform, Container)):
            raise InvalidTypeError(
                f"{owner}: {name!r} is a {type(t).__name__}, not a seedwise.augment transform; "
                "wrap your own function as a subclass of seedwise.augment.Transform"
            )
    return pairs


def _leaves(item: Item) -> list[Transform]:
    if isinstance(item, Container):
        return [leaf for _, child in item.items for leaf in _leaves(child)]
    return [item]


class Container:
    """A transform made of named transforms."""

    def __init__(self, transforms: object):
        self.items: list[tuple[str, Item]] = _named(transforms, type(self).__name__)

    def _check_optional(self) -> None:
        """Children of a container that may skip them must keep the image size."""
        for name, child in self.items:
            for leaf in _leaves(child):
                if leaf.changes_size:
                    raise InvalidArgumentError(
                        f"{type(self).__name__} cannot hold {type(leaf).__name__} ({name!r}): it changes the image "
                        "size, so skipping it would give images of different sizes; put it directly in Compose"
                    )

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


class RandomApply(Container):
    """Apply all of ``transforms`` (in order) with probability ``p``, or none of them."""

    def __init__(self, transforms: object, p: float = 0.5):
        super().__init__(transforms)
        self.p = check_probability("p", p)
        self._check_optional()

    def _repr_extra(self) -> str:
        return f", p={_fmt(self.p)}"


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

    def _repr_extra(self) -> str:
        return f", weights={_fmt(self.weights)}, p={_fmt(self.p)}"


# -- compiled form ---------------------------------------------------------------------


@dataclass
class _Node:
    name: str
    item: Item
    stream: Seeds
    children: list[_Node] = field(default_factory=list)
    params_slot: int = -1
    apply_slot: int = -1
    choice_slot: int = -1


@dataclass(frozen=True)
class Stage:
    """A run of the program the backends execute as one step."""

    kind: str  # "geometric", "color", "pixel" or "mix"
    positions: tuple[int, ...]  # indices into Program.steps
    fill: float = 0.0  # geometric stages: the fill of pixels from outside the image


@dataclass
class Program:
    """Leaf transforms in order, with their parameters, for one set of positions."""

    steps: list[tuple[Transform, Params, Seeds]]
    stages: tuple[Stage, ...]
    epoch: np.uint64
    indices: np.ndarray


def _compile(owner: Container, stream: Seeds, bare: bool) -> list[_Node]:
    nodes = []
    for name, item in owner.items:
        child_stream = stream if bare else stream[name]
        node = _Node(name, item, child_stream)
        if isinstance(item, Compose) and item.seeds is not None:
            raise InvalidArgumentError(
                f"the nested Compose {name!r} has its own seeds; a nested pipeline draws from its parent's stream "
                f"(seeds[{name!r}]), so build it without seeds="
            )
        if isinstance(item, Container):
            node.children = _compile(item, child_stream, False)
        nodes.append(node)
    return nodes


class Compose(Container):
    """Run ``transforms`` in order, each drawing from its own named stream of ``seeds``.

    Args:
        transforms: a list (names default to the class name, ``_2``... for repeats) or a
            dict ``{name: transform}``.
        seeds: the pipeline's stream, e.g. ``Seeds(42)["augment"]`` (an int is accepted
            as ``Seeds(int)``). Required for a top-level pipeline; a nested ``Compose``
            takes its stream from its parent.

    Call it as ``pipe(images, indices=idx, epoch=e)`` on one uint8 HWC image (``idx`` an
    int), an NHWC uint8 batch, or a torch BCHW tensor (uint8 or float in [0, 1], CPU or
    CUDA) with ``idx`` the dataset index of every sample. The output has the input's
    type, dtype and layout.
    """

    def __init__(self, transforms: object, *, seeds: SeedLike | None = None, _bare: bool = False):
        super().__init__(transforms)
        self.seeds = None if seeds is None else as_seeds(seeds)
        self._bare = _bare
        self._nodes: list[_Node] | None = None
        self._requests: list[tuple[Seeds, int]] = []
        self._stages: tuple[Stage, ...] = ()
        self._has_mixing = any(leaf.kind == "mix" for leaf in _leaves(self))
        if self.seeds is not None:
            self._build()

    # -- compilation ------------------------------------------------------------------

    def _build(self) -> None:
        assert self.seeds is not None
        self._nodes = _compile(self, self.seeds, self._bare)
        requests: list[tuple[Seeds, int]] = []

        def visit(node: _Node) -> None:
            item = node.item
            if isinstance(item, Transform) and item.param_names:
                node.params_slot = len(requests)
                requests.append((node.stream["params"], len(item.param_names)))
            if isinstance(item, (Transform, RandomApply, OneOf)) and 0.0 < item.p < 1.0:
                node.apply_slot = len(requests)
                requests.append((node.stream["apply"], 1))
            if isinstance(item, OneOf) and len(item.items) > 1:
                node.choice_slot = len(requests)
                requests.append((node.stream["choice"], 1))
            for child in node.children:
                visit(child)

        for node in self._nodes:
            visit(node)
        for stream, _ in requests:
            stream.key  # derive (and cache) every key once, here
        self._requests = requests
        self._stages = self._make_stages()

    def _make_stages(self) -> tuple[Stage, ...]:
        leaves = _leaves(self)
        mixes = [leaf for leaf in leaves if leaf.kind == "mix"]
        if len(mixes) > 1:
            owners = [item for _, item in self._walk() if isinstance(item, OneOf)]
            if not any(
                all(leaf.kind == "mix" for leaf in _leaves(o)) and len(_leaves(o)) == len(mixes) for o in owners
            ):
                raise InvalidArgumentError(
                    "a pipeline can mix samples once: use one MixUp or CutMix, or choose between them with "
                    "OneOf([MixUp(...), CutMix(...)])"
                )
        stages: list[Stage] = []
        for pos, leaf in enumerate(leaves):
            kind = leaf.kind
            last = stages[-1] if stages else None
            fusable = kind in ("geometric", "color") or (kind == "mix" and last is not None and last.kind == "mix")
            if last is not None and last.kind == kind and fusable:
                if kind == "geometric" and getattr(leaf, "fill", 0.0) != last.fill:
                    raise InvalidArgumentError(
                        f"consecutive geometric transforms are fused into one warp, so they must share one fill; "
                        f"got fill={last.fill} and fill={leaf.fill} ({leaf!r})"  # type: ignore[attr-defined]
                    )
                stages[-1] = Stage(kind, last.positions + (pos,), last.fill)
            else:
                stages.append(Stage(kind, (pos,), float(getattr(leaf, "fill", 0.0))))
        return tuple(stages)

    def _walk(self) -> list[tuple[str, Item]]:
        out: list[tuple[str, Item]] = []

        def go(c: Container) -> None:
            for name, item in c.items:
                out.append((name, item))
                if isinstance(item, Container):
                    go(item)

        go(self)
        return out

    def _require_seeds(self) -> None:
        if self._nodes is None:
            raise InvalidArgumentError(
                "this Compose has no seeds: pass seeds= (e.g. Compose([...], seeds=Seeds(0)['augment'])), "
                "or nest it in a pipeline that has them"
            )

    # -- sampling ---------------------------------------------------------------------

    def _program(self, indices: Any, epoch: Any, dataset_size: int | None) -> tuple[Program, dict[str, Any]]:
        self._require_seeds()
        idx, ep, _ = _draw.positions(indices, epoch)
        drawn = _draw.uniforms(self._requests, ep, idx)
        n = idx.shape[0]
        steps: list[tuple[Transform, Params, Seeds]] = []

        def evaluate(node: _Node, gate: np.ndarray) -> Any:
            item = node.item
            if isinstance(item, Transform):
                coin = item._coin(drawn[node.apply_slot][:, 0] if node.apply_slot >= 0 else None, n)
                u = drawn[node.params_slot] if node.params_slot >= 0 else np.empty((n, 0))
                params = item._from_uniforms(u, coin & gate, indices=idx, dataset_size=dataset_size)
                steps.append((item, params, node.stream))
                return params
            if isinstance(item, Compose):
                return {child.name: evaluate(child, gate) for child in node.children}
            applied = gate & (
                drawn[node.apply_slot][:, 0] < item.p if node.apply_slot >= 0 else np.full(n, item.p >= 1.0)
            )
            out: dict[str, Any] = {"applied": applied}
            if isinstance(item, OneOf):
                if node.choice_slot >= 0:
                    edges = np.cumsum(item.weights)[:-1]
                    choice = np.searchsorted(edges, drawn[node.choice_slot][:, 0], side="right").astype(np.int64)
                else:
                    choice = np.zeros(n, dtype=np.int64)
                out["choice"] = choice
                out["transforms"] = {c.name: evaluate(c, applied & (choice == j)) for j, c in enumerate(node.children)}
            else:
                out["transforms"] = {c.name: evaluate(c, applied) for c in node.children}
            return out

        all_on = np.ones(n, dtype=bool)
        tree = {node.name: evaluate(node, all_on) for node in self._nodes or ()}
        return Program(steps, self._stages, ep, idx), tree

    def sample(self, *, indices: Any, epoch: int = 0, dataset_size: int | None = None) -> dict[str, Any]:
        """The parameters of every transform for samples ``indices`` of ``epoch``: ``{name: params}``.

        Containers give ``{"applied", "choice" (OneOf), "transforms": {...}}``. Pure: the
        same (seeds, epoch, index) always gives the same parameters, whatever the batch.
        ``dataset_size`` is needed only by MixUp / CutMix (partners are drawn from the dataset).
        """
        return self._program(indices, epoch, dataset_size)[1]

    @property
    def has_mixing(self) -> bool:
        """True when the pipeline holds MixUp or CutMix (see :meth:`apply_mixing`)."""
        return self._has_mixing

    # -- applying ---------------------------------------------------------------------

    def __call__(self, images: Any, *, indices: Any, epoch: int = 0) -> Any:
        if self.has_mixing:
            raise InvalidArgumentError(
                "this pipeline mixes samples (MixUp / CutMix), which needs each sample's partner from the dataset: "
                "wrap the dataset in seedwise.augment.AugmentedDataset, or call pipe.apply_mixing(..., fetch=...)"
            )
        backend, batch, single = _prepare(images, indices)
        program, _ = self._program(indices, epoch, None)
        _check_count(program, batch)
        out = backend.run(program, program.stages, batch)
        return out[0] if single else out

    def apply_mixing(
        self,
        images: Any,
        *,
        indices: Any,
        epoch: int = 0,
        dataset_size: int,
        fetch: Callable[[int], Any],
    ) -> tuple[Any, np.ndarray, np.ndarray]:
        """Run a pipeline that holds MixUp / CutMix.

        ``fetch(j)`` returns the raw image of dataset sample ``j`` (same type and layout as
        one of ``images``). The transforms before the mixing step run on the sample and on
        its partner (each with its own parameters: the partner looks as it does when it
        is itself the sample), the two are mixed, and the transforms after run on the
        result. Returns ``(images, partners, lam)``: ``partners[i]`` is the partner index
        (-1 where no mixing happened) and ``lam[i]`` the weight of sample ``i``'s own label.
        """
        backend, batch, single = _prepare(images, indices)
        program, _ = self._program(indices, epoch, dataset_size)
        _check_count(program, batch)
        n = program.indices.shape[0]
        at = next((k for k, s in enumerate(program.stages) if s.kind == "mix"), None)
        if at is None:
            out = backend.run(program, program.stages, batch)
            return (out[0] if single else out), np.full(n, -1, dtype=np.int64), np.ones(n)
        before, stage, after = program.stages[:at], program.stages[at], program.stages[at + 1 :]
        x = backend.run(program, before, batch)
        partner = np.full(n, -1, dtype=np.int64)
        chosen: list[tuple[Transform, Params] | None] = [None] * n
        for pos in stage.positions:
            leaf, params, _ = program.steps[pos]
            for i in np.flatnonzero(params["applied"]):
                partner[i] = params["partner"][i]
                chosen[i] = (leaf, params)
        lam = np.ones(n)
        mixed = np.flatnonzero(partner >= 0)
        if mixed.size:
            raw = backend.stack([fetch(int(partner[i])) for i in mixed])
            partner_program, _ = self._program(partner[mixed], epoch, dataset_size)
            y = backend.run(partner_program, before, raw)
            x, lam_mixed = backend.mix(x, y, mixed, [chosen[i] for i in mixed])
            lam[mixed] = lam_mixed
        out = backend.run(program, after, x)
        return (out[0] if single else out), partner, lam

    # -- presentation -----------------------------------------------------------------

    def _repr(self, indent: str = "") -> str:
        seeds = f", seeds={self.seeds!r}" if self.seeds is not None else ""
        return f"Compose({self._repr_items(indent)}{seeds})"


def _prepare(images: Any, indices: Any) -> tuple[Any, Any, bool]:
    """The backend for ``images``, the images as a batch, and whether one image was given."""
    if isinstance(images, np.ndarray):
        from seedwise.augment import cpu

        return cpu.BACKEND.prepare(images, indices)
    if type(images).__module__.startswith("torch"):
        from seedwise.augment import torch_backend

        return torch_backend.BACKEND.prepare(images, indices)
    raise InvalidTypeError(
        f"images must be a uint8 NumPy array (HWC, or NHWC for a batch) or a torch tensor (BCHW, or CHW), "
        f"got {type(images).__name__}"
    )


def _check_count(program: Program, batch: Any) -> None:
    if program.indices.shape[0] != len(batch):
        raise InvalidArgumentError(
            f"indices must give one dataset index per image: got {program.indices.shape[0]} indices for {len(batch)} images"
        )
