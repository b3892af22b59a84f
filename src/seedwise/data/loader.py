"""``seedwise.data.DataLoader``: ``torch.utils.data.DataLoader`` with a seeded order and exact resume.

What it adds to torch's loader, keeping its arguments and conventions:

* the order of epoch ``e`` is a pure function of ``(seeds["data_order"], e)``, sharded
  by ``rank`` / ``world_size`` (see :class:`~seedwise.data.SeededSampler`);
* every sample travels as ``(epoch, index)``, so an augmentation keyed by them
  (``augment=``) gives the same pixels whatever ``num_workers``, ``batch_size``,
  ``world_size`` or resume point;
* worker processes have their global RNGs seeded from ``seeds["worker"][epoch][worker_id]``,
  so third-party code that draws from them differs across workers and epochs and
  repeats across runs;
* iterating never touches the calling process's global RNGs (torch draws its workers'
  base seed from ``generator=``, which seedwise supplies from ``seeds["torch_base_seed"]``);
* :meth:`DataLoader.state_dict` / :meth:`DataLoader.load_state_dict` resume mid-epoch at
  the exact next batch, also in a fresh process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import torch.utils.data

from seedwise._validate import check_choice, check_int
from seedwise.data._dataset import EpochIndexedDataset, is_epoch_keyed
from seedwise.data._workers import WorkerSeeder
from seedwise.data.sampler import _STATE_FORMAT, SeededSampler, _check_state, _key_hex
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds, as_seeds
from seedwise.streams import DATA_ORDER

__all__ = ["DataLoader", "GlobalRNGs", "GLOBAL_RNGS"]

#: What the loader does with the global RNGs third-party code in the dataset draws from.
GlobalRNGs = Literal["worker", "sample", "off"]
GLOBAL_RNGS: tuple[str, ...] = ("worker", "sample", "off")

#: torch DataLoader arguments seedwise sets itself, with what to do instead.
_OWNED = {
    "sampler": "the order comes from seeds; use shuffle=, rank= and world_size=",
    "batch_sampler": "the batches come from seeds; use batch_size=, drop_last=, rank= and world_size=",
    "generator": "the loader derives its generator from seeds['torch_base_seed']",
}


class _EpochBatchSampler:
    """Yields batches of ``(epoch, index)`` pairs for one planned pass (or single pairs)."""

    def __init__(self, batch_size: int | None, drop_last: bool) -> None:
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.epoch = 0
        self.indices: np.ndarray = np.empty(0, dtype=np.int64)
        self.start = 0
        self.ends: list[int] = []

    def plan(self, epoch: int, indices: np.ndarray, start: int) -> list[int]:
        """Set the pass to run; return the sample position after each batch."""
        n, step = len(indices), self.batch_size or 1
        ends = list(range(start + step, n + 1, step))
        if (n - start) % step and not self.drop_last:
            ends.append(n)
        self.epoch, self.indices, self.start, self.ends = epoch, indices, start, ends
        return ends

    def __len__(self) -> int:
        return len(self.ends)

    def __iter__(self) -> Iterator[Any]:
        # The plan is bound now (a later plan() must not change a pass torch has started);
        # the pairs are made lazily, a batch at a time, to keep memory flat on big datasets.
        return self._pairs(self.epoch, self.indices, self.start, self.ends)

    def _pairs(self, epoch: int, indices: np.ndarray, start: int, ends: list[int]) -> Iterator[Any]:
        if self.batch_size is None:
            for i in indices[start:].tolist():
                yield (epoch, i)
            return
        begin = start
        for end in ends:
            yield [(epoch, i) for i in indices[begin:end].tolist()]
            begin = end


class DataLoader:
    """A ``torch.utils.data.DataLoader`` whose order, augmentation and worker RNGs come from ``seeds``.

    Args:
        dataset: a map-style dataset (``__getitem__`` + ``__len__``).
        batch_size: samples per batch, or None for unbatched samples (as in torch).
        shuffle: whether each epoch has its own seeded permutation.
        seeds: the root of the loader's streams (required, keyword-only): the order uses
            ``seeds["data_order"]``, worker globals ``seeds["worker"]``.
        augment: a seedwise augmentation pipeline; the dataset is then wrapped in
            :class:`seedwise.augment.AugmentedDataset`, which applies it keyed by
            ``(epoch, index)`` (and fetches MixUp/CutMix partners). A dataset of your
            own that sets ``seedwise_epoch_keyed = True`` receives ``(epoch, index)``
            pairs itself, for randomness keyed by them (``seedwise.stateless``).
        num_classes: the number of classes, for pipelines that mix labels.
        num_workers: worker processes, as in torch. The batches do not depend on it.
        drop_last: drop the last incomplete batch; with ``world_size > 1`` also drop
            the tail of the order that does not fill every rank, instead of padding it
            with repeated samples (see :class:`SeededSampler`).
        rank, world_size: this process's shard of the order.
        auto_epoch: advance to the next epoch after every complete pass. By default
            (as ``DistributedSampler``) the epoch only changes with :meth:`set_epoch`,
            and a second pass without it repeats the same order.
        global_rngs: what seedwise does with the global RNGs (Python's ``random``,
            NumPy's legacy ``np.random``, torch's default generator) that third-party
            code inside the dataset may draw from:

            * ``"worker"`` (default): each worker process's globals are seeded from
              ``seeds["worker"][epoch][worker_id]`` (again when a persistent worker
              sees a new epoch). Their draws differ across workers and epochs and
              repeat in every run with the same ``num_workers``; they change with
              ``num_workers`` and after a resume. With ``num_workers=0`` the dataset
              runs in your process and seedwise leaves your globals alone.
            * ``"sample"``: each sample is made with the globals (torch: its CPU
              generator) seeded from ``(seeds["sample_globals"], epoch, index)``, and
              they are restored after each batch. Global draws are then a pure function
              of (epoch, index) like the rest: the same for any ``num_workers``, batch
              size, rank or resume point, and your own globals are untouched with
              ``num_workers=0``. It costs a reseeding of three RNGs per sample (about
              0.1 ms, see benchmarks/RESULTS.md): opt in for third-party code you
              cannot key.
            * ``"off"``: torch's own worker seeding (from a base seed seedwise derives
              from ``seeds["torch_base_seed"][epoch]``, so still reproducible).
        **torch_kwargs: passed to ``torch.utils.data.DataLoader`` (``collate_fn``,
            ``pin_memory``, ``persistent_workers``, ``prefetch_factor``, ``timeout``,
            ``multiprocessing_context``...). A ``worker_init_fn`` runs after seedwise
            has seeded the worker. ``sampler``, ``batch_sampler`` and ``generator`` are
            seedwise's to set, and ``in_order=False`` would make batches depend on
            worker timing; each is rejected.

    Iterating yields the batches of the current epoch from the current position: after
    :meth:`load_state_dict`, the batches the interrupted run had not yet consumed.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool = False,
        *,
        seeds: Seeds | int,
        augment: Any = None,
        num_classes: int | None = None,
        num_workers: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
        auto_epoch: bool = False,
        global_rngs: GlobalRNGs = "worker",
        **torch_kwargs: Any,
    ) -> None:
        self._stream = isinstance(dataset, torch.utils.data.IterableDataset)
        if self._stream and not getattr(dataset, "seedwise_stream", False):
            raise InvalidTypeError(
                "dataset is an IterableDataset, which has no indices to order or key augmentation by; "
                "seedwise.data.DataLoader needs a map-style dataset (__getitem__ and __len__), or a stream "
                "that keys its own augmentation by position, such as seedwise.data.GStreamerSource"
            )
        if self._stream:
            if shuffle or augment is not None or rank != 0 or world_size != 1 or auto_epoch or global_rngs == "sample":
                raise InvalidArgumentError(
                    "a stream (such as GStreamerSource) comes in its own order and augments itself by frame "
                    "index: pass augment= to the source, and leave shuffle, augment, rank, world_size, "
                    "auto_epoch and global_rngs='sample' at their defaults"
                )
            self._init_stream(dataset, batch_size, seeds, num_workers, drop_last, global_rngs, torch_kwargs)
            return
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size, low=1)
        check_choice("global_rngs", global_rngs, GLOBAL_RNGS)
        for name, value in (("shuffle", shuffle), ("drop_last", drop_last), ("auto_epoch", auto_epoch)):
            if not isinstance(value, bool):
                raise InvalidTypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
        num_workers = check_int("num_workers", num_workers, low=0)
        for name, why in _OWNED.items():
            if name in torch_kwargs:
                raise InvalidArgumentError(f"seedwise.data.DataLoader does not take {name}=: {why}")
        if torch_kwargs.get("in_order", True) is not True:
            raise InvalidArgumentError(
                "in_order=False hands out batches in the order workers finish them, so they would depend on "
                "timing; seedwise.data.DataLoader keeps in_order=True"
            )
        user_init = torch_kwargs.pop("worker_init_fn", None)
        if user_init is not None and not callable(user_init):
            raise InvalidTypeError(f"worker_init_fn must be callable, got {type(user_init).__name__}")
        if num_classes is not None:
            if augment is None:
                raise InvalidArgumentError(
                    "num_classes is only used with augment= (for label mixing); drop it or pass augment"
                )
            num_classes = check_int("num_classes", num_classes, low=1)

        self.seeds = as_seeds(seeds, "seeds")
        self.dataset = dataset
        self.augment = augment
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.num_workers = num_workers
        self.auto_epoch = auto_epoch
        self.global_rngs = global_rngs
        self.sampler = SeededSampler(
            dataset,
            seeds=self.seeds[DATA_ORDER],
            shuffle=shuffle,
            rank=rank,
            world_size=world_size,
            drop_last=drop_last,
        )
        if augment is not None:
            from seedwise.augment import AugmentedDataset, Compose

            if not isinstance(augment, Compose):
                raise InvalidTypeError(
                    f"augment must be a seedwise.augment.Compose pipeline (e.g. augment=A.Compose([...], "
                    f"seeds=seeds['augment'])), got {type(augment).__name__}"
                )
            if augment.seeds is None:
                raise InvalidArgumentError("augment has no seeds: build it as A.Compose([...], seeds=seeds['augment'])")
            inner: Any = AugmentedDataset(dataset, augment, num_classes=num_classes)
        else:
            inner = dataset
        self._view = EpochIndexedDataset(
            inner,
            keyed=augment is not None or is_epoch_keyed(dataset),
            worker_seeds=self.seeds["worker"] if global_rngs != "off" else None,
            sample_seeds=self.seeds["sample_globals"] if global_rngs == "sample" else None,
        )
        self._batches = _EpochBatchSampler(batch_size, drop_last)
        self._seeder = WorkerSeeder(self.seeds["worker"], 0, user_init)
        batching: dict[str, Any] = (
            {"batch_sampler": self._batches}
            if batch_size is not None
            else {"batch_size": None, "sampler": self._batches}
        )
        self.torch_loader = torch.utils.data.DataLoader(
            self._view,
            num_workers=num_workers,
            worker_init_fn=self._seeder,
            generator=self.seeds["torch_base_seed"][0].torch(),
            **batching,
            **torch_kwargs,
        )
        self._epoch = 0
        self._position = 0  # samples of this rank's shard consumed in the current epoch
        self._consumed_batches = 0
        self._resume = False
        self._pass = 0  # identifies the live iteration; an older one stops updating the state

    def _init_stream(self, dataset: Any, batch_size: int | None, seeds: Any, num_workers: Any, drop_last: bool,
                     global_rngs: str, torch_kwargs: dict[str, Any]) -> None:  # fmt: skip
        """Pass a self-keyed stream to torch's loader, with seeded workers and no global draws."""
        for name, why in _OWNED.items():
            if name in torch_kwargs:
                raise InvalidArgumentError(f"seedwise.data.DataLoader does not take {name}=: {why}")
        user_init = torch_kwargs.pop("worker_init_fn", None)
        self.seeds = as_seeds(seeds, "seeds")
        self.dataset, self.augment, self.sampler = dataset, None, None
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, low=1)
        self.shuffle, self.drop_last, self.auto_epoch = False, drop_last, False
        self.num_workers = check_int("num_workers", num_workers, low=0)
        self._seeder = WorkerSeeder(self.seeds["worker"], 0, user_init) if global_rngs != "off" else user_init
        self.torch_loader = torch.utils.data.DataLoader(
            dataset, batch_size=self.batch_size, drop_last=drop_last, num_workers=self.num_workers,
            worker_init_fn=self._seeder, generator=self.seeds["torch_base_seed"][0].torch(), **torch_kwargs,
        )  # fmt: skip
        self._epoch = 0

    def _stream_only_error(self, what: str) -> InvalidArgumentError:
        return InvalidArgumentError(
            f"{what} is not available for a stream ({type(self.dataset).__name__}): it has no indexable order "
            "to save or measure; restart the stream, or skip frames by index, to resume"
        )

    # -- epochs ---------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        """The epoch whose order the next iteration uses."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Iterate the order of ``epoch`` from now on (call it at the start of each epoch).

        A different epoch starts at its first batch. Setting the current epoch again
        keeps a position restored by :meth:`load_state_dict`, so the usual loop
        ``for epoch in range(saved_epoch, epochs): loader.set_epoch(epoch); for batch in loader: ...``
        resumes at the right batch.
        """
        epoch = check_int("epoch", epoch, low=0, high=2**64)
        if self._stream:
            self._epoch = epoch
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(epoch)
            if isinstance(self._seeder, WorkerSeeder):
                self._seeder.epoch = epoch
            return
        if epoch != self._epoch:
            self._epoch, self._position, self._consumed_batches, self._resume = epoch, 0, 0, False

    # -- iteration ------------------------------------------------------------------

    def __len__(self) -> int:
        """Batches per complete epoch on this rank (as torch's ``len(loader)``)."""
        if self._stream:
            raise TypeError(f"a stream ({type(self.dataset).__name__}) has no length")
        n = self.sampler.num_samples
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        if self._stream:
            self.torch_loader.generator = self.seeds["torch_base_seed"][self._epoch].torch()
            return iter(self.torch_loader)
        start = self._position if self._resume else 0
        self._resume = False
        epoch = self._epoch
        indices = self.sampler.indices(epoch)
        ends = self._batches.plan(epoch, indices, start)
        self._position = start
        self._consumed_batches = self._consumed_batches if start else 0
        self._seeder.epoch = epoch
        self.torch_loader.generator = self.seeds["torch_base_seed"][epoch].torch()
        self._pass += 1
        if not ends:  # nothing left in this epoch: do not start workers for it
            self._finish()
            return iter(())
        return self._run(iter(self.torch_loader), ends, self._pass)

    def _run(self, batches: Iterator[Any], ends: list[int], token: int) -> Iterator[Any]:
        for end in ends:
            if token != self._pass:  # a newer pass has started (and may share torch's iterator)
                return
            try:
                batch = next(batches)
            except StopIteration:  # pragma: no cover - torch yields exactly len(ends) batches
                break
            self._position = end
            self._consumed_batches += 1
            yield batch
        if token == self._pass:
            next(batches, None)  # let torch reach the end of its pass (it then shuts its workers down)
            self._finish()

    def _finish(self) -> None:
        if self.auto_epoch:
            self._epoch, self._position, self._consumed_batches = self._epoch + 1, 0, 0
        else:
            self._position = self.sampler.num_samples

    # -- state ----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Where this loader stands, as a JSON-ready dict.

        ``epoch`` and ``samples`` (samples of this rank's shard consumed in that epoch)
        are the position; ``batches`` is the same position in batches, for reading;
        the rest records what the order depends on, so that loading it into a loader
        built differently fails loudly instead of resuming at the wrong samples.
        """
        if self._stream:
            raise self._stream_only_error("state_dict()")
        return {
            "seedwise_loader": _STATE_FORMAT,
            "epoch": self._epoch,
            "samples": self._position,
            "batches": self._consumed_batches,
            "batch_size": self.batch_size,
            **self._describe(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume where :meth:`state_dict` was taken: the next iteration yields the remaining batches.

        The position is in samples, so a loader with another ``batch_size`` resumes at
        the same sample (its batches then group the rest differently). A state saved
        after the last batch of an epoch resumes as that epoch finished: iterating
        yields nothing until :meth:`set_epoch` moves on.
        """
        if self._stream:
            raise self._stream_only_error("load_state_dict()")
        epoch, position = _check_state(state, "seedwise_loader", self._describe(), self.sampler.num_samples, "samples")
        batches = state.get("batches", 0)
        self._epoch, self._position, self._resume = epoch, position, True
        self._consumed_batches = batches if isinstance(batches, int) and not isinstance(batches, bool) else 0

    def _describe(self) -> dict[str, Any]:
        s = self.sampler
        return {
            "dataset_length": s.dataset_length,
            "shuffle": s.shuffle,
            "rank": s.rank,
            "world_size": s.world_size,
            "drop_last": s.drop_last,
            "order_key": _key_hex(s.seeds),
        }

    def __repr__(self) -> str:
        if self._stream:
            return (f"DataLoader(dataset={self.dataset!r}, batch_size={self.batch_size}, seeds={self.seeds!r}, "
                    f"num_workers={self.num_workers}, epoch={self._epoch})")  # fmt: skip
        shard = (
            f", rank={self.sampler.rank}, world_size={self.sampler.world_size}" if self.sampler.world_size > 1 else ""
        )
        aug = f", augment={self.augment!r}" if self.augment is not None else ""
        return (
            f"DataLoader(dataset={type(self.dataset).__name__}(len={self.sampler.dataset_length}), "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, seeds={self.seeds!r}{aug}, "
            f"num_workers={self.num_workers}, drop_last={self.drop_last}{shard}, epoch={self._epoch}, "
            f"position={self._position}/{self.sampler.num_samples})"
        )
