"""The functional pieces of an ensemble, for loops written by hand.

:class:`~seedwise.ensemble.Ensemble` is built from these; they are public so that a loop
of your own can stack members, key their dropout, run them in one call and combine their
outputs without the class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from seedwise._validate import check_choice, check_int
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import SeedLike, as_seeds
from seedwise.stateless.dropout import KeyedDropoutMode, key_words
from seedwise.streams import DROPOUT

__all__ = ["COMBINE", "CombineRule", "stack_members", "member_keys", "vmapped_forward", "combine_outputs"]

#: How :func:`combine_outputs` may combine the members' outputs.
COMBINE = ("mean_prob", "mean_logit", "vote")
CombineRule = Literal["mean_prob", "mean_logit", "vote"]


def stack_members(members: Sequence[nn.Module]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(params, buffers)``: each member tensor stacked along a new leading member dimension.

    The stacked parameters are leaf tensors that require grad (``torch.func.stack_module_state``).
    """
    if not members:
        raise InvalidArgumentError("stack_members needs at least one member")
    return stack_module_state(list(members))


def member_keys(seeds: SeedLike, k: int, *, stream: str = DROPOUT, device: Any = "cpu") -> torch.Tensor:
    """``(k, 4)`` int32 dropout keys: row ``i`` is the key of ``seeds[i][stream]``."""
    root = as_seeds(seeds)
    return torch.stack([key_words(root[i][stream], device=device) for i in range(check_int("k", k, low=1))])


def vmapped_forward(
    base: nn.Module,
    params: Mapping[str, torch.Tensor],
    buffers: Mapping[str, torch.Tensor],
    x: torch.Tensor,
    *,
    keys: torch.Tensor | None = None,
    position: int = 0,
    per_member: bool = False,
) -> torch.Tensor:
    """All members' outputs ``(K, B, ...)`` in one vectorised call.

    Args:
        base: a module with the members' structure (any device, e.g. ``"meta"``); its
            ``training`` flag decides whether dropout is on.
        params, buffers: stacked tensors (:func:`stack_members`).
        x: ``(B, ...)`` shared by all members, or ``(K, B, ...)`` with ``per_member=True``.
        keys: ``(K, 4)`` dropout keys (:func:`member_keys`); required when ``base`` is in
            training mode and has dropout.
        position: the dropout position (the training step).
    """
    host: np.ndarray | None = None
    members: torch.Tensor | None = None
    if keys is not None:
        if not (
            isinstance(keys, torch.Tensor) and keys.dtype == torch.int32 and keys.dim() == 2 and keys.shape[1] == 4
        ):
            got = f"{keys.dtype} {tuple(keys.shape)}" if isinstance(keys, torch.Tensor) else type(keys).__name__
            raise InvalidArgumentError(f"keys must be the (K, 4) int32 tensor of member_keys(seeds, K), got {got}")
        host = keys.detach().cpu().contiguous().numpy().view(np.uint32)
        members = torch.arange(host.shape[0], device=x.device)

    def one(
        p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], member: torch.Tensor | None, xb: torch.Tensor
    ) -> torch.Tensor:
        with KeyedDropoutMode(host, position, member=member):
            out: torch.Tensor = functional_call(base, (p, b), (xb,))
        return out

    in_dims = (0, 0, None if keys is None else 0, 0 if per_member else None)
    return vmap(one, in_dims=in_dims, randomness="error")(dict(params), dict(buffers), members, x)


def combine_outputs(outputs: torch.Tensor, combine: str = "mean_prob") -> torch.Tensor:
    """Combine member logits ``(K, B, C)`` into one predictive distribution ``(B, C)``.

    * ``"mean_prob"``: the mean of the members' softmax probabilities (the deep-ensemble rule);
    * ``"mean_logit"``: the softmax of the mean logit (a geometric mean of the members'
      distributions, renormalised; sharper than ``mean_prob``);
    * ``"vote"``: the fraction of members whose top class is each class (majority vote as a
      distribution; its NLL is poor, since a class no member votes for gets probability 0).
    """
    check_choice("combine", combine, COMBINE)
    if outputs.dim() < 3:
        raise InvalidArgumentError(f"outputs must have shape (K, B, C), got {tuple(outputs.shape)}")
    if combine == "mean_prob":
        return outputs.softmax(dim=-1).mean(dim=0)
    if combine == "mean_logit":
        return outputs.mean(dim=0).softmax(dim=-1)
    votes = F.one_hot(outputs.argmax(dim=-1), outputs.shape[-1]).to(outputs.dtype)
    return votes.mean(dim=0)
