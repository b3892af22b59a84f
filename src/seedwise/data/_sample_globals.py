"""Per-sample global RNGs: make each sample with the globals seeded from (stream, epoch, index).

For ``DataLoader(..., global_rngs="sample")``. Third-party code that draws from the
global RNGs inside ``__getitem__`` then draws numbers that are a pure function of the
sample's position, like everything else seedwise keys, so they do not change with the
number of workers, the batch size, the rank or a resume.

For a batch of keys, the seeds of all its samples come from one vectorised stateless
draw, ``seedwise.stateless.raw(stream, (epoch, index), size=5)``: words 0-1 seed Python's
``random`` (128 bits), words 2-3 NumPy's legacy global (as four uint32 words), word 4
torch's CPU default generator. The globals are captured once before the batch and
restored once after it, so the calling process (``num_workers=0``) and a worker's own
seeding are left as they were.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from seedwise import stateless
from seedwise.seeds import Seeds

__all__ = ["SampleGlobals"]

_WORDS = 5


class SampleGlobals:
    """Runs a fetch per key with the global RNGs seeded from ``(seeds, epoch, index)``."""

    def __init__(self, seeds: Seeds) -> None:
        self.seeds = seeds

    def words(self, keys: Sequence[tuple[int, int]]) -> np.ndarray:
        """The ``(len(keys), 5)`` uint64 seed words of each ``(epoch, index)``."""
        epochs = np.fromiter((k[0] for k in keys), dtype=np.uint64, count=len(keys))
        indices = np.fromiter((k[1] for k in keys), dtype=np.uint64, count=len(keys))
        return stateless.raw(self.seeds, (epochs, indices), size=_WORDS)

    def run(self, fetch: Callable[[tuple[int, int]], Any], keys: Sequence[tuple[int, int]]) -> list[Any]:
        """``[fetch(key) for key in keys]``, each with the globals seeded from its key."""
        import torch

        words = self.words(keys)
        saved = (random.getstate(), np.random.get_state(), torch.get_rng_state())  # noqa: NPY002  # global-rng-ok: saved to restore
        try:
            out = []
            for key, w in zip(keys, words.tolist()):
                random.seed(w[0] | (w[1] << 64))  # global-rng-ok: per-sample seeding, restored below
                np.random.seed(np.array([w[2], w[3]], dtype=np.uint64).view(np.uint32))  # noqa: NPY002  # global-rng-ok
                torch.default_generator.manual_seed(w[4])  # global-rng-ok
                out.append(fetch(key))
            return out
        finally:
            random.setstate(saved[0])  # global-rng-ok: restoring
            np.random.set_state(saved[1])  # noqa: NPY002  # global-rng-ok: restoring
            torch.set_rng_state(saved[2])  # global-rng-ok: restoring

    def __repr__(self) -> str:
        return f"SampleGlobals({self.seeds!r})"
