"""The transform protocol: ``sample`` draws parameters as data, the backends apply them.

A transform never holds randomness. :meth:`Transform.sample` turns positions
``(epoch, indices)`` and a stream into a dict of NumPy arrays, one row per sample, drawn
statelessly: uniforms from ``stream["params"]`` at counter ``(epoch, index)``, and the
apply/skip coin from ``stream["apply"]``, so changing ``p`` never changes the parameters.
How the parameters act on pixels is the transform's own business too: it declares a
:attr:`~Transform.kind` and implements that kind's methods (see
:mod:`seedwise.augment._program`), which the backends call.

Every params dict holds ``"applied"`` (bool, per sample); a sample whose transform is
not applied still gets parameters (they are simply not used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from seedwise.augment import _draw
from seedwise.augment._program import KINDS, Params, Program, make_stages
from seedwise.augment._ranges import check_probability
from seedwise.augment._run import prepare, run
from seedwise.augment._tree import positions
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import SeedLike, Seeds, as_seeds

if TYPE_CHECKING:
    from seedwise.augment._tree import Evaluation, Item, Node

__all__ = ["Transform", "Params", "KINDS", "fmt", "has_params_one"]


class Transform:
    """Base class of a leaf transform.

    Subclasses set :attr:`kind` (and implement its methods, see
    :mod:`seedwise.augment._program`), :attr:`param_names` (the uniforms they draw per
    sample, in order: this order is part of the reproducibility contract) and
    :meth:`_from_uniforms`.
    """

    kind: ClassVar[str] = "pixel"
    #: Names of the uniforms drawn from ``stream["params"]``, in draw order.
    param_names: ClassVar[tuple[str, ...]] = ()
    #: True when the output size differs from the input size (crops).
    changes_size: ClassVar[bool] = False

    def __init__(self, p: float = 1.0):
        self.p = check_probability("p", p)

    # -- the protocol -----------------------------------------------------------------

    def sample(self, indices: Any, epoch: int = 0, *, seeds: SeedLike, dataset_size: int | None = None) -> Params:
        """This transform's parameters for the samples ``indices`` of ``epoch``, from stream ``seeds``.

        A pure function of (``seeds``, ``epoch``, each index): sample ``i`` gets the same
        parameters whatever else is in the batch.
        """
        stream = as_seeds(seeds)
        idx, ep, _ = positions(indices, epoch)
        return self._sample_at(stream, ep, idx, dataset_size)

    def _sample_at(self, stream: Seeds, ep: np.uint64, idx: np.ndarray, dataset_size: int | None) -> Params:
        requests = [(stream[name], count) for name, count in self._draws()]
        drawn = dict(zip((name for name, _ in self._draws()), _draw.uniforms(requests, ep, idx)))
        n = idx.shape[0]
        coin = drawn["apply"][:, 0] if "apply" in drawn else None
        u = drawn.get("params", np.empty((n, 0)))
        return self._from_uniforms(u, self._coin(coin, n), indices=idx, dataset_size=dataset_size)

    def _coin(self, u: np.ndarray | None, n: int) -> np.ndarray:
        """Apply/skip per sample from the ``apply`` stream's uniforms (not drawn when p is 0 or 1)."""
        if u is None:
            return np.full(n, self.p >= 1.0)
        return u < self.p

    def _from_uniforms(
        self, u: np.ndarray, applied: np.ndarray, *, indices: np.ndarray, dataset_size: int | None
    ) -> Params:
        """Map uniforms ``u`` of shape ``(B, len(param_names))`` to parameters."""
        return {"applied": applied}

    def _params_one(self, u: list[float], applied: bool) -> dict[str, Any]:
        """One sample's parameters as Python scalars, from its uniforms as Python floats:
        each entry of :meth:`_from_uniforms` for a batch of one, the same bits.

        The per-image path (:mod:`seedwise.augment._one`) uses it when the class that
        defines it is the one that defines :meth:`_from_uniforms`, or a subclass of it
        (:func:`has_params_one`); otherwise that path is not taken.
        """
        return {"applied": applied}

    def __call__(self, images: Any, *, indices: Any, epoch: int = 0, seeds: SeedLike) -> Any:
        """Apply this transform alone, with ``seeds`` as its stream (its parameters come from
        ``seeds["params"]``, as :meth:`sample` gives them)."""
        if self.kind == "mix":
            raise InvalidArgumentError(
                f"{type(self).__name__} mixes samples, which needs each sample's partner from the dataset: "
                "wrap the dataset in seedwise.augment.AugmentedDataset, or use Compose.apply_mixing(..., fetch=...)"
            )
        stream = as_seeds(seeds)
        backend, batch, single = prepare(images)
        idx, ep, _ = positions(indices, epoch)
        params = self._sample_at(stream, ep, idx, None)
        return run(backend, Program([(self, params, stream)], make_stages([self]), ep, idx), batch, single)

    # -- its place in a pipeline (see seedwise.augment._tree) ---------------------------

    def _draws(self) -> list[tuple[str, int]]:
        out = [("params", len(self.param_names))] if self.param_names else []
        if 0.0 < self.p < 1.0:
            out.append(("apply", 1))
        return out

    def _children(self) -> list[tuple[str, Item]]:
        return []

    def _evaluate(self, node: Node, ev: Evaluation, gate: np.ndarray) -> Params:
        coin = ev.uniforms(node, "apply")
        u = ev.uniforms(node, "params")
        if coin is not None:
            applied = (coin[:, 0] < self.p) & gate
        else:
            applied = gate.copy() if self.p >= 1.0 else np.zeros(ev.n, dtype=bool)
        params = self._from_uniforms(
            np.empty((ev.n, 0)) if u is None else u, applied, indices=ev.indices, dataset_size=ev.dataset_size
        )
        ev.add(self, params, node.stream)
        return params

    def _leaves(self) -> list[Any]:
        return [self]

    # -- presentation -----------------------------------------------------------------

    def _repr_args(self) -> dict[str, Any]:
        return {"p": self.p}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={fmt(v)}" for k, v in self._repr_args().items())
        return f"{type(self).__name__}({args})"


def has_params_one(leaf: object) -> bool:
    """Whether ``leaf``'s :meth:`Transform._params_one` is the scalar form of its ``_from_uniforms``
    (defined at or below it in the class hierarchy)."""
    for klass in type(leaf).__mro__:
        if "_params_one" in vars(klass):
            return True
        if "_from_uniforms" in vars(klass):
            return False
    return False


def fmt(value: Any) -> str:
    """A value as it reads in a constructor call (``0.5``, ``(-15, 15)``)."""
    if isinstance(value, float):
        return f"{value + 0.0:g}"  # + 0.0 turns -0.0 into 0.0
    if isinstance(value, tuple):
        return "(" + ", ".join(fmt(v) for v in value) + ")"
    return repr(value)
