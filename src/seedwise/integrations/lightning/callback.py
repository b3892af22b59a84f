"""``SeedwiseCallback``: seedwise's guarantees inside a Lightning ``Trainer``, by default and loudly.

What it does, hook by hook:

* ``setup`` (fit): logs the run's record -- the seeds tree, the ``seed_everything``
  report and :func:`seedwise.fingerprint` -- under the hyperparameter ``seedwise`` of
  every logger of the trainer.
* ``on_train_start``: checks every seedwise loader the trainer trains on: it loads this
  rank's shard of the trainer's world size, and its seeds are the callback's (else
  :class:`~seedwise.errors.InvalidArgumentError`); warns when the training loader is not a
  seedwise loader at all. Notes how many batches each loader has left, for the check below.
* ``on_train_epoch_start``: sets each seedwise loader's epoch to the trainer's (Lightning
  also calls ``loader.sampler.set_epoch``; either moves the loader).
* ``on_train_batch_start`` / ``on_train_batch_end``: the training step runs with the
  torch's global RNGs (which ``nn.Dropout`` draws from) keyed by ``seeds["dropout"][rank]``
  at the global step (see :mod:`seedwise.integrations._steps`), and restored after it. At the
  first batch of a resumed run it checks that the loader has as many batches left in the
  epoch as Lightning counts: after a resume on another number of devices with another
  global batch size they differ, and Lightning would end the epoch early and skip samples.

Lightning itself saves the loader's ``state_dict()`` in its checkpoints and loads it on
resume (for any loader with ``state_dict`` and ``load_state_dict``); the seedwise state is
a global position, so a checkpoint resumes on any number of devices.
"""

from __future__ import annotations

import warnings
from typing import Any

import lightning.pytorch as pl

from seedwise._validate import check_bool
from seedwise.data import DataLoader
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.integrations._loaders import check_seeds, check_world, seedwise_loaders
from seedwise.integrations._record import run_record
from seedwise.integrations._steps import StepKeys, step_position
from seedwise.process.seeding import SeedReport
from seedwise.seeds import Seeds, as_seeds
from seedwise.streams import DROPOUT

__all__ = ["SeedwiseCallback"]

_WHO = "the Lightning Trainer"


class SeedwiseCallback(pl.Callback):
    """Keeps seedwise's promises inside a Lightning ``Trainer`` (see the module doc for each hook).

    Args:
        seeds: the run's root :class:`~seedwise.Seeds` (or an int); the seedwise loaders
            the trainer trains on must be built from the same root.
        report: what :func:`seedwise.seed_everything` returned, if you called it; logged
            with the seeds.
        key_dropout: run every training step with torch's global RNGs keyed by
            ``(seeds["dropout"][rank], global step)`` -- masks that differ between ranks
            and repeat exactly after a resume. False leaves the global RNGs alone (for
            per-sample masks with ``keyed_dropout``, see docs/integrations.md).
        log_hyperparams: log the run's record to the trainer's loggers.

    Example::

        seeds = sw.Seeds(42)
        report = sw.seed_everything(seeds)
        trainer = L.Trainer(callbacks=[SeedwiseCallback(seeds, report=report)], ...)
        trainer.fit(model, datamodule=SeedwiseDataModule(train_set, batch_size=64, seeds=seeds))
    """

    def __init__(
        self,
        seeds: Seeds | int,
        *,
        report: Any = None,
        key_dropout: bool = True,
        log_hyperparams: bool = True,
    ) -> None:
        super().__init__()
        self.seeds = as_seeds(seeds, "seeds")
        if report is not None and not isinstance(report, SeedReport):
            raise InvalidTypeError(
                f"report must be what seedwise.seed_everything() returned (a SeedReport) or None, got "
                f"{type(report).__name__}"
            )
        self.report = report
        self.key_dropout = check_bool("key_dropout", key_dropout)
        self.log_hyperparams = check_bool("log_hyperparams", log_hyperparams)
        self._keys = StepKeys(self.seeds[DROPOUT])
        self._left: dict[int, int] = {}  # id(loader) -> batches left when training started
        self._first_batch = False
        self._rank = 0  # the trainer's global rank, set by on_train_start

    # -- the run's record -----------------------------------------------------------

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit" and self.log_hyperparams and trainer.loggers:
            record = {"seedwise": run_record(self.seeds, self.report).document}
            for logger in trainer.loggers:
                logger.log_hyperparams(record)

    # -- loaders --------------------------------------------------------------------

    def _train_loaders(self, trainer: pl.Trainer) -> list[DataLoader]:
        return seedwise_loaders(trainer.train_dataloader)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        loaders = self._train_loaders(trainer)
        if not loaders:
            warnings.warn(
                "SeedwiseCallback: the training loader is not a seedwise.data.DataLoader, so its order and "
                "augmentation are not seedwise's and its shards and resume position are Lightning's; use "
                "seedwise.integrations.lightning.SeedwiseDataModule or return a seedwise.data.DataLoader from "
                "train_dataloader()",
                UserWarning,
                stacklevel=2,
            )
        for loader in loaders:
            check_world(loader, trainer.global_rank, trainer.world_size, _WHO)
            check_seeds(loader, self.seeds, "the SeedwiseCallback")
        # Lightning has loaded the checkpoint's loader states by now, and sets the epoch it
        # resumes next (a different one when the checkpoint ended an epoch): count from there.
        for loader in loaders:
            loader.set_epoch(trainer.current_epoch)
        self._left = {id(loader): loader.batches_left() for loader in loaders}
        self._first_batch = True
        self._rank = trainer.global_rank  # fixed for the fit: read here, not at every step

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for loader in self._train_loaders(trainer):
            loader.set_epoch(trainer.current_epoch)

    def _check_resumed_count(self, trainer: pl.Trainer, batch_idx: int) -> None:
        """At the first batch of a run: the loader's batches left must be Lightning's count of them."""
        loaders = self._train_loaders(trainer)
        if len(loaders) != 1 or trainer.num_training_batches != len(loaders[0]):
            return  # several loaders, or limit_train_batches: Lightning's count is not the loader's epoch
        loader = loaders[0]
        left, counted = self._left.get(id(loader)), trainer.num_training_batches - batch_idx
        if left is None or left == counted:
            return
        raise InvalidArgumentError(
            f"resuming epoch {loader.epoch} on {trainer.world_size} device(s): the seedwise loader has {left} batches "
            f"of {loader.batch_size} left in this epoch on each device, but Lightning counts {counted} (it had trained "
            f"{batch_idx} of {trainer.num_training_batches}), so it would end the epoch at the wrong sample. This "
            "happens when a checkpoint is resumed on another number of devices with another global batch size: keep "
            "the global batch size (per-device batch_size = global batch size // devices; "
            "SeedwiseDataModule(global_batch_size=...) does it)"
        )

    # -- the training step ----------------------------------------------------------

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._first_batch:
            self._first_batch = False
            self._check_resumed_count(trainer, batch_idx)
        if self.key_dropout:
            accumulation = trainer.accumulate_grad_batches  # a GradientAccumulationScheduler changes it
            position = step_position(trainer.global_step, batch_idx % accumulation, accumulation)
            self._keys.enter(self._rank, position)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._keys.exit()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._keys.exit()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._keys.exit()  # a step that raised leaves the global RNGs as they were

    def __repr__(self) -> str:
        return (
            f"SeedwiseCallback(seeds={self.seeds!r}, report={'given' if self.report is not None else None}, "
            f"key_dropout={self.key_dropout}, log_hyperparams={self.log_hyperparams})"
        )
