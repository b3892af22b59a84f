"""Where a saved loader state resumes, whatever the world size it was saved at.

Every rank's state says how far that rank got: rank ``r`` of ``world_size`` ranks, laid
out from global position ``origin`` (see :mod:`seedwise.data._shard`), has consumed the
positions ``origin + r + k * world_size`` for ``k < samples``. The global position of a
run is the first position of the epoch's order that *every* rank has consumed up to:

* one state stands for all ranks: distributed data-parallel training steps the ranks
  in lockstep, so every rank has consumed as many samples as the one that saved, and the
  position is ``origin + samples * world_size``;
* a list with one state per rank (for ranks that may have drifted apart, e.g. one was a
  batch ahead when the job died) resumes from the smallest rank position, so that no
  sample is skipped; the samples the ranks ahead had already consumed are served again,
  and :attr:`ResumePoint.repeated` counts them.

A rank that finished its shard has consumed the epoch: its position is the dataset
length (also when ``drop_last`` dropped the tail), and a loader resumed there yields
nothing until the next epoch, as the interrupted run did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seedwise.data._shard import shard_length
from seedwise.data._state import LOADER_FORMAT, check_marker, check_same, read_bool, read_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["ResumePoint", "resume_point"]


@dataclass(frozen=True)
class ResumePoint:
    """Where :meth:`seedwise.data.DataLoader.load_state_dict` resumes, and what it costs.

    Attributes:
        epoch: the epoch that continues.
        position: the first global position of that epoch's order not consumed by every
            saved rank (``dataset_length`` when the epoch was finished).
        finished: whether the saved run had finished the epoch.
        repeated: samples that some saved rank had already consumed at or after
            ``position`` (ranks that stopped at different positions); they are served again.
        saved_world_size: the number of ranks of the run that saved the state.
    """

    epoch: int
    position: int
    finished: bool
    repeated: int
    saved_world_size: int


@dataclass(frozen=True)
class _Rank:
    """One rank's saved progress, validated."""

    epoch: int
    rank: int
    world_size: int
    origin: int
    samples: int
    length: int  # samples in this rank's shard of the saved layout

    @property
    def finished(self) -> bool:
        return self.samples >= self.length

    def stop(self, n: int) -> int:
        """The first global position this rank has not consumed (``n`` once it finished)."""
        return n if self.finished else min(n, self.origin + self.rank + self.samples * self.world_size)

    def lockstep(self, n: int) -> int:
        """The global position if every rank has consumed as many samples as this one."""
        return n if self.finished else self.origin + self.samples * self.world_size

    def consumed_from(self, low: int, n: int, count: int) -> int:
        """How many of this rank's first ``count`` positions lie in ``[low, n)``."""
        first = self.origin + self.rank

        def positions_below(limit: int) -> int:  # k in [0, count) with first + k * world_size < limit
            return min(count, max(0, -(-(limit - first) // self.world_size)))

        return max(0, positions_below(n) - positions_below(low))


def _read(state: Mapping[str, Any], expected: Mapping[str, Any], n: int) -> _Rank:
    version = check_marker(state, "seedwise_loader", LOADER_FORMAT)
    check_same(state, expected)
    world_size = read_int(state, "world_size", low=1)
    rank = read_int(state, "rank", high=world_size)
    origin = read_int(state, "origin", high=world_size) if version >= 2 else 0
    length = shard_length(n, world_size, read_bool(state, "drop_last"), origin)
    return _Rank(
        epoch=read_int(state, "epoch", high=2**64),
        rank=rank,
        world_size=world_size,
        origin=origin,
        samples=read_int(state, "samples", high=length + 1),
        length=length,
    )


def resume_point(
    states: Mapping[str, Any] | Sequence[Mapping[str, Any]], expected: Mapping[str, Any], n: int
) -> ResumePoint:
    """The resume point of one state (lockstep ranks) or of a list with one state per rank."""
    if isinstance(states, Mapping):
        one = _read(states, expected, n)
        return ResumePoint(one.epoch, one.lockstep(n), one.finished, 0, one.world_size)
    if not isinstance(states, Sequence) or isinstance(states, (str, bytes)) or not states:
        raise InvalidTypeError(
            f"state must be a dict from state_dict(), or a non-empty list with one such dict per rank, got "
            f"{type(states).__name__}"
        )
    ranks = [_read(s, expected, n) for s in states]
    world_size = ranks[0].world_size
    found = sorted(r.rank for r in ranks)
    if any(r.world_size != world_size for r in ranks) or found != list(range(world_size)):
        raise InvalidArgumentError(
            f"a list of states must hold one state per rank of the run that saved them, got ranks {found} of world "
            f"sizes {sorted({r.world_size for r in ranks})}; pass every rank's state_dict(), or a single one when the "
            "ranks stepped in lockstep (distributed data-parallel training does)"
        )
    epoch = min(r.epoch for r in ranks)
    if any(r.epoch > epoch + 1 for r in ranks):
        raise InvalidArgumentError(
            f"the ranks' states are more than one epoch apart (epochs {sorted({r.epoch for r in ranks})}); "
            "they cannot come from one run"
        )
    current = [r for r in ranks if r.epoch == epoch]
    position = min(r.stop(n) for r in current)
    repeated = sum(r.consumed_from(position, n, r.samples) for r in current)
    for r in ranks:
        if r.epoch > epoch:  # finished `epoch` (in the layout of the others) and went on into the next one
            layout = _Rank(epoch, r.rank, world_size, current[0].origin, 0, 0)
            repeated += layout.consumed_from(position, n, n) + r.consumed_from(0, n, r.samples)
    return ResumePoint(epoch, position, position >= n, repeated, world_size)
