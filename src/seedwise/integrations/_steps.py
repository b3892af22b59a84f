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

from seedwise.process.adapters import torch as torch_rngs
from seedwise.process.settings import State
from seedwise.seeds import Seeds

__all__ = ["StepKeys", "step_position", "KEYED_FRAMEWORKS"]

#: The global RNGs keyed in each step.
KEYED_FRAMEWORKS = ("torch",)


def step_position(step: int, micro: int, accumulation: int) -> int | tuple[int, int]:
    """The position of a micro-batch: the step, or ``(step, micro)`` under gradient accumulation."""
    return step if accumulation == 1 else (step, micro)


class StepKeys:
    """Seeds torch's global RNGs at a step's start and restores them at its end (the hooks of a trainer)."""

    def __init__(self, stream: Seeds) -> None:
        self.stream = stream
        self._saved: State | None = None
        self._ranks: dict[int, Seeds] = {}  # stream[rank], derived once

    def enter(self, rank: int, position: int | tuple[int, int]) -> None:
        """Seed torch's global RNGs as ``seedwise.keyed(stream[rank], position)`` does (closing an open step first)."""
        self.exit()
        path = position if isinstance(position, tuple) else (position,)
        if rank not in self._ranks:
            self._ranks[rank] = self.stream[rank]
        value = int(self._ranks[rank].child(*path))
        # torch's adapter directly, not through the framework selection of seed_global_rngs
        # (the same calls, without its per-call lookups: this runs at every training step)
        saved = torch_rngs.capture()
        torch_rngs.seed(value)
        self._saved = saved

    def exit(self) -> None:
        """Restore torch's global RNGs as they were before :meth:`enter` (nothing if no step is open)."""
        saved, self._saved = self._saved, None
        if saved is not None:
            torch_rngs.restore(saved)
