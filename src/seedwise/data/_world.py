"""Which shard is this process's: ``rank`` / ``world_size`` given, or taken from ``torch.distributed``.

A loader or sampler built without ``rank=`` / ``world_size=`` resolves them when it needs
them (at the start of every pass, in ``len()``, in ``state_dict()``), not when it is built:
trainers such as Lightning build the loader first and initialise the process group later.

The rule, for each value left out:

1. an initialised ``torch.distributed`` process group supplies it;
2. otherwise, if a launcher (``torchrun``, Lightning, ``accelerate launch``) has set
   ``WORLD_SIZE > 1`` in the environment, this process is one of several but cannot know
   its shard yet: :class:`~seedwise.errors.InvalidArgumentError`, saying how to fix it
   (every rank silently loading the same data is the failure this prevents);
3. otherwise the process is alone: rank 0 of 1.

``world_size=1`` alone means rank 0 of 1 in any case: every process loads all the data.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from seedwise._validate import check_int
from seedwise.errors import InvalidArgumentError

__all__ = ["check_world", "resolve_world", "describe_world"]


def check_world(rank: int | None, world_size: int | None) -> tuple[int | None, int | None]:
    """Validate the values given explicitly (None: resolved later); return them as ints."""
    if world_size is not None:
        world_size = check_int("world_size", world_size, low=1)
    if rank is not None:
        rank = check_int("rank", rank, low=0)
    if rank is not None and world_size is None:
        raise InvalidArgumentError(
            f"rank must be in [0, world_size), got rank={rank} without world_size: pass world_size= with rank= "
            "(or leave both out to take them from the torch.distributed process group)"
        )
    if rank is not None and world_size is not None and rank >= world_size:
        raise InvalidArgumentError(
            f"rank must be in [0, world_size) = [0, {world_size}), got rank={rank}; ranks count from 0"
        )
    return rank, world_size


def _process_group() -> tuple[int, int] | None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return None


def resolve_world(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """``(rank, world_size)``: the values given, the rest from the process group (see the module doc).

    ``rank`` and ``world_size`` are as :func:`check_world` returned them: a rank only
    comes with a world size.
    """
    if rank is not None and world_size is not None:
        return rank, world_size
    if world_size == 1:  # asked for all the data, whatever the process group
        return 0, 1
    group = _process_group()
    if group is not None:
        resolved = (group[0] if rank is None else rank, group[1] if world_size is None else world_size)
        check_world(*resolved)
        return resolved
    launched = os.environ.get("WORLD_SIZE", "1")
    if launched.isdigit() and int(launched) > 1:
        raise InvalidArgumentError(
            f"this process is one of WORLD_SIZE={launched} processes (RANK={os.environ.get('RANK', '?')}, set by "
            "torchrun or another launcher), but torch.distributed is not initialised, so seedwise cannot tell which "
            "shard of the data is this process's and every process would load the same samples. Call "
            "torch.distributed.init_process_group() before iterating (trainers do this for you: iterate inside "
            "the trainer), or pass rank= and world_size= explicitly (world_size=1 gives every process all the data)"
        )
    return (0 if rank is None else rank), (1 if world_size is None else world_size)


def describe_world(resolve: Callable[[], tuple[int, int]]) -> str:
    """``", rank=r, world_size=w"`` for a repr when sharded, ``""`` when alone; never raises."""
    try:
        rank, world_size = resolve()
    except InvalidArgumentError:
        return ", rank=?, world_size=? (torch.distributed not initialised)"
    return f", rank={rank}, world_size={world_size}" if world_size > 1 else ""
