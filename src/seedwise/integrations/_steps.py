"""Global RNGs keyed by (rank, step) around each training step, for trainers with step hooks.

``nn.Dropout`` and any other code in a training step that draws from the global RNGs
draw, inside the step, from ``seeds["dropout"][rank]`` at the step (with
:func:`seedwise.keyed`, which restores the globals after it). So:

* ranks draw different masks (one stream on every rank would drop the same units of
  different samples, a correlation a single process never has);
* a run resumed from a checkpoint draws the masks the uninterrupted run drew, with no
  RNG state saved: the masks are a function of the step, not of what came before;
* with gradient accumulation the micro-batches of a step are told apart:
  the position is ``(step, micro)`` (``step`` alone without accumulation, as in the
  torchrun recipe, ``sw.keyed(seeds["dropout"][rank], step)``).

Keyed by the rank, the masks change with the number of processes.
"""

from __future__ import annotations

from contextlib import ExitStack

from seedwise.process.seeding import keyed
from seedwise.seeds import Seeds

__all__ = ["StepKeys", "step_position"]


def step_position(step: int, micro: int, accumulation: int) -> int | tuple[int, int]:
    """The position of a micro-batch: the step, or ``(step, micro)`` under gradient accumulation."""
    return step if accumulation == 1 else (step, micro)


class StepKeys:
    """Enters :func:`seedwise.keyed` at a step's start and leaves it at its end (the hooks of a trainer)."""

    def __init__(self, stream: Seeds) -> None:
        self.stream = stream
        self._open: ExitStack | None = None

    def enter(self, rank: int, position: int | tuple[int, int]) -> None:
        """Seed the global RNGs from ``stream[rank]`` at ``position`` (leaving a step still open first)."""
        self.exit()
        stack = ExitStack()
        stack.enter_context(keyed(self.stream[rank], position))
        self._open = stack

    def exit(self) -> None:
        """Restore the global RNGs as they were before :meth:`enter` (nothing if no step is open)."""
        stack, self._open = self._open, None
        if stack is not None:
            stack.close()
