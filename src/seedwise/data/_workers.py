"""Seeding the global RNGs of DataLoader worker processes from (stream, epoch, worker).

Third-party code inside a dataset (an old augmentation library, the global
``numpy.random`` functions in a user's ``__getitem__``) draws from the process-global
RNGs. In each worker process
seedwise sets those globals -- Python's ``random``, NumPy's legacy ``np.random`` and
torch's default generator -- from ``seeds[epoch][worker_id]``, so they differ across
workers and epochs (no repeated augmentations: the classic NumPy-in-forked-workers
bug) and are the same in every run with the same seeds.

This module is the one place in :mod:`seedwise.data` that writes global RNG state, and
that only ever runs inside worker processes, never in the process that iterates. (The
process that iterates asks :func:`forks_workers` here before it forks workers.)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from seedwise.seeds import Seeds

__all__ = ["seed_globals", "WorkerSeeder", "forks_workers"]


def seed_globals(seeds: Seeds) -> None:
    """Set Python's, NumPy's legacy and torch's global RNGs from the stream ``seeds``.

    Each library gets its own child stream (``seeds["python"]``, ``["numpy"]``,
    ``["torch"]``) with its full seed width: 128 bits for ``random``, 256 for NumPy's
    MT19937 (no folding to 32 bits), 64 for torch.
    """
    import torch

    random.setstate(seeds["python"].python().getstate())  # global-rng-ok: seeds a worker's globals
    words = seeds["numpy"].numpy().integers(0, 2**32, size=8, dtype=np.uint32)
    np.random.seed(words)  # noqa: NPY002  # global-rng-ok: seeds a worker's globals (its purpose)
    # The CPU default generator only: torch.manual_seed would also queue a lazy CUDA
    # seeding (and capture a stack trace for it), ~1 ms each time; a worker's CUDA
    # generators, if it uses any, keep torch's seeding from the base seed seedwise derives.
    torch.default_generator.manual_seed(seeds["torch"].torch().initial_seed())  # global-rng-ok


class WorkerSeeder:
    """The ``worker_init_fn`` of :class:`seedwise.data.DataLoader`.

    Seeds the worker's globals from ``seeds[epoch][worker_id]`` for the epoch the
    iteration starts in, tells the worker's copy of the dataset which epoch it seeded
    (so that persistent workers reseed when a later epoch's first sample arrives), then
    calls the user's ``worker_init_fn``, if any, with the worker id.
    """

    def __init__(self, seeds: Seeds, epoch: int, user_fn: Callable[[int], Any] | None = None) -> None:
        self.seeds = seeds
        self.epoch = epoch
        self.user_fn = user_fn

    def __call__(self, worker_id: int) -> None:
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        dataset = info.dataset if info is not None else None
        reseed = getattr(dataset, "_seedwise_seed_worker", None)
        if reseed is not None:
            reseed(self.epoch, worker_id)
        else:  # pragma: no cover - the loader always wraps the dataset
            seed_globals(self.seeds[self.epoch][worker_id])
        if self.user_fn is not None:
            self.user_fn(worker_id)

    def __repr__(self) -> str:
        return f"WorkerSeeder(seeds={self.seeds!r}, epoch={self.epoch}, user_fn={self.user_fn!r})"


def forks_workers(context: Any) -> bool:
    """Whether a torch DataLoader with this ``multiprocessing_context`` (None, a name or a
    context) starts its workers by forking this process (Linux's default before Python 3.14).

    Asks without fixing the start method (``get_context()`` would fix it for the process).
    """
    import multiprocessing

    if context is None:
        method = multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]
    else:
        method = context if isinstance(context, str) else context.get_start_method()
    return bool(method == "fork")
