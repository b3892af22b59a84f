"""Where a :class:`seedwise.data.DataLoader` stands: the epoch, and how far its rank got into it.

The cursor counts what the loader has *served* (handed to the consumer), never what
torch's workers have prefetched. Within an epoch it knows the layout of the current
pass (rank, world size and ``origin``, see :mod:`seedwise.data._shard`) and how many
samples of this rank's shard are behind it, from which the global position follows.

Its life cycle, driven by the loader:

* :meth:`Cursor.move_to` -- a new epoch starts at its first sample (setting the current
  epoch again changes nothing, so a position restored by :meth:`Cursor.restore` survives
  the usual ``set_epoch`` at the top of the loop);
* :meth:`Cursor.begin` -- a pass starts: at a restored global position if there is one,
  else at the start of the epoch (breaking out of a pass and iterating again starts over,
  as in torch);
* :meth:`Cursor.served` -- a batch was handed over; the last batch of the pass marks the
  shard finished (and with ``auto_epoch`` the loader then calls :meth:`Cursor.advance`);
* :meth:`Cursor.state` -- the position as state fields, optionally leaving out the last
  batches served when the consumer fetched them ahead without using them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seedwise.data._resume import ResumePoint
from seedwise.data._shard import shard_length
from seedwise.errors import InvalidArgumentError

__all__ = ["Cursor", "Layout"]


@dataclass(frozen=True)
class Layout:
    """How one pass lays this rank's shard over the global order."""

    rank: int
    world_size: int
    origin: int


@dataclass
class _Pass:
    token: int
    epoch: int
    layout: Layout
    start: int  # samples of the shard behind us when the pass started
    batches_before: int
    ends: list[int]  # samples of the shard behind us after each batch of the pass
    served: int = 0


class Cursor:
    """The epoch and position of one loader (see the module doc)."""

    def __init__(self, n: int, batch_size: int | None, drop_last: bool) -> None:
        self.n, self.batch_size, self.drop_last = n, batch_size, drop_last
        self.epoch = 0
        self._reset()

    def _reset(self) -> None:
        self._restored: int | None = None  # a global position the next pass starts at
        self._layout: Layout | None = None  # the layout of this epoch's last pass
        self._samples = 0
        self._batches = 0
        self._pass: _Pass | None = None

    # -- moving ---------------------------------------------------------------------

    def move_to(self, epoch: int) -> None:
        """Go to ``epoch``: a different one starts at its first sample."""
        if epoch != self.epoch:
            self.epoch = epoch
            self._reset()

    def advance(self) -> None:
        """Go on to the next epoch after a finished pass (``auto_epoch``), keeping that pass for :meth:`state`."""
        finished = self._pass
        self.move_to(self.epoch + 1)
        self._pass = finished

    def restore(self, point: ResumePoint) -> None:
        """Make the next pass start at ``point`` (from :func:`~seedwise.data._resume.resume_point`)."""
        self.move_to(point.epoch)
        self._reset()
        self._restored = point.position

    def begin(self, token: int, layout: Layout, ends_of: Any) -> list[int]:
        """Start a pass with ``layout``; ``ends_of(origin, start)`` plans its batches. Return the plan."""
        if self._restored is not None:
            origin, start = self._split(self._restored, layout.world_size)
            layout = Layout(layout.rank, layout.world_size, origin)
            batches = self._batches_for(start, layout)
        else:
            start, batches = 0, 0
        self._restored = None
        ends: list[int] = ends_of(layout.origin, start)
        self._layout, self._samples, self._batches = layout, start, batches
        self._pass = _Pass(token, self.epoch, layout, start, batches, ends)
        if not ends:
            self._samples = self._length(layout)
        return ends

    def served(self, token: int, k: int) -> bool:
        """Batch ``k`` of pass ``token`` was handed over; return whether it was the pass's last."""
        p = self._pass
        if p is None or p.token != token:
            return False
        p.served = k + 1
        last = k + 1 == len(p.ends)
        self._samples = self._length(p.layout) if last else p.ends[k]
        self._batches = p.batches_before + k + 1
        return last

    # -- reading --------------------------------------------------------------------

    def state(self, layout: Layout, prefetched: int = 0) -> dict[str, Any]:
        """The position fields of a state. ``layout`` is used where no pass has run in this epoch."""
        epoch, samples, batches = self.epoch, self._samples, self._batches
        if self._restored is not None:
            origin, samples = self._split(self._restored, layout.world_size)
            layout = Layout(layout.rank, layout.world_size, origin)
            batches = self._batches_for(samples, layout)
        elif self._layout is not None:
            layout = self._layout
        else:
            layout = Layout(layout.rank, layout.world_size, 0)
        if prefetched:
            epoch, layout, samples, batches = self._before_prefetch(prefetched)
        position = self.n if samples >= self._length(layout) else layout.origin + samples * layout.world_size
        return {
            "epoch": epoch,
            "position": position,
            "samples": samples,
            "batches": batches,
            "origin": layout.origin,
            "rank": layout.rank,
            "world_size": layout.world_size,
        }

    def _before_prefetch(self, prefetched: int) -> tuple[int, Layout, int, int]:
        p = self._pass  # the latest pass (of this epoch, or of the last one if it ended with auto_epoch)
        if p is None or prefetched > p.served:
            served = 0 if p is None else p.served
            raise InvalidArgumentError(
                f"prefetched={prefetched}, but the current pass has only served {served} batches; prefetched "
                "counts the last batches served that the consumer has not used yet"
            )
        k = p.served - prefetched
        return p.epoch, p.layout, (p.ends[k - 1] if k else p.start), p.batches_before + k

    @property
    def samples(self) -> int:
        """Samples of this rank's shard behind the cursor (for a repr)."""
        return self._samples

    # -- layout arithmetic ----------------------------------------------------------

    def _length(self, layout: Layout) -> int:
        return shard_length(self.n, layout.world_size, self.drop_last, layout.origin)

    def _split(self, position: int, world_size: int) -> tuple[int, int]:
        """(origin, samples already behind each rank) for a pass resuming at global ``position``."""
        if position >= self.n:
            return 0, shard_length(self.n, world_size, self.drop_last)
        return position % world_size, position // world_size

    def _batches_for(self, samples: int, layout: Layout) -> int:
        """Batches a pass from the layout's start serves to get ``samples`` in (for reading)."""
        if self.batch_size is None:
            return samples
        if samples >= self._length(layout):
            full, part = divmod(samples, self.batch_size)
            return full + (1 if part and not self.drop_last else 0)
        return -(-samples // self.batch_size)
