"""The per-module default rules: what each module's own ``reset_parameters()`` draws, per tensor.

:func:`default_rules` maps a module to ``{local tensor name: Rule}`` reproducing the
distribution of its own initialisation (``scheme="default"``), or None when seedwise has
no rule for it. The registry lists each covered module class with the name of its init
method: a subclass that overrides that method is not covered (its override is respected).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["Rule", "default_rules"]


@dataclass(frozen=True)
class Rule:
    """How one tensor of a module is drawn: ``fill(tensor, generator)``, shown in the report as ``label``.

    ``random=False`` for a constant (it draws nothing, so the report shows no stream).
    """

    label: str
    fill: Callable[[Any, Any], object]  # (tensor, generator | None), in place
    random: bool = True


def _uniform_rule(bound: float) -> Rule:
    return Rule(f"uniform(-{bound:.6g}, {bound:.6g})", lambda t, g: t.uniform_(-bound, bound, generator=g))


def _const_rule(value: float) -> Rule:
    return Rule({0.0: "zeros", 1.0: "ones"}.get(value, f"constant({value})"), lambda t, g: t.fill_(value), random=False)


def _fan_in_bound(weight: torch.Tensor) -> float:
    import torch.nn.init as I

    fan_in, _ = I._calculate_fan_in_and_fan_out(weight)
    return 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0


def _linear_rules(m: Any) -> dict[str, Rule]:
    import torch.nn.init as I

    rules = {
        "weight": Rule("kaiming_uniform(a=sqrt(5))", lambda t, g: I.kaiming_uniform_(t, a=math.sqrt(5), generator=g))
    }
    if getattr(m, "bias", None) is not None:
        rules["bias"] = _uniform_rule(_fan_in_bound(m.weight))
    return rules


def _bilinear_rules(m: Any) -> dict[str, Rule]:
    bound = 1 / math.sqrt(m.weight.size(1))
    rules = {"weight": _uniform_rule(bound)}
    if m.bias is not None:
        rules["bias"] = _uniform_rule(bound)
    return rules


def _embedding_rules(m: Any) -> dict[str, Rule]:
    pad = m.padding_idx

    def fill(t: Any, g: Any) -> None:
        t.normal_(0.0, 1.0, generator=g)
        if pad is not None:
            t[pad].fill_(0)

    return {"weight": Rule("normal(0, 1)" + (f", row {pad} zeroed" if pad is not None else ""), fill)}


def _affine_norm_rules(m: Any) -> dict[str, Rule]:
    rules = {}
    if getattr(m, "weight", None) is not None:
        rules["weight"] = _const_rule(1.0)
    if getattr(m, "bias", None) is not None:
        rules["bias"] = _const_rule(0.0)
    return rules


def _batchnorm_rules(m: Any) -> dict[str, Rule]:
    rules = _affine_norm_rules(m)
    if m.track_running_stats:
        rules["running_mean"] = _const_rule(0.0)
        rules["running_var"] = _const_rule(1.0)
        rules["num_batches_tracked"] = _const_rule(0.0)
    return rules


def _rnn_rules(m: Any) -> dict[str, Rule]:
    stdv = 1.0 / math.sqrt(m.hidden_size) if m.hidden_size > 0 else 0.0
    return {name: _uniform_rule(stdv) for name, _ in m.named_parameters(recurse=False)}


def _mha_rules(m: Any) -> dict[str, Rule]:
    import torch.nn.init as I

    xu = Rule("xavier_uniform", lambda t, g: I.xavier_uniform_(t, generator=g))
    xn = Rule("xavier_normal", lambda t, g: I.xavier_normal_(t, generator=g))
    names = ("in_proj_weight",) if m._qkv_same_embed_dim else ("q_proj_weight", "k_proj_weight", "v_proj_weight")
    rules = dict.fromkeys(names, xu)
    if m.in_proj_bias is not None:
        rules["in_proj_bias"] = _const_rule(0.0)
        if m.out_proj.bias is not None:
            rules["out_proj.bias"] = _const_rule(0.0)  # MHA zeroes its child's bias
    if m.bias_k is not None:
        rules["bias_k"] = xn
    if m.bias_v is not None:
        rules["bias_v"] = xn
    return rules


def _transformer_rules(m: Any) -> dict[str, Rule]:
    import torch.nn.init as I

    xu = Rule("xavier_uniform", lambda t, g: I.xavier_uniform_(t, generator=g))
    return {name: xu for name, p in m.named_parameters() if p.dim() > 1}


def _prelu_rules(m: Any) -> dict[str, Rule]:
    return {"weight": _const_rule(float(m.init))}


@functools.lru_cache(maxsize=1)
def _registry() -> dict[type, tuple[str, Callable[[Any], dict[str, Rule]]]]:
    """(module class, name of its init method, rule) — a subclass overriding the method is not covered."""
    import torch.nn as nn
    from torch.nn.modules.batchnorm import _NormBase
    from torch.nn.modules.conv import _ConvNd

    reg = [
        (nn.Linear, "reset_parameters", _linear_rules),
        (_ConvNd, "reset_parameters", _linear_rules),
        (nn.Bilinear, "reset_parameters", _bilinear_rules),
        (nn.Embedding, "reset_parameters", _embedding_rules),
        (nn.EmbeddingBag, "reset_parameters", _embedding_rules),
        (nn.LayerNorm, "reset_parameters", _affine_norm_rules),
        (nn.GroupNorm, "reset_parameters", _affine_norm_rules),
        (_NormBase, "reset_parameters", _batchnorm_rules),
        (nn.RNNBase, "reset_parameters", _rnn_rules),
        (nn.RNNCellBase, "reset_parameters", _rnn_rules),
        (nn.MultiheadAttention, "_reset_parameters", _mha_rules),
        (nn.Transformer, "_reset_parameters", _transformer_rules),
        (nn.PReLU, "reset_parameters", _prelu_rules),
    ]
    if hasattr(nn, "RMSNorm"):
        reg.append((nn.RMSNorm, "reset_parameters", _affine_norm_rules))
    return {cls: (method, rule) for cls, method, rule in reg}


def default_rules(module: Any) -> dict[str, Rule] | None:
    """The per-tensor rules reproducing ``module``'s own init, or None if seedwise has none."""
    registry = _registry()
    for cls in type(module).__mro__:
        if cls in registry:
            method, rule = registry[cls]
            if getattr(type(module), method, None) is not getattr(cls, method, None):
                return None  # the subclass overrides its init: respect it
            return rule(module)
    return None
