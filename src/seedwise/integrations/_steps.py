"""Torch's global RNGs keyed by (rank, step) around each training step, for trainers with step hooks.

``nn.Dropout`` and any other torch draw from the global generators in a training step
(``torch.rand*``, ``torch.randperm``...) draw, inside the step, from
``seeds["dropout"][rank]`` at the step: the generators are seeded as
``seedwise.keyed(seeds["dropout"][rank], step)`` seeds torch's, and restored after the step.
So:

* ranks draw different masks (one stream on every rank would drop the same units of
  different samples, a correlation a single process never has);
* a run resumed from a checkpoint draws the masks the uninterrupted run drew, with no
  RNG state saved: the masks are a function of the step, not of what came before;
* with gradient accumulation the micro-batches of a step are told apart:
  the position is ``(step, micro)`` (``step`` alone without accumulation, as in the
  torchrun recipe, ``sw.keyed(seeds["dropout"][rank], step)``).

Only torch's generators are keyed, not Python's or NumPy's: dropout draws from torch, and
capturing and restoring the other two costs about ten times as much per step (nearly a
millisecond on a loaded 2-core machine; benchmarks/integrations.py). A step that draws from
``random`` or ``np.random`` and must repeat on resume wraps that code in ``sw.keyed``.

Keyed by the rank, the masks change with the number of processes.
"""

from __future__ import annotations

from typing import Any

from seedwise._seed_block import child_ints
from seedwise.process.adapters import torch as torch_rngs
from seedwise.seeds import Seeds

__all__ = ["StepKeys", "step_position", "KEYED_FRAMEWORKS"]

#: The global RNGs keyed in each step.
KEYED_FRAMEWORKS = ("torch",)

#: Steps whose seeds are derived together (seedwise._seed_block): ~1 µs a step instead of ~30.
BLOCK = 256


def step_position(step: int, micro: int, accumulation: int) -> int | tuple[int, int]:
    """The position of a micro-batch: the step, or ``(step, micro)`` under gradient accumulation."""
    return step if accumulation == 1 else (step, micro)


class StepKeys:
    """Seeds torch's global RNGs at a step's start and restores them at its end (the hooks of a trainer).

    The cost is per step, so each piece is the cheap form of what ``seedwise.keyed`` does:
    the step seeds of a rank are derived a block of :data:`BLOCK` steps at a time (the same
    values as ``int(stream[rank].child(*position))``), and torch's generator states are
    kept as torch's own tensors between the step's start and end.
    """

    def __init__(self, stream: Seeds) -> None:
        self.stream = stream
        self._saved: tuple[Any, Any] | None = None
        self._ranks: dict[int, Seeds] = {}  # stream[rank], derived once
        self._blocks: dict[tuple[int, tuple[int, ...], int], list[int]] = {}
        self._last_key: tuple[int, tuple[int, ...], int] | None = None
        self._last_block: list[int] = []

    def value(self, rank: int, position: int | tuple[int, int]) -> int:
        """The seed of ``position`` on ``rank``: ``int(stream[rank].child(*position))``."""
        step, tail = (position, ()) if isinstance(position, int) else (position[0], tuple(position[1:]))
        key = (rank, tail, step // BLOCK)
        if key != self._last_key:  # steps go forward: the block of the last step is the usual one
            block = self._blocks.get(key)
            if block is None:
                if rank not in self._ranks:
                    self._ranks[rank] = self.stream[rank]
                if len(self._blocks) >= 64:  # a long run moves on; keep the recent blocks only
                    self._blocks.clear()
                first = step - step % BLOCK
                block = self._blocks[key] = child_ints(self._ranks[rank], range(first, first + BLOCK), tail)
            self._last_key, self._last_block = key, block
        return self._last_block[step % BLOCK]

    def enter(self, rank: int, position: int | tuple[int, int]) -> None:
        """Seed torch's global RNGs as ``seedwise.keyed(stream[rank], position)`` does (closing an open step first)."""
        if self._saved is not None:
            self.exit()
        value = self.value(rank, position)
        saved = torch_rngs.capture_raw()
        torch_rngs.seed_generators(value)
        self._saved = saved

    def exit(self) -> None:
        """Restore torch's global RNGs as they were before :meth:`enter` (nothing if no step is open)."""
        saved, self._saved = self._saved, None
        if saved is not None:
            torch_rngs.restore_raw(saved)
