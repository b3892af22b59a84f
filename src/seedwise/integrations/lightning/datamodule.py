"""``SeedwiseDataModule``: a LightningDataModule of seedwise loaders, so a user writes no loader plumbing.

It builds a :class:`seedwise.data.DataLoader` for each split it is given, with this
process's rank and world size taken from the trainer: the training loader shuffles with
``seeds["data_order"]`` and augments with ``augment`` (keyed by epoch and sample index);
the evaluation loaders keep the dataset's order and do not augment. Lightning moves the
batches to the device, calls ``set_epoch`` every epoch and saves the training loader's
position in its checkpoints; :class:`~seedwise.integrations.lightning.SeedwiseCallback`
does the rest.

``global_batch_size=`` (instead of ``batch_size=``) divides a fixed global batch among
the devices, which is what lets a checkpoint resume exactly on another number of devices:
a step then means the same samples on any number of them.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl

from seedwise._validate import check_int
from seedwise.data import DataLoader
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import Seeds, as_seeds

__all__ = ["SeedwiseDataModule"]


class SeedwiseDataModule(pl.LightningDataModule):
    """Seedwise loaders for the splits given (``train``, ``val``, ``test``, ``predict``).

    Args:
        train, val, test, predict: map-style datasets (``__getitem__`` + ``__len__``);
            leave out the ones you do not use.
        seeds: the run's root :class:`~seedwise.Seeds` (pass the same to
            :class:`SeedwiseCallback`).
        batch_size: samples per device and step (Lightning's convention).
        global_batch_size: samples per step over all devices, split evenly among them
            (instead of ``batch_size``; it must be a multiple of the number of devices).
        augment: a seedwise augmentation pipeline for the training split
            (``A.Compose([...], seeds=seeds["augment"])``).
        num_classes: for pipelines that mix labels (MixUp, CutMix).
        eval_batch_size: the batch size of the evaluation splits (default: the training one).
        num_workers: worker processes of every loader; the batches do not depend on it.
        drop_last: drop the last incomplete training batch (and the tail that does not
            fill every device).
        **loader_kwargs: passed to every :class:`seedwise.data.DataLoader` (``collate_fn``,
            ``pin_memory``, ``persistent_workers``, ``global_rngs``...).
    """

    def __init__(
        self,
        train: Any = None,
        val: Any = None,
        test: Any = None,
        predict: Any = None,
        *,
        seeds: Seeds | int,
        batch_size: int | None = None,
        global_batch_size: int | None = None,
        augment: Any = None,
        num_classes: int | None = None,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        drop_last: bool = False,
        **loader_kwargs: Any,
    ) -> None:
        super().__init__()
        if (batch_size is None) == (global_batch_size is None):
            raise InvalidArgumentError(
                "SeedwiseDataModule takes batch_size= (per device) or global_batch_size= (over all devices), "
                f"exactly one of them; got batch_size={batch_size!r}, global_batch_size={global_batch_size!r}"
            )
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, low=1)
        self.global_batch_size = (
            None if global_batch_size is None else check_int("global_batch_size", global_batch_size, low=1)
        )
        self.eval_batch_size = None if eval_batch_size is None else check_int("eval_batch_size", eval_batch_size, low=1)
        if all(split is None for split in (train, val, test, predict)):
            raise InvalidArgumentError("SeedwiseDataModule needs at least one dataset: train=, val=, test= or predict=")
        self.datasets = {"train": train, "val": val, "test": test, "predict": predict}
        self.seeds = as_seeds(seeds, "seeds")
        self.augment = augment
        self.num_classes = num_classes
        self.num_workers = num_workers
        self.drop_last = drop_last
        self.loader_kwargs = loader_kwargs
        # Only the splits given get a loader hook: Lightning runs validation (or tests) when
        # the hook is defined, as with LightningDataModule.from_datasets.
        for split, dataset in self.datasets.items():
            if dataset is not None:
                setattr(self, f"{split}_dataloader", self._hook(split))

    def _hook(self, split: str) -> Any:
        def dataloader() -> DataLoader:
            return self._loader(split)

        dataloader.__name__ = f"{split}_dataloader"
        return dataloader

    def _world(self) -> tuple[int | None, int | None]:
        """The trainer's rank and world size; None (the loader asks the process group) outside a trainer."""
        if self.trainer is None:
            return None, None
        return self.trainer.global_rank, self.trainer.world_size

    def _per_device(self, world_size: int | None) -> int:
        if self.global_batch_size is None:
            assert self.batch_size is not None
            return self.batch_size
        if world_size is None:  # outside a trainer: the process group's size, if there is one
            import torch.distributed as dist

            world_size = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        devices = world_size
        if self.global_batch_size % devices:
            raise InvalidArgumentError(
                f"global_batch_size={self.global_batch_size} does not split evenly among {devices} devices; use a "
                f"multiple of {devices}"
            )
        return self.global_batch_size // devices

    def _loader(self, split: str) -> DataLoader:
        dataset = self.datasets[split]
        rank, world_size = self._world()
        batch_size = self._per_device(world_size)
        training = split == "train"
        return DataLoader(
            dataset,
            batch_size=batch_size if training or self.eval_batch_size is None else self.eval_batch_size,
            shuffle=training,
            seeds=self.seeds,
            augment=self.augment if training else None,
            num_classes=self.num_classes if training and self.augment is not None else None,
            num_workers=self.num_workers,
            drop_last=self.drop_last and training,
            rank=rank,
            world_size=world_size,
            **self.loader_kwargs,
        )
