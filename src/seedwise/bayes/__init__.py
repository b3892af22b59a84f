"""Bayesian and sampling-based ways to reduce (and measure) the effect of randomness.

* :func:`mc_dropout` -- MC dropout with keyed masks, batched over samples
  (:mod:`seedwise.bayes.dropout`); :func:`keyed_dropout` (for training) and
  :class:`KeyedDropoutMode` are the core mechanism of :mod:`seedwise.stateless.dropout`,
  re-exported here;
* :func:`bayesianize`, :func:`kl_divergence`, :func:`elbo_loss` -- mean-field variational
  layers (:mod:`seedwise.bayes.variational`);
* :class:`SWAG` -- stochastic weight averaging Gaussian (:mod:`seedwise.bayes.swag`);
* :class:`LastLayerLaplace` -- last-layer Laplace approximation (:mod:`seedwise.bayes.laplace`).

Names load lazily: importing :mod:`seedwise.bayes` imports none of them (nor torch), and a
submodule that fails to import only breaks the names that come from it. (The MC-dropout
module is called ``dropout``, not ``mc_dropout``: importing a submodule binds its name on
the package, which would shadow the function ``seedwise.bayes.mc_dropout``.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.bayes.dropout import mc_dropout
    from seedwise.bayes.laplace import LastLayerLaplace
    from seedwise.bayes.swag import SWAG, update_bn
    from seedwise.bayes.variational import bayesianize, elbo_loss, kl_divergence, sampling
    from seedwise.stateless.dropout import KeyedDropoutMode, keyed_dropout

_NAMES = {
    "mc_dropout": "seedwise.bayes.dropout",
    "keyed_dropout": "seedwise.stateless.dropout",
    "KeyedDropoutMode": "seedwise.stateless.dropout",
    "bayesianize": "seedwise.bayes.variational",
    "kl_divergence": "seedwise.bayes.variational",
    "elbo_loss": "seedwise.bayes.variational",
    "sampling": "seedwise.bayes.variational",
    "SWAG": "seedwise.bayes.swag",
    "update_bn": "seedwise.bayes.swag",
    "LastLayerLaplace": "seedwise.bayes.laplace",
}

__all__ = [
    "mc_dropout",
    "keyed_dropout",
    "KeyedDropoutMode",
    "bayesianize",
    "kl_divergence",
    "elbo_loss",
    "sampling",
    "SWAG",
    "update_bn",
    "LastLayerLaplace",
]


def __getattr__(name: str) -> Any:
    module_name = _NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'seedwise.bayes' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | {"dropout", "variational", "swag", "laplace"})
