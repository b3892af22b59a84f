"""A direct stacked forward for ensembles of plain ``nn.Sequential`` MLPs.

``vmap(functional_call(...))`` runs any architecture, but for the commonest ensemble
member -- a ``Sequential`` of ``Linear`` layers, elementwise activations and dropout --
its per-op batching rules, the module swap of ``functional_call`` and the gradient layout
copies they cause cost about a quarter of a training step on a CPU. This module runs such
a model on the stacked parameters directly: one ``baddbmm`` per ``Linear`` (all members at
once), the activations on the stacked activations, and dropout under
:class:`~seedwise.bayes.dropout.KeyedDropoutMode` with the K members' keys, one mask slab
per member -- the same masks, in the same call order, as the ``vmap`` path. The result
equals the ``vmap`` path's to float rounding (the bias is added inside the batched product
instead of after it); :class:`seedwise.ensemble.Ensemble` uses it whenever the model
qualifies (:meth:`StackedSequential.build`) and ``vmap`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from seedwise.bayes.dropout import KeyedDropoutMode

__all__ = ["StackedSequential"]

#: parameter-free modules that act elementwise, so they can run on (K, B, ...) unchanged
_ELEMENTWISE = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Tanh, nn.Sigmoid,
    nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Softplus, nn.Softsign, nn.Tanhshrink, nn.LogSigmoid, nn.Identity,
    nn.Dropout, nn.AlphaDropout,
)  # fmt: skip


class StackedSequential:
    """The layers of a qualifying ``Sequential``, run on stacked ``(K, ...)`` parameters."""

    def __init__(self, layers: list[tuple[str, nn.Module]]):
        self.layers = layers

    @classmethod
    def build(cls, model: nn.Module) -> StackedSequential | None:
        """The plan for ``model``, or ``None`` if it is not a plain Sequential MLP.

        Qualifies: (nested) ``nn.Sequential`` s whose leaves are ``nn.Linear``, ``nn.Flatten``
        and parameter-free elementwise modules (activations, ``nn.Dropout``,
        ``nn.AlphaDropout``), with no buffers. Anything else -- convolutions, normalisation,
        custom forwards, channel-wise dropout -- runs through ``vmap``.
        """
        if any(True for _ in model.buffers()):
            return None
        layers: list[tuple[str, nn.Module]] = []
        if not cls._collect(model, "", layers) or not any(isinstance(m, nn.Linear) for _, m in layers):
            return None
        return cls(layers)

    @classmethod
    def _collect(cls, module: nn.Module, prefix: str, out: list[tuple[str, nn.Module]]) -> bool:
        if type(module) is nn.Sequential:
            return all(cls._collect(child, f"{prefix}{name}.", out) for name, child in module.named_children())
        if type(module) is nn.Linear or type(module) is nn.Flatten or type(module) in _ELEMENTWISE:
            out.append((prefix, module))
            return True
        return False

    def __call__(
        self,
        params: Mapping[str, torch.Tensor],
        x: torch.Tensor,
        *,
        k: int,
        per_member: bool,
        keys: np.ndarray | None,
        position: int,
    ) -> torch.Tensor:
        """All members' outputs ``(K, B, ...)``; ``keys``: the ``(K, 4)`` uint32 host dropout keys."""
        h = x if per_member else x.unsqueeze(0).expand((k,) + tuple(x.shape))
        with KeyedDropoutMode(keys, position):
            for prefix, layer in self.layers:
                if type(layer) is nn.Linear:
                    h = _linear(h, params[prefix + "weight"], params.get(prefix + "bias"))
                elif type(layer) is nn.Flatten:
                    start, end = (d if d < 0 else d + 1 for d in (layer.start_dim, layer.end_dim))
                    h = h.flatten(start, end)
                else:
                    h = layer(h)
        return h


def _linear(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.linear`` per member: ``h`` ``(K, B, ..., in)``, ``weight`` ``(K, out, in)``."""
    lead = h.shape[1:-1]
    flat = h.reshape(h.shape[0], -1, h.shape[-1])
    if bias is None:
        out = torch.bmm(flat, weight.transpose(1, 2))
    else:
        out = torch.baddbmm(bias.unsqueeze(1), flat, weight.transpose(1, 2))
    return out.view((h.shape[0],) + tuple(lead) + (weight.shape[1],))
