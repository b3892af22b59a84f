"""``seedwise.data.DataLoader``: a seeded data loader that trainers cannot misuse and that resumes anywhere.

What it adds to torch's loader, keeping its arguments and conventions:

* the order of epoch ``e`` is a pure function of ``(seeds["data_order"], e)``, sharded
  by ``rank`` / ``world_size`` (see :class:`~seedwise.data.SeededSampler`), which it takes
  from the ``torch.distributed`` process group when they are left out;
* every sample travels as ``(epoch, index)``, so an augmentation keyed by them
  (``augment=``) gives the same pixels whatever ``num_workers``, ``batch_size``,
  ``world_size`` or resume point;
* worker processes have their global RNGs seeded from ``seeds["worker"][epoch][worker_id]``,
  so third-party code that draws from them differs across workers and epochs and
  repeats across runs;
* iterating never touches the calling process's global RNGs (torch draws its workers'
  base seed from ``generator=``, which seedwise supplies from ``seeds["torch_base_seed"]``);
* the epoch follows whichever signal a trainer sends (``set_epoch`` on the loader, its
  ``sampler`` or its ``batch_sampler``; with ``auto_epoch=True``, serving the last batch);
* :meth:`DataLoader.state_dict` / :meth:`DataLoader.load_state_dict` resume mid-epoch at
  the exact next sample, also in a fresh process, on another number of processes or
  with another batch size;
* with ``with_keys=True`` each batch comes with its :class:`~seedwise.data.SampleKeys`
  (epoch and sample indices), for randomness in the training step keyed by sample
  (per-sample dropout: the same masks on any number of processes).

It is not a ``torch.utils.data.DataLoader`` subclass, on purpose: trainers rebuild torch
loaders (Lightning injects a ``DistributedSampler``, Accelerate re-creates the loader
around a sharded batch sampler), which would drop the seedwise order, keys and position.
They leave this loader alone; it shards itself, and seedwise's integrations add what a
trainer would otherwise add (device placement, checkpointing). See docs/data.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, Self, cast

import torch.utils.data

from seedwise._validate import check_choice, check_int
from seedwise.data._batches import EpochBatchSampler, SampleKeys, batch_ends, batch_keys
from seedwise.data._cursor import Cursor, Layout
from seedwise.data._dataset import EpochIndexedDataset, is_epoch_keyed
from seedwise.data._handles import BatchSamplerView, LoaderSampler
from seedwise.data._resume import ResumePoint, resume_point
from seedwise.data._shard import shard
from seedwise.data._state import LOADER_FORMAT, key_hex
from seedwise.data._workers import WorkerSeeder, forks_workers
from seedwise.data._world import describe_world
from seedwise.data.sampler import SeededSampler
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds, as_seeds
from seedwise.stateless._per_sample import warm as warm_draws
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


def check_torch_kwargs(torch_kwargs: Mapping[str, Any]) -> None:
    """Refuse the torch arguments seedwise sets itself, saying what to use instead."""
    for name, why in _OWNED.items():
        if name in torch_kwargs:
            raise InvalidArgumentError(f"seedwise.data.DataLoader does not take {name}=: {why}")
    user_init = torch_kwargs.get("worker_init_fn")
    if user_init is not None and not callable(user_init):
        raise InvalidTypeError(f"worker_init_fn must be callable, got {type(user_init).__name__}")


def _is_stream(dataset: object) -> bool:
    return isinstance(dataset, torch.utils.data.IterableDataset) and getattr(dataset, "seedwise_stream", False) is True


class DataLoader:
    """A data loader whose order, augmentation and worker RNGs come from ``seeds``, with torch's arguments.

    Args:
        dataset: a map-style dataset (``__getitem__`` + ``__len__``), or a stream that
            keys its own augmentation by position (:class:`seedwise.data.GStreamerSource`).
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
        rank, world_size: this process's shard of the order. Left out (None), they come
            from the initialised ``torch.distributed`` process group when the loader is
            iterated (0 and 1 without one); under ``torchrun`` before the process group
            exists, iterating raises rather than giving every rank the same data.
            ``world_size=1`` gives every process all the data.
        auto_epoch: move to the next epoch as soon as the last batch of an epoch has
            been served (``len(loader)`` batches: also when the consumer stops there, as
            ``zip(range(len(loader)), loader)`` and trainers do). By default (as
            ``DistributedSampler``) the epoch only changes with ``set_epoch``, and a
            second pass without it repeats the same order.
        with_keys: yield ``(keys, batch)`` instead of ``batch``, where ``keys`` is the
            batch's :class:`~seedwise.data.SampleKeys` ``(epoch, indices)``: the dataset
            index of each row, in row order. Pass them to
            ``keyed_dropout(seeds["dropout"], per_sample=keys)`` for dropout masks that
            follow the sample (the same on any number of processes), or key any other
            per-sample randomness of the training step by them.
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
    :meth:`load_state_dict`, the samples the interrupted run had not yet consumed. The
    pass is bound when its first batch is asked for, so a ``set_epoch`` between
    ``iter(loader)`` and the first ``next`` counts.
    """

    #: The subclass that loads streams; it registers itself (``class ...(DataLoader, streams=True)``).
    _stream_loader: type[DataLoader] | None = None

    def __init_subclass__(cls, *, streams: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if streams:
            DataLoader._stream_loader = cls

    def __new__(cls, dataset: Any, *args: Any, **kwargs: Any) -> Self:
        if cls is DataLoader and _is_stream(dataset):  # a stream is loaded as it comes: no order to keep
            if DataLoader._stream_loader is None:  # pragma: no cover - seedwise.data imports it
                raise InvalidTypeError("streams need seedwise.data._stream: import seedwise.data")
            return cast(Self, object.__new__(DataLoader._stream_loader))
        return object.__new__(cls)

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
        rank: int | None = None,
        world_size: int | None = None,
        auto_epoch: bool = False,
        global_rngs: GlobalRNGs = "worker",
        with_keys: bool = False,
        **torch_kwargs: Any,
    ) -> None:
        if isinstance(dataset, torch.utils.data.IterableDataset):
            raise InvalidTypeError(
                "dataset is an IterableDataset, which has no indices to order or key augmentation by; "
                "seedwise.data.DataLoader needs a map-style dataset (__getitem__ and __len__), or a stream "
                "that keys its own augmentation by position, such as seedwise.data.GStreamerSource"
            )
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size, low=1)
        check_choice("global_rngs", global_rngs, GLOBAL_RNGS)
        flags = (("shuffle", shuffle), ("drop_last", drop_last), ("auto_epoch", auto_epoch), ("with_keys", with_keys))
        for name, value in flags:
            if not isinstance(value, bool):
                raise InvalidTypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
        num_workers = check_int("num_workers", num_workers, low=0)
        check_torch_kwargs(torch_kwargs)
        if torch_kwargs.get("in_order", True) is not True:
            raise InvalidArgumentError(
                "in_order=False hands out batches in the order workers finish them, so they would depend on "
                "timing; seedwise.data.DataLoader keeps in_order=True"
            )
        user_init = torch_kwargs.pop("worker_init_fn", None)
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
        self.with_keys = with_keys
        self._sampler = LoaderSampler(
            dataset,
            seeds=self.seeds[DATA_ORDER],
            shuffle=shuffle,
            rank=rank,
            world_size=world_size,
            drop_last=drop_last,
            on_epoch=self._epoch_set,
        )
        self._cursor = Cursor(self._sampler.dataset_length, batch_size, drop_last)
        self._view = EpochIndexedDataset(
            self._wrap(dataset, augment, num_classes),
            keyed=augment is not None or is_epoch_keyed(dataset),
            worker_seeds=self.seeds["worker"] if global_rngs != "off" else None,
            sample_seeds=self.seeds["sample_globals"] if global_rngs == "sample" else None,
        )
        self._batches = EpochBatchSampler(batch_size)
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
        # torch's settings, read-only, for code that reads them off a loader (trainers do).
        self.collate_fn = self.torch_loader.collate_fn
        self.pin_memory = self.torch_loader.pin_memory
        self.timeout = self.torch_loader.timeout
        self.prefetch_factor = self.torch_loader.prefetch_factor
        self.persistent_workers = self.torch_loader.persistent_workers
        self.multiprocessing_context = self.torch_loader.multiprocessing_context
        self._pass = 0  # identifies the live pass; an older one stops and no longer moves the position

    @staticmethod
    def _wrap(dataset: Any, augment: Any, num_classes: int | None) -> Any:
        if augment is None:
            return dataset
        from seedwise.augment import AugmentedDataset, Compose

        if not isinstance(augment, Compose):
            raise InvalidTypeError(
                f"augment must be a seedwise.augment.Compose pipeline (e.g. augment=A.Compose([...], "
                f"seeds=seeds['augment'])), got {type(augment).__name__}"
            )
        if augment.seeds is None:
            raise InvalidArgumentError("augment has no seeds: build it as A.Compose([...], seeds=seeds['augment'])")
        return AugmentedDataset(dataset, augment, num_classes=num_classes)

    # -- what trainers reach --------------------------------------------------------

    @property
    def sampler(self) -> SeededSampler:
        """The order (a :class:`SeededSampler`); ``sampler.set_epoch`` moves this loader too. Read-only."""
        return self._sampler

    @property
    def batch_sampler(self) -> BatchSamplerView | None:
        """``set_epoch``, ``sampler``, ``batch_size`` and ``len`` for trainers (None when unbatched); not iterable."""
        return BatchSamplerView(self) if self.batch_size is not None else None

    @property
    def rank(self) -> int:
        """This process's rank: as given, else the process group's (0 outside distributed training)."""
        return self._sampler.rank

    @property
    def world_size(self) -> int:
        """The number of ranks: as given, else the process group's size (1 outside distributed training)."""
        return self._sampler.world_size

    # -- epochs ---------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        """The epoch whose order the next iteration uses."""
        return self._cursor.epoch

    def set_epoch(self, epoch: int) -> None:
        """Iterate the order of ``epoch`` from now on (call it at the start of each epoch).

        ``loader.sampler.set_epoch`` and ``loader.batch_sampler.set_epoch`` do the same.
        A different epoch starts at its first batch. Setting the current epoch again
        keeps a position restored by :meth:`load_state_dict`, so the usual loop
        ``for epoch in range(saved_epoch, epochs): loader.set_epoch(epoch); for batch in loader: ...``
        resumes at the right batch.
        """
        self._sampler.set_epoch(epoch)  # validates, then calls back _epoch_set

    def _epoch_set(self, epoch: int) -> None:
        self._cursor.move_to(epoch)

    # -- iteration ------------------------------------------------------------------

    def __len__(self) -> int:
        """Batches per complete epoch on this rank (as torch's ``len(loader)``)."""
        n = self._sampler.num_samples
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def batches_left(self) -> int:
        """Batches the next pass over the current epoch yields on this rank.

        ``len(loader)`` for an epoch started afresh; after :meth:`load_state_dict`, the
        batches not yet consumed (0 for an epoch that was finished). A trainer that counts
        the batches of an epoch itself compares it with its own count when it resumes
        (``seedwise.integrations`` do).
        """
        rank, world_size = self._sampler.world()
        length, start = self._cursor.pending(Layout(rank, world_size, 0))
        return len(batch_ends(length, start, self.batch_size, self.drop_last))

    def __iter__(self) -> Iterator[Any]:
        self._pass += 1
        return self._run(self._pass)

    def _run(self, token: int) -> Iterator[Any]:
        # Runs from the first next(): the pass is planned then, not at iter().
        if token != self._pass:  # a newer pass has started (and may share torch's iterator)
            return
        rank, world_size = self._sampler.world()
        epoch = self._cursor.epoch
        order = self._sampler.global_order(epoch)

        keys: Iterator[SampleKeys] | None = None

        def plan(origin: int, start: int) -> list[int]:
            nonlocal keys
            indices = shard(order, rank, world_size, self.drop_last, origin)
            ends = batch_ends(len(indices), start, self.batch_size, self.drop_last)
            self._batches.plan(epoch, indices, start, ends)
            if self.with_keys:
                keys = batch_keys(epoch, indices, start, ends)
            return ends

        ends = self._cursor.begin(token, Layout(rank, world_size, 0), plan)
        if not ends:  # nothing left in this epoch: do not start workers for it
            self._finish(epoch)
            return
        self._seeder.epoch = epoch
        self.torch_loader.generator = self.seeds["torch_base_seed"][epoch].torch()
        if self.num_workers and self._view.keyed and forks_workers(self.multiprocessing_context):
            warm_draws()  # forked workers inherit the compiled draws instead of each loading them, every epoch
        batches = iter(self.torch_loader)
        for k in range(len(ends)):
            if token != self._pass:
                return
            batch = next(batches)
            if self._cursor.served(token, k):  # the last batch: the epoch is served before the consumer
                self._finish(epoch)  # has it, for consumers that stop after len(loader) batches
            yield batch if keys is None else (next(keys), batch)
        if token == self._pass:
            next(batches, None)  # let torch reach the end of its pass (it then shuts its workers down)

    def _finish(self, epoch: int) -> None:
        if self.auto_epoch and self._cursor.epoch == epoch:
            self._cursor.advance()
            self._sampler.set_epoch(epoch + 1)

    # -- state ----------------------------------------------------------------------

    def state_dict(self, *, prefetched: int = 0) -> dict[str, Any]:
        """Where this loader stands, as a JSON-ready dict.

        ``epoch`` and ``position`` are what a resume needs: ``position`` is the first
        sample of the epoch's global order (all ranks together) not yet consumed, so
        the state resumes on any number of processes and with any batch size.
        ``samples`` and ``batches`` are this rank's progress, for reading; ``rank``,
        ``world_size`` and ``origin`` the layout they refer to; the rest records what the
        order depends on, so that loading it into a loader built differently fails
        loudly instead of resuming at the wrong samples.

        Args:
            prefetched: the last batches served that the consumer has fetched ahead and
                not used yet (a trainer that prefetches one batch to know whether the
                epoch ends); the state is taken as if they had not been served.
        """
        prefetched = check_int("prefetched", prefetched, low=0)
        rank, world_size = self._sampler.world()
        return {
            "seedwise_loader": LOADER_FORMAT,
            **self._cursor.state(Layout(rank, world_size, 0), prefetched),
            "batch_size": self.batch_size,
            "drop_last": self.drop_last,
            **self._describe(),
        }

    def load_state_dict(self, state: dict[str, Any] | Sequence[dict[str, Any]]) -> ResumePoint:
        """Resume where :meth:`state_dict` was taken: the next iteration yields the samples not yet consumed.

        ``state`` is one rank's state (distributed data-parallel ranks step in lockstep,
        so any rank's state stands for all of them), or a list with every rank's state
        when ranks may have stopped at different positions: then the loader resumes at
        the smallest, so no sample is skipped, and the samples the ranks ahead had
        consumed are served again (counted in the returned ``repeated``, and warned about).

        The state may come from any number of processes and any batch size: the loader
        continues at the same global position of the same epoch, its ranks' shards laid
        out from there. A state saved after the last batch of an epoch resumes as that
        epoch finished: iterating yields nothing until :meth:`set_epoch` moves on. A
        state whose order cannot match (another dataset length, ``shuffle`` or seeds)
        raises :class:`~seedwise.errors.InvalidArgumentError` naming the field.

        Returns:
            the :class:`~seedwise.data.ResumePoint`: epoch, global position, and how many
            samples will be served again.
        """
        point = resume_point(state, self._describe(), self._sampler.dataset_length)
        if point.repeated:
            import warnings

            warnings.warn(
                f"the saved ranks stopped at different positions of epoch {point.epoch}; resuming at the smallest, "
                f"global position {point.position}, so that no sample is skipped: {point.repeated} samples that a "
                "rank ahead had already consumed will be served again",
                UserWarning,
                stacklevel=2,
            )
        self._sampler.set_epoch(point.epoch)
        self._cursor.restore(point)
        return point

    def _describe(self) -> dict[str, Any]:
        return {
            "dataset_length": self._sampler.dataset_length,
            "shuffle": self.shuffle,
            "order_key": key_hex(self._sampler.seeds),
        }

    def __repr__(self) -> str:
        aug = f", augment={self.augment!r}" if self.augment is not None else ""
        world = describe_world(self._sampler.world)
        try:
            total: Any = self._sampler.num_samples
        except InvalidArgumentError:
            total = "?"
        return (
            f"DataLoader(dataset={type(self.dataset).__name__}(len={self._sampler.dataset_length}), "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, seeds={self.seeds!r}{aug}, "
            f"num_workers={self.num_workers}, drop_last={self.drop_last}{world}"
            f"{', with_keys=True' if self.with_keys else ''}, epoch={self.epoch}, "
            f"position={self._cursor.samples}/{total})"
        )
