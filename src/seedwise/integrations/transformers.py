"""seedwise inside the Hugging Face ``Trainer`` (extra ``transformers``): ``SeedwiseTrainer``.

A ``transformers.Trainer`` whose training data comes from a :class:`seedwise.data.DataLoader`
and whose dropout is keyed, and that resumes exactly from its own checkpoints::

    trainer = SeedwiseTrainer(model=model, args=args, train_dataset=train_set, data_collator=collate,
                              seeds=seeds, augment=pipe)
    trainer.train()                              # or trainer.train(resume_from_checkpoint=True)

What it changes, and why:

* ``get_train_dataloader`` returns a seedwise loader over ``train_dataset`` (batch size,
  workers, ``drop_last``, pinning from the ``TrainingArguments``; ``data_collator`` as
  its ``collate_fn``): the order of each epoch from ``seeds["data_order"]``, augmentation
  keyed by (epoch, sample index), each process its interleaved shard. The Trainer calls
  its ``set_epoch`` every epoch and moves the batches to the device itself.
* ``training_step`` runs with torch's global RNGs (``nn.Dropout``'s) keyed by
  ``seeds["dropout"][process_index]`` at the global step (``(step, micro-batch)`` with
  gradient accumulation): masks that differ between processes and repeat after a resume.
* Checkpoints: each ``checkpoint-<step>`` directory gets ``seedwise_loader.json``, the
  loader's position (JSON, written by the process that saves). On
  ``train(resume_from_checkpoint=...)`` the loader resumes there itself, so the Trainer
  must not skip batches: ``args.ignore_data_skip`` is set to True (skipping rebuilds the
  loader as a torch ``DataLoader``, which seedwise's refuses). Before training, the
  position is checked against the checkpoint's global step.

Limit: resuming *mid-epoch* with ``gradient_accumulation_steps > 1`` needs the epoch's
number of batches to be a multiple of it (the Trainer counts a resumed epoch's micro-batches
from 0, so it would not apply the last, shorter accumulation); otherwise ``train`` raises.
Resuming from a checkpoint at the end of an epoch always works.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from seedwise._validate import check_bool
from seedwise.data import DataLoader
from seedwise.errors import InvalidArgumentError, MissingDependencyError, StateFileError
from seedwise.integrations._steps import StepKeys, step_position
from seedwise.seeds import Seeds, as_seeds
from seedwise.streams import DROPOUT

try:
    import transformers
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint
except ModuleNotFoundError as exc:  # pragma: no cover - the extra is installed where the tests run
    if (exc.name or "").split(".")[0] != "transformers":
        raise
    raise MissingDependencyError("transformers", "transformers", "seedwise.integrations.transformers") from None

__all__ = ["SeedwiseTrainer", "STATE_FILE"]

#: The loader's position in each checkpoint directory.
STATE_FILE = "seedwise_loader.json"


class SeedwiseTrainer(transformers.Trainer):
    """A ``transformers.Trainer`` with seedwise's order, augmentation and dropout streams (see the module doc).

    Args:
        *args, **kwargs: the ``Trainer``'s (``model``, ``args``, ``train_dataset``,
            ``data_collator``, ``eval_dataset``, ...). ``train_dataset`` must be map-style
            (``__getitem__`` + ``__len__``).
        seeds: the run's root :class:`~seedwise.Seeds` (or an int), keyword-only.
        augment: a seedwise augmentation pipeline for the training data
            (``A.Compose([...], seeds=seeds["augment"])``); the collator receives its output.
        num_classes: for pipelines that mix labels (MixUp, CutMix).
        key_dropout: key the global RNGs per (process, step) inside each training step.
        loader_kwargs: more :class:`seedwise.data.DataLoader` arguments (``global_rngs``, ...).
    """

    def __init__(
        self,
        *args: Any,
        seeds: Seeds | int,
        augment: Any = None,
        num_classes: int | None = None,
        key_dropout: bool = True,
        loader_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.seeds = as_seeds(seeds, "seeds")
        self.augment = augment
        self.num_classes = num_classes
        self.key_dropout = check_bool("key_dropout", key_dropout)
        self.loader_kwargs = dict(loader_kwargs or {})
        self._keys = StepKeys(self.seeds[DROPOUT])
        self._micro = (-1, 0)  # (global step, micro-batches of it so far)
        self._resume_from: str | None = None
        self.train_loader: DataLoader | None = None

    # -- data -------------------------------------------------------------------------

    def get_train_dataloader(self) -> DataLoader:  # type: ignore[override]  # a seedwise loader, not a torch one
        if self.train_dataset is None:
            raise InvalidArgumentError("SeedwiseTrainer: training needs a train_dataset")
        args = self.args
        workers = args.dataloader_num_workers
        extra: dict[str, Any] = {}
        if workers > 0:
            extra["persistent_workers"] = args.dataloader_persistent_workers
            extra["prefetch_factor"] = args.dataloader_prefetch_factor
        loader = DataLoader(
            self.train_dataset,
            batch_size=self._train_batch_size,
            shuffle=True,
            seeds=self.seeds,
            augment=self.augment,
            num_classes=self.num_classes,
            num_workers=workers,
            drop_last=args.dataloader_drop_last,
            collate_fn=self.data_collator,
            pin_memory=args.dataloader_pin_memory,
            **{**extra, **self.loader_kwargs},
        )
        if self._resume_from is not None:
            self._restore(loader, Path(self._resume_from))
        self.train_loader = loader
        return loader

    def _restore(self, loader: DataLoader, checkpoint: Path) -> None:
        """Load the loader's position from ``checkpoint``, checked against the checkpoint's global step."""
        path = checkpoint / STATE_FILE
        if not path.is_file():
            raise StateFileError(
                f"{checkpoint} holds no seedwise loader position ({STATE_FILE}): it was not saved by a "
                "SeedwiseTrainer, so the run cannot resume at the next sample"
            )
        try:
            state = json.loads(path.read_text())
            step = int(json.loads((checkpoint / "trainer_state.json").read_text())["global_step"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateFileError(f"{checkpoint}: cannot read the loader position or the global step ({exc})") from None
        point = loader.load_state_dict(state)
        accumulation = self.args.gradient_accumulation_steps
        batches = len(loader)
        epoch, done = divmod(step, -(-batches // accumulation))  # the Trainer's epoch and update steps into it
        if done:  # mid-epoch: the loader must have consumed exactly those steps' batches
            fits = point.epoch == epoch and loader.batches_left() == batches - done * accumulation
        else:  # at an epoch's end: the loader finished the one before
            fits = (point.epoch == epoch - 1 and point.finished) or (point.epoch == epoch and point.position == 0)
        if not fits:
            raise StateFileError(
                f"{checkpoint}: the loader position (epoch {point.epoch}, global position {point.position}) is not "
                f"where global step {step} leaves the Trainer (epoch {epoch}, {done * accumulation} of {batches} "
                "batches in): the checkpoint's files do not belong together, or the global batch size changed"
            )
        if done and batches % accumulation:
            raise InvalidArgumentError(
                f"resuming mid-epoch with gradient_accumulation_steps={accumulation}, which does not divide the "
                f"{batches} batches of an epoch: the Trainer counts a resumed epoch's batches from 0 and would not "
                "apply its last, shorter accumulation. Resume from a checkpoint at the end of an epoch, or use a "
                "batch count per epoch that gradient_accumulation_steps divides"
            )

    # -- training -----------------------------------------------------------------------

    def train(self, resume_from_checkpoint: str | bool | None = None, *args: Any, **kwargs: Any) -> Any:
        """``Trainer.train``; a resumed run continues at the checkpoint's loader position (see the module doc)."""
        checkpoint = resume_from_checkpoint
        if checkpoint is True:
            checkpoint = get_last_checkpoint(self.args.output_dir)  # type: ignore[no-untyped-call]  # untyped upstream
            if checkpoint is None:
                raise InvalidArgumentError(
                    f"resume_from_checkpoint=True, but there is no checkpoint in {self.args.output_dir}"
                )
        self._resume_from = str(checkpoint) if checkpoint else None
        self.args.ignore_data_skip = True  # the loader resumes itself; the Trainer's skipping would rebuild it
        try:
            return super().train(checkpoint or None, *args, **kwargs)
        finally:
            self._keys.exit()

    def training_step(self, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.key_dropout:
            return super().training_step(model, inputs, *args, **kwargs)
        step = self.state.global_step
        micro = self._micro[1] + 1 if self._micro[0] == step else 0
        self._micro = (step, micro)
        position = step_position(step, micro, self.args.gradient_accumulation_steps)
        self._keys.enter(self.args.process_index, position)
        try:
            return super().training_step(model, inputs, *args, **kwargs)
        finally:
            self._keys.exit()

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        super()._save_checkpoint(model, trial)
        if self.train_loader is None or not self.args.should_save:
            return  # data-parallel processes step in lockstep: the saving process's position stands for all
        folder = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        partial = folder / (STATE_FILE + ".partial")
        partial.write_text(json.dumps(self.train_loader.state_dict()))
        os.replace(partial, folder / STATE_FILE)
