"""Finding seedwise loaders in what a trainer holds, and checking them against the trainer's view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seedwise.data import DataLoader
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import Seeds

__all__ = ["seedwise_loaders", "check_world", "check_seeds"]


def seedwise_loaders(loaders: Any) -> list[DataLoader]:
    """The seedwise loaders in ``loaders``: one, or nested lists, tuples and dicts of them (a trainer's form)."""
    if isinstance(loaders, DataLoader):
        return [loaders]
    if isinstance(loaders, Mapping):
        loaders = list(loaders.values())
    if isinstance(loaders, (list, tuple)):
        return [found for item in loaders for found in seedwise_loaders(item)]
    return []


def check_world(loader: DataLoader, rank: int, world_size: int, who: str) -> None:
    """Raise if ``loader`` would not load this rank's shard of ``world_size`` (the trainer's view)."""
    if (loader.rank, loader.world_size) == (rank, world_size):
        return
    raise InvalidArgumentError(
        f"the seedwise loader loads shard {loader.rank} of {loader.world_size}, but {who} runs this process as rank "
        f"{rank} of {world_size}: the ranks would not train on disjoint shards of each epoch. Build the loader "
        f"without rank= and world_size= (it then takes them from the torch.distributed process group), or pass "
        f"rank={rank}, world_size={world_size}"
    )


def check_seeds(loader: DataLoader, seeds: Seeds, who: str) -> None:
    """Raise if ``loader`` draws its order from another root than ``seeds`` (the run's record would be wrong)."""
    if loader.seeds.entropy == seeds.entropy:
        return
    raise InvalidArgumentError(
        f"the seedwise loader's seeds ({loader.seeds!r}) do not come from {who}'s seeds ({seeds!r}): the seeds "
        "recorded for this run would not be the ones that ordered and augmented its data. Give both the same "
        "root, e.g. DataLoader(..., seeds=seeds) and the integration seeds=seeds"
    )
