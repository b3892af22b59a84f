"""Orbax: the run's :class:`~seedwise.Seeds` saved in the same checkpoint as the model state.

A seedwise run needs no saved keys (every key is a pure function of the seeds and the
step), but it needs its seeds: which root entropy, which path, which overrides. Orbax's
``CheckpointManager`` saves several items per step (``ocp.args.Composite``); the seeds go
in as one more item, as JSON (``ocp.args.JsonSave`` of :meth:`Seeds.to_dict`: entropies as
decimal strings, so no bit is lost and nothing is unpickled)::

    mngr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                             seeds=swjax.seeds_save_args(seeds)))
    restored = mngr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract),
                                                          seeds=swjax.seeds_restore_args()))
    seeds = swjax.seeds_from_checkpoint(restored["seeds"])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seedwise._optional import require
from seedwise.errors import InvalidTypeError
from seedwise.seeds import SeedLike, Seeds, as_seeds

__all__ = ["seeds_save_args", "seeds_restore_args", "seeds_from_checkpoint"]


def _ocp() -> Any:
    return require("orbax.checkpoint", "flax", "seedwise.frameworks.jax (Orbax checkpoints)")


def seeds_save_args(seeds: SeedLike) -> Any:
    """``ocp.args.JsonSave`` of ``seeds``: an item of an ``ocp.args.Composite`` save."""
    return _ocp().args.JsonSave(as_seeds(seeds).to_dict())


def seeds_restore_args() -> Any:
    """``ocp.args.JsonRestore()``: the matching item of the ``Composite`` restore."""
    return _ocp().args.JsonRestore()


def seeds_from_checkpoint(item: Any) -> Seeds:
    """The :class:`~seedwise.Seeds` of a restored seeds item (equal to the one saved)."""
    if not isinstance(item, Mapping):
        raise InvalidTypeError(
            f"item must be the restored seeds item (a dict, from seeds_restore_args()), got {type(item).__name__}"
        )
    return Seeds.from_dict(item)
