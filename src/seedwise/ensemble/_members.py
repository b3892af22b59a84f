"""Building the K members: ``make_model()`` K times, each re-initialised from its own stream.

Member ``i`` is ``make_model()`` re-initialised by :func:`seedwise.init.initialize` from
``seeds[i]`` (``== seeds.spawn(k)[i]``), so it is the same whatever ``k`` is.
``make_model()`` runs with the global torch RNG saved and restored: its own initialisation
is discarded and must not move the global RNG. Also here: the members' structure on the
meta device (what the vectorised engine runs with stacked tensors), with tied parameters
kept tied.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from seedwise.errors import InvalidTypeError
from seedwise.seeds import Seeds

__all__ = ["check_factory", "build_members", "meta_base", "retie"]


def check_factory(make_model: object) -> None:
    """``make_model`` must build a new model on each call, not be one."""
    if isinstance(make_model, nn.Module):
        raise InvalidTypeError(
            f"make_model must be a function that builds a new model (e.g. make_model=lambda: MyNet()), "
            f"got the module instance {type(make_model).__name__}"
        )
    if not callable(make_model):
        raise InvalidTypeError(f"make_model must be a callable returning an nn.Module, got {type(make_model).__name__}")


def build_members(
    make_model: Callable[[], nn.Module], seeds: Seeds, k: int, *, device: torch.device, init_scheme: Any
) -> list[nn.Module]:
    """The K members on ``device``, member ``i`` initialised from ``seeds[i]``."""
    from seedwise.init import initialize

    members = []
    for member_seeds in seeds.spawn(k):
        state = torch.get_rng_state()  # make_model's own (discarded) init must not move the global RNG
        try:
            member = make_model()
        finally:
            torch.set_rng_state(state)  # global-rng-ok: restoring
        if not isinstance(member, nn.Module):
            raise InvalidTypeError(f"make_model must return an nn.Module, got {type(member).__name__}")
        member = member.to(device)
        initialize(member, member_seeds, scheme=init_scheme)
        members.append(member)
    return members


def meta_base(member: nn.Module) -> tuple[nn.Module, list[list[str]]]:
    """``(base, ties)``: a copy of ``member`` on the meta device, and its groups of tied parameter names."""
    ties = _tied_names(member)
    return retie(copy.deepcopy(member).to("meta"), ties), ties


def _tied_names(model: nn.Module) -> list[list[str]]:
    """Groups of parameter names that share one tensor (weights tied between modules)."""
    groups: dict[int, list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(p), []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def retie(model: nn.Module, ties: list[list[str]]) -> nn.Module:
    """Restore tied parameters after ``.to("meta")`` / ``.to_empty()``, which give each module its own."""
    for first, *others in ties:
        shared = model.get_parameter(first)
        for name in others:
            owner, _, attr = name.rpartition(".")
            setattr(model.get_submodule(owner), attr, shared)
    return model
