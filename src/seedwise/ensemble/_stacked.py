"""A direct stacked forward for ensembles of plain ``nn.Sequential`` networks.

``vmap(functional_call(...))`` runs any architecture, but for the commonest ensemble
members -- a ``Sequential`` of ``Linear`` and convolution layers, pooling, batch norm,
elementwise activations and dropout -- its per-op batching rules, the module swap of
``functional_call`` and the memory-layout changes between them cost a quarter or more of a
training step on a CPU. This module runs such a model on the stacked parameters directly,
keeping the activations in one of two layouts:

* **stacked** ``(K, B, ...)``: the members along dim 0. ``Linear`` is one ``baddbmm`` of
  all members; ``Flatten`` shifts its dimensions by one.
* **grouped** ``(B, K*C, ...)``: member ``k``'s channels are ``[k*C, (k+1)*C)``. A
  convolution of all members is one grouped convolution (``groups = K * groups``), pooling
  runs per channel, and batch norm over ``K*C`` channels is each member's own batch norm
  (its running statistics are views of the stacked buffers, updated in place).

Elementwise activations run in either layout. Dropout runs under
:class:`~seedwise.stateless.dropout.KeyedDropoutMode` with the K members' keys on the stacked
view, one mask slab per member: the same masks, in the same call order, as the ``vmap``
path. Results equal the ``vmap`` path's to float rounding; the vectorised engine
(:class:`~seedwise.ensemble._vectorized.VectorizedEngine`) uses this whenever the model
qualifies (:meth:`StackedSequential.build`) and ``vmap`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seedwise.stateless.dropout import KeyedDropoutMode

__all__ = ["StackedSequential"]

#: parameter-free modules that act elementwise: they run on either layout unchanged
_ELEMENTWISE = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Tanh, nn.Sigmoid,
    nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Softplus, nn.Softsign, nn.Tanhshrink, nn.LogSigmoid, nn.Identity,
)  # fmt: skip
#: dropout modules: run on the stacked view under the keyed mode
_DROPOUT = (nn.Dropout, nn.AlphaDropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.FeatureAlphaDropout)
_CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV: dict[type[nn.Module], Callable[..., torch.Tensor]] = {
    nn.Conv1d: F.conv1d,
    nn.Conv2d: F.conv2d,
    nn.Conv3d: F.conv3d,
}
#: parameter-free modules that act on each channel separately: they run on the grouped layout
_PER_CHANNEL = (
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.LPPool1d, nn.LPPool2d,
)  # fmt: skip
_NORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
#: the per-member input ranks with which a channel layer's grouped form equals its own:
#: batched inputs (B, C, ...) only (an unbatched (C, ...) input runs through vmap)
_BATCHED_RANKS: dict[type[nn.Module], tuple[int, ...]] = {
    **dict.fromkeys(
        (nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d, nn.LPPool1d), (3,)
    ),
    **dict.fromkeys(
        (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.LPPool2d), (4,)
    ),
    **dict.fromkeys((nn.Conv3d, nn.MaxPool3d, nn.AvgPool3d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool3d), (5,)),
    nn.BatchNorm1d: (2, 3),
    nn.BatchNorm2d: (4,),
    nn.BatchNorm3d: (5,),
}


def _has_hooks(module: nn.Module) -> bool:
    """Module hooks would change what the module computes; the stacked forward never calls them."""
    return any(
        getattr(m, name, None)
        for m in module.modules()
        for name in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    )


def _global_hooks() -> bool:
    from torch.nn.modules import module as torch_module

    return any(
        getattr(torch_module, name, None)
        for name in ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                     "_global_backward_pre_hooks", "_global_forward_hooks_always_called")
    )  # fmt: skip


class StackedSequential:
    """The layers of a qualifying ``Sequential``, run on stacked ``(K, ...)`` parameters."""

    def __init__(self, layers: list[tuple[str, nn.Module]]):
        self.layers = layers
        self._supported: dict[tuple[tuple[int, ...], bool], bool] = {}

    @classmethod
    def build(cls, model: nn.Module) -> StackedSequential | None:
        """The plan for ``model``, or ``None`` if ``model`` must run through ``vmap``.

        Qualifies: (nested) ``nn.Sequential`` s whose leaves are ``nn.Linear``,
        ``nn.Conv1d/2d/3d`` (zero padding), ``nn.BatchNorm1d/2d/3d``, ``nn.Flatten``,
        max/average/adaptive pooling and ``LPPool1d/2d`` (without ``return_indices``), the
        dropout modules and parameter-free elementwise activations, with no module hooks
        and no parameter shared between modules. Anything else -- custom forwards, other
        normalisations, attention, transposed convolutions -- runs through ``vmap``, and so
        does an input this plan does not support (:meth:`supports`).
        """
        layers: list[tuple[str, nn.Module]] = []
        if not cls._collect(model, "", layers) or _has_hooks(model):
            return None
        if len({id(m) for _, m in layers}) < len(layers):  # a module used twice (shared weights)
            return None
        tensors: list[torch.Tensor] = [t for _, t in model.named_parameters(remove_duplicate=False)]
        tensors += [t for _, t in model.named_buffers(remove_duplicate=False)]
        if len({id(t) for t in tensors}) < len(tensors):  # a parameter tied between two modules
            return None
        if not any(isinstance(m, (nn.Linear, *_CONV_TYPES)) for _, m in layers):
            return None
        return cls(layers)

    def supports(self, shape: tuple[int, ...], training: bool) -> bool:
        """Whether a per-member input of ``shape`` runs here (else through ``vmap``); cached.

        A dry run on the meta device: every channel layer must see a batched input (the
        grouped layout has no unbatched form) and every shape must fit, so that a bad
        input gets torch's own per-member error from ``vmap`` instead of one about the
        grouped layout. Global module hooks also send the call to ``vmap``.
        """
        if _global_hooks():
            return False
        key = (shape, bool(training))
        ok = self._supported.get(key)
        if ok is None:
            ok = self._supported[key] = self._dry_run(shape, training)
        return ok

    def _dry_run(self, shape: tuple[int, ...], training: bool) -> bool:
        h = torch.empty(shape, device="meta")
        try:
            for _, layer in self.layers:
                kind = type(layer)
                ranks = _BATCHED_RANKS.get(kind)
                if ranks is not None and h.dim() not in ranks:
                    return False
                if isinstance(layer, _NORM):  # shapes and the batch-size check, without touching counters
                    use_batch = training or not layer.track_running_stats
                    h = F.batch_norm(h, None, None, None, None, True, 0.0, layer.eps) if use_batch else h
                elif kind not in _ELEMENTWISE and kind not in _DROPOUT:
                    h = layer(h)
        except (RuntimeError, ValueError, TypeError, IndexError):
            return False
        return True

    @classmethod
    def _collect(cls, module: nn.Module, prefix: str, out: list[tuple[str, nn.Module]]) -> bool:
        kind = type(module)
        if kind is nn.Sequential:
            # _modules, not named_children(): the latter skips a module that appears twice
            children = module._modules.items()
            return all(child is not None and cls._collect(child, f"{prefix}{name}.", out) for name, child in children)
        if kind in _CONV:
            ok = module.padding_mode == "zeros"
        elif kind in _PER_CHANNEL:
            ok = not getattr(module, "return_indices", False)
        else:
            ok = kind in (nn.Linear, nn.Flatten, *_NORM, *_ELEMENTWISE, *_DROPOUT)
        if ok:
            out.append((prefix, module))
        return ok

    def __call__(
        self,
        params: Mapping[str, torch.Tensor],
        buffers: Mapping[str, torch.Tensor],
        x: torch.Tensor,
        *,
        k: int,
        per_member: bool,
        keys: np.ndarray | None,
        position: int,
    ) -> torch.Tensor:
        """All members' outputs ``(K, B, ...)``; ``keys``: the ``(K, 4)`` uint32 host dropout keys."""
        h = x if per_member else x.unsqueeze(0).expand((k,) + tuple(x.shape))
        if not per_member and getattr(self.layers[0][1], "inplace", False):
            h = h.contiguous()  # an in-place first layer cannot write into the K-fold expanded view
        grouped = False
        with KeyedDropoutMode(keys, position):
            for prefix, layer in self.layers:
                kind = type(layer)
                if kind in _ELEMENTWISE:
                    h = layer(h)
                elif kind in _DROPOUT:
                    h = layer(_to_stacked(h, k) if grouped else h)
                    h = _to_grouped(h) if grouped else h
                elif kind is nn.Linear:
                    h = _linear(
                        _to_stacked(h, k) if grouped else h, params[prefix + "weight"], params.get(prefix + "bias")
                    )
                    grouped = False
                elif isinstance(layer, nn.Flatten):
                    h = _to_stacked(h, k) if grouped else h
                    start, end = (d if d < 0 else d + 1 for d in (layer.start_dim, layer.end_dim))
                    h = h.flatten(start, end)
                    grouped = False
                else:
                    h = h if grouped else _to_grouped(h)
                    grouped = True
                    if isinstance(layer, _CONV_TYPES):
                        h = _conv(layer, h, params[prefix + "weight"], params.get(prefix + "bias"), k)
                    elif isinstance(layer, _NORM):
                        h = _batch_norm(layer, h, prefix, params, buffers)
                    else:
                        h = layer(h)
        return _to_stacked(h, k) if grouped else h


