"""The transform protocol: ``sample`` draws parameters as data, ``apply`` uses them.

A transform never holds randomness. :meth:`Transform.sample` turns positions
``(epoch, indices)`` and a stream into a dict of NumPy arrays, one row per sample, drawn
statelessly: uniforms from ``stream["params"]`` at counter ``(epoch, index)``, and the
apply/skip coin from ``stream["apply"]``, so changing ``p`` never changes the parameters.
The backends (:mod:`seedwise.augment.cpu`, :mod:`seedwise.augment.torch_backend`) then
apply those parameters deterministically.

Every params dict holds ``"applied"`` (bool, per sample); a sample whose transform is
not applied still gets parameters (they are simply not used).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from seedwise.augment import _draw
from seedwise.augment._ranges import check_probability
from seedwise.seeds import SeedLike, as_seeds

__all__ = ["Transform", "Params", "KINDS"]

Params = dict[str, np.ndarray]

#: How a transform acts on pixels, which decides how the backends fuse it:
#: ``geometric`` (an affine map of coordinates, fused into one warp), ``color`` (an
#: affine map of each pixel's colour, fused into one colour matrix), ``pixel`` (anything
#: else, applied on its own) and ``mix`` (blends a sample with a partner sample).
KINDS = ("geometric", "color", "pixel", "mix")


class Transform:
    """Base class of a leaf transform.

    Subclasses set :attr:`kind`, :attr:`param_names` (the uniforms they draw per sample,
    in order: this order is part of the reproducibility contract) and implement
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
        idx, ep, _ = _draw.positions(indices, epoch)
        n = idx.shape[0]
        u = (
            _draw.uniforms([(stream["params"], len(self.param_names))], ep, idx)[0]
            if self.param_names
            else np.empty((n, 0))
        )
        coin = _draw.uniforms([(stream["apply"], 1)], ep, idx)[0][:, 0] if 0.0 < self.p < 1.0 else None
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

    def __call__(self, images: Any, *, indices: Any, epoch: int = 0, seeds: SeedLike) -> Any:
        """Apply this transform alone, with ``seeds`` as its stream (see :class:`~seedwise.augment.Compose`)."""
        from seedwise.augment.compose import Compose

        return Compose([self], seeds=as_seeds(seeds), _bare=True)(images, indices=indices, epoch=epoch)

    # -- presentation -----------------------------------------------------------------

    def _repr_args(self) -> dict[str, Any]:
        return {"p": self.p}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in self._repr_args().items())
        return f"{type(self).__name__}({args})"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value + 0.0:g}"  # + 0.0 turns -0.0 into 0.0
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return repr(value)
