"""Pipelines: :class:`Compose` (and the containers it holds, :class:`OneOf` and :class:`RandomApply`).

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

from collections.abc import Callable
from typing import Any

import numpy as np

from seedwise.augment import _draw
from seedwise.augment._one import OnePath
from seedwise.augment._program import Params, Program, Stage, make_stages
from seedwise.augment._run import check_count, prepare, run
from seedwise.augment._tree import Evaluation, Node, compile_tree, positions
from seedwise.augment.containers import Container, OneOf, RandomApply
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import SeedLike, Seeds, as_seeds

__all__ = ["Compose", "OneOf", "RandomApply", "Program", "Stage"]


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

    def __init__(self, transforms: object, *, seeds: SeedLike | None = None):
        super().__init__(transforms)
        self.seeds = None if seeds is None else as_seeds(seeds)
        self._nodes: list[Node] | None = None
        self._requests = _draw.Requests([])
        self._stages: tuple[Stage, ...] = ()
        self._one: OnePath | None = None  # the per-image path, for pipelines it serves
        self._has_mixing = any(leaf.kind == "mix" for leaf in self._leaves())
        if self.seeds is not None:
            self._build(self.seeds)

    # -- compilation ------------------------------------------------------------------

    def _build(self, seeds: Seeds) -> None:
        for name, item in self._walk():
            if isinstance(item, Compose) and item.seeds is not None:
                raise InvalidArgumentError(
                    f"the nested Compose {name!r} has its own seeds; a nested pipeline draws from its parent's "
                    f"stream (seeds[{name!r}]), so build it without seeds="
                )
        self._check_mixing()
        self._nodes, self._requests = compile_tree(self.items, seeds)
        self._stages = make_stages(self._leaves())
        self._one = OnePath.build(self._nodes, self._requests, self._stages)

    def _check_mixing(self) -> None:
        mixes = [leaf for leaf in self._leaves() if leaf.kind == "mix"]
        if len(mixes) <= 1:
            return
        choosers = [item for _, item in self._walk() if isinstance(item, OneOf)]
        if not any(
            all(leaf.kind == "mix" for leaf in o._leaves()) and len(o._leaves()) == len(mixes) for o in choosers
        ):
            raise InvalidArgumentError(
                "a pipeline can mix samples once: use one MixUp or CutMix, or choose between them with "
                "OneOf([MixUp(...), CutMix(...)])"
            )

    def _walk(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []

        def go(c: Container) -> None:
            for name, item in c.items:
                out.append((name, item))
                if isinstance(item, Container):
                    go(item)

        go(self)
        return out

    def _evaluate(self, node: Node, ev: Evaluation, gate: np.ndarray) -> Any:
        return {c.name: ev.run(c, gate) for c in node.children}

    # -- sampling ---------------------------------------------------------------------

    def _program(self, indices: Any, epoch: Any, dataset_size: int | None) -> tuple[Program, dict[str, Any]]:
        if self._nodes is None:
            raise InvalidArgumentError(
                "this Compose has no seeds: pass seeds= (e.g. Compose([...], seeds=Seeds(0)['augment'])), "
                "or nest it in a pipeline that has them"
            )
        idx, ep, _ = positions(indices, epoch)
        ev = Evaluation.draw(self._requests, ep, idx, dataset_size)
        all_on = np.ones(ev.n, dtype=bool)
        tree = {node.name: ev.run(node, all_on) for node in self._nodes}
        return Program(ev.steps, self._stages, ep, idx, ev.active), tree

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
        one = self._one
        if (
            one is not None
            and type(indices) is int
            and type(epoch) is int
            and 0 <= indices < 2**64
            and 0 <= epoch < 2**64
            and one.accepts(images)
        ):
            return one(images, indices, epoch)  # one image, as a Dataset.__getitem__ asks: same pixels, less Python
        backend, batch, single = prepare(images)
        program, _ = self._program(indices, epoch, None)
        return run(backend, program, batch, single)

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
        backend, batch, single = prepare(images)
        program, _ = self._program(indices, epoch, dataset_size)
        check_count(program, batch)
        n = program.indices.shape[0]
        at = next((k for k, s in enumerate(program.stages) if s.kind == "mix"), None)
        if at is None:
            out = backend.run(program, program.stages, batch)
            return (out[0] if single else out), np.full(n, -1, dtype=np.int64), np.ones(n)
        before, stage, after = program.stages[:at], program.stages[at], program.stages[at + 1 :]
        x = backend.run(program, before, batch)
        partner = np.full(n, -1, dtype=np.int64)
        chosen: list[tuple[Any, Params] | None] = [None] * n
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
            x, lam_mixed = backend.mix(x, y, mixed, [c for c in (chosen[i] for i in mixed) if c is not None])
            lam[mixed] = lam_mixed
        out = backend.run(program, after, x)
        return (out[0] if single else out), partner, lam

    # -- presentation -----------------------------------------------------------------

    def _repr(self, indent: str = "") -> str:
        seeds = f", seeds={self.seeds!r}" if self.seeds is not None else ""
        return f"Compose({self._repr_items(indent)}{seeds})"
