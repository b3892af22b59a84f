"""``SeedCallback``: ``model.fit`` with seedwise's dropout keys and data position, resumable bit for bit.

The one source of truth is ``optimizer.iterations``, the global step that every Keras
checkpoint (``BackupAndRestore``, ``ModelCheckpoint``, ``save_weights``) saves with the
weights. From it the callback

* keys every ``SeedGenerator`` of the model before each step (:mod:`._dropout`), so the
  dropout masks of step ``t`` are the same in an uninterrupted and a resumed run;
* with ``data=`` (a :class:`~seedwise.frameworks.tensorflow.SeededDataset`), starts each
  epoch's iterator at batch ``t % len(data)`` of epoch ``t // len(data)``, and ends the
  epoch a run resumes in after the batches the interrupted run had not trained on
  (``model.stop_training`` for that one epoch: Keras 3 restarts an interrupted epoch from
  its first batch, and runs as many steps as an epoch has);
* puts Keras's starting epoch where the step says (``BackupAndRestore`` restores the
  epoch of its last save, which is one behind when it saved at an epoch's last batch),
  and refuses a ``fit`` whose epochs disagree with the step, naming the fix.

Callback order: list it after ``BackupAndRestore`` (it reads the step that callback
restores) and before callbacks that may stop training (in the epoch a run resumes in,
it sets ``stop_training`` at the epoch's end and clears it after that epoch).
"""

from __future__ import annotations

from typing import Any

from seedwise._optional import import_keeping_global_rngs
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.frameworks.tensorflow._dataset import SeededDataset
from seedwise.frameworks.tensorflow._dropout import SeedGeneratorKeys
from seedwise.seeds import SeedLike, as_seeds
from seedwise.streams import DROPOUT

__all__ = ["SeedCallback"]

keras = import_keeping_global_rngs("keras", "tensorflow", "seedwise.frameworks.tensorflow.SeedCallback")


_KerasCallback: Any = keras.callbacks.Callback


class SeedCallback(_KerasCallback):  # type: ignore[misc]  # Keras is untyped: the base class is Any
    """Key dropout by (``seeds["dropout"]``, layer path, step) and position ``data`` by the step.

    Args:
        seeds: the run's root stream; dropout draws from ``seeds["dropout"]``.
        data: the :class:`~seedwise.frameworks.tensorflow.SeededDataset` passed to ``fit``
            (as ``data.dataset()``), for mid-epoch resumes; None keys dropout only.
    """

    def __init__(self, seeds: SeedLike, *, data: SeededDataset | None = None):
        super().__init__()
        self.seeds = as_seeds(seeds, "seeds")
        if data is not None and not isinstance(data, SeededDataset):
            raise InvalidTypeError(f"data must be a seedwise SeededDataset (or None), got {type(data).__name__}")
        self.data = data
        self._keys: SeedGeneratorKeys | None = None
        self._start_step = 0
        self._first_epoch = True
        self._stop_after: int | None = None
        self._ran = 0
        self._stopped = False

    def _step(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            raise InvalidArgumentError("the model has no optimizer: compile it before fit")
        return int(optimizer.iterations.numpy())

    def on_train_begin(self, logs: Any = None) -> None:
        executions = getattr(self.model, "steps_per_execution", 1)
        if executions != 1:
            raise InvalidArgumentError(
                f"SeedCallback keys dropout and resumes per training step, but the model runs "
                f"steps_per_execution={executions} steps per call; compile it with steps_per_execution=1"
            )
        self._keys = SeedGeneratorKeys(self.model, self.seeds[DROPOUT])
        self._start_step = self._step()
        self._first_epoch = True
        if self.data is None or len(self.data) == 0:
            return
        epoch = self._start_step // len(self.data)
        epochs = (self.params or {}).get("epochs")
        if isinstance(epochs, int) and epoch >= epochs and self._start_step:
            raise InvalidArgumentError(
                f"the model has already trained {self._start_step} steps ({epoch} epochs of {len(self.data)} "
                f"batches), so fit(epochs={epochs}) has nothing left to do; Keras counts epochs from 0 across fit "
                f"calls here: pass epochs={epoch + epochs} to train {epochs} more"
            )
        if self._start_step and getattr(self.model, "_initial_epoch", None) is not None:
            self.model._initial_epoch = epoch  # BackupAndRestore's epoch, put where the step says

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        step = self._step()
        if self._first_epoch and step != self._start_step:
            raise InvalidArgumentError(
                "optimizer.iterations changed between on_train_begin and the first epoch: a callback listed after "
                "SeedCallback restored the model (BackupAndRestore?); list SeedCallback after it"
            )
        self._first_epoch = False
        self._stop_after, self._ran = None, 0
        if self.data is None or len(self.data) == 0:
            return
        data_epoch, batch = divmod(step, len(self.data))
        if data_epoch != epoch:
            raise InvalidArgumentError(
                f"Keras is starting epoch {epoch}, but the model has trained {step} steps: epoch {data_epoch} "
                f"(batch {batch}) of the data, {len(self.data)} batches an epoch; pass initial_epoch={data_epoch} "
                "to fit (and keep steps_per_epoch unset: the source's length decides)"
            )
        self.data.seek(step)
        if batch:
            self._stop_after = len(self.data) - batch

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        assert self._keys is not None
        self._keys.assign(self._step())

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if self._stop_after is not None:
            self._ran += 1
            if self._ran >= self._stop_after:
                self.model.stop_training = True  # the rest of this epoch was trained before the interruption
                self._stopped = True

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self._stopped:
            self.model.stop_training = False
            self._stopped = False
        self._stop_after = None