def _to_grouped(h: torch.Tensor) -> torch.Tensor:
    """``(K, B, C, ...)`` -> ``(B, K*C, ...)``."""
    return h.transpose(0, 1).flatten(1, 2)


def _to_stacked(h: torch.Tensor, k: int) -> torch.Tensor:
    """``(B, K*C, ...)`` -> ``(K, B, C, ...)`` (a view)."""
    return torch.unflatten(h, 1, (k, -1)).transpose(0, 1)


def _linear(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.linear`` per member: ``h`` ``(K, B, ..., in)``, ``weight`` ``(K, out, in)``."""
    lead = h.shape[1:-1]
    flat = h.reshape(h.shape[0], -1, h.shape[-1])
    out: torch.Tensor = _StackedLinear.apply(flat, weight, bias)  # type: ignore[no-untyped-call]  # Function.apply is unannotated in torch
    return out.view((h.shape[0],) + tuple(lead) + (weight.shape[1],))


class _StackedLinear(torch.autograd.Function):
    """``x @ W^T + b`` per member, with each gradient a batched product in its fast orientation.

    Autograd of ``baddbmm(b, x, W^T)`` computes ``dW^T = x^T @ g`` -- a (in x B)(B x out)
    product that is slow for a narrow layer (out = 10 classes: 9x slower here) and lands
    transposed, so it is copied again into the parameter's layout. This computes
    ``dW = g^T @ x`` directly in the parameter's layout, ``dx = g @ W`` and ``db = sum g``.
    """

    generate_vmap_rule = True  # so that torch.func transforms of Ensemble.forward still work

    @staticmethod
    def forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if bias is None:
            return torch.bmm(x, weight.transpose(1, 2))
        return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        x, weight, bias = inputs
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        x, weight = ctx.saved_tensors
        dx = torch.bmm(grad, weight) if ctx.needs_input_grad[0] else None
        dw = torch.bmm(grad.transpose(1, 2), x) if ctx.needs_input_grad[1] else None
        db = grad.sum(1) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return dx, dw, db


def _conv(
    layer: nn.Conv1d | nn.Conv2d | nn.Conv3d, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, k: int
) -> torch.Tensor:
    """All members' convolutions as one grouped convolution on the grouped layout."""
    conv = _CONV[type(layer)]
    return conv(
        h, weight.flatten(0, 1), None if bias is None else bias.flatten(), layer.stride, layer.padding,
        layer.dilation, layer.groups * k,
    )  # fmt: skip


def _batch_norm(
    layer: nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d,
    h: torch.Tensor,
    prefix: str,
    params: Mapping[str, torch.Tensor],
    buffers: Mapping[str, torch.Tensor],
) -> torch.Tensor:
    """Each member's batch norm (``_BatchNorm.forward``) over the grouped channels."""
    weight, bias = params.get(prefix + "weight"), params.get(prefix + "bias")
    mean, var = buffers.get(prefix + "running_mean"), buffers.get(prefix + "running_var")
    tracked = buffers.get(prefix + "num_batches_tracked")
    factor = 0.0 if layer.momentum is None else layer.momentum
    if layer.training and layer.track_running_stats and tracked is not None:
        tracked.add_(1)
        factor = 1.0 / float(tracked[0]) if layer.momentum is None else layer.momentum
    use_batch = layer.training or (mean is None and var is None)
    track = not layer.training or layer.track_running_stats
    return F.batch_norm(
        h,
        None if mean is None or not track else mean.view(-1),
        None if var is None or not track else var.view(-1),
        None if weight is None else weight.flatten(),
        None if bias is None else bias.flatten(),
        use_batch,
        factor,
        layer.eps,
    )
