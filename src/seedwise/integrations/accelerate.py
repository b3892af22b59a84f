"""seedwise inside Hugging Face Accelerate (extra ``accelerate``): ``prepare`` next to ``accelerator.prepare``.

``accelerator.prepare`` re-creates torch ``DataLoader``\\ s around its own sharded batch
sampler and returns anything else untouched, so it leaves a seedwise loader alone: no
device placement, and ``accelerator.save_state`` would not hold its position. Use
:func:`prepare` instead, for everything at once::

    accelerator = Accelerator()
    loader = sw.data.DataLoader(train_set, batch_size=64, shuffle=True, seeds=seeds, augment=pipe)
    model, optimizer, loader = swa.prepare(accelerator, model, optimizer, loader)

Every other object goes through ``accelerator.prepare`` as usual. A seedwise loader comes
back as an :class:`AcceleratedLoader`, which

* shards itself: each process loads its interleaved shard of the global order (the
  loader takes the rank and world size from the process group Accelerate initialised;
  ``prepare`` checks they are ``accelerator.process_index`` / ``num_processes``);
* moves every batch to ``accelerator.device``;
* takes part in ``accelerator.accumulate``: it marks the last batch of an epoch, so the
  gradients of a last, shorter accumulation are synchronised and applied;
* is part of ``accelerator.save_state`` / ``load_state``: its position is written as JSON
  (``seedwise_loader_<i>.json``, by the main process) into the checkpoint directory and
  read back from it -- never unpickled. The position is global, so a state saved on
  ``n`` processes resumes on any number of them (keep the global batch size).

Dropout: key it by process and step, ``with sw.keyed(seeds["dropout"][accelerator.process_index], step):``.
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seedwise.data import DataLoader
from seedwise.errors import InvalidTypeError, MissingDependencyError, StateFileError
from seedwise.integrations._loaders import check_world

try:
    import accelerate
    from accelerate.utils import send_to_device
except ModuleNotFoundError as exc:  # pragma: no cover - the extra is installed where the tests run
    if (exc.name or "").split(".")[0] != "accelerate":
        raise
    raise MissingDependencyError("accelerate", "accelerate", "seedwise.integrations.accelerate") from None

__all__ = ["prepare", "AcceleratedLoader", "STATE_FILE"]

#: The name of loader ``i``'s state in a checkpoint directory (``i``: the order ``prepare`` saw them in).
STATE_FILE = "seedwise_loader_{}.json"


class AcceleratedLoader:
    """A seedwise loader on ``accelerator``'s device and in its checkpoints (made by :func:`prepare`).

    Iterating yields the loader's batches, moved to ``accelerator.device``.
    ``set_epoch``, ``epoch``, ``len``, ``batches_left``, ``state_dict`` and
    ``load_state_dict`` are the loader's; ``loader`` is the seedwise loader itself.
    """

    def __init__(self, loader: DataLoader, accelerator: accelerate.Accelerator) -> None:
        self.loader = loader
        self.device = accelerator.device
        self._non_blocking = bool(accelerator.non_blocking)
        self.gradient_state = accelerator.gradient_state
        self.end_of_dataloader = False  # what accelerator.accumulate reads, through the gradient state
        self.remainder = -1  # no padding for gather_for_metrics to drop: seedwise interleaves its shards

    def __iter__(self) -> Iterator[Any]:
        self.end_of_dataloader = False
        self.gradient_state._add_dataloader(self)  # what accelerate's own loaders do at the start of a pass
        try:
            left = self.loader.batches_left()
            for k, batch in enumerate(self.loader):
                self.end_of_dataloader = k + 1 >= left
                yield send_to_device(batch, self.device, non_blocking=self._non_blocking)
        finally:
            self.gradient_state._remove_dataloader(self)

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str) -> Any:
        # The loader's other settings (num_workers, collate_fn, pin_memory...), for code that reads them.
        if name == "loader":  # not set yet (during unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.loader, name)

    @property
    def dataset(self) -> Any:
        return self.loader.dataset

    @property
    def batch_size(self) -> int | None:
        return self.loader.batch_size

    @property
    def sampler(self) -> Any:
        return self.loader.sampler

    @property
    def batch_sampler(self) -> Any:
        """The loader's (not iterable: ``accelerator.skip_first_batches`` raises; resume with ``load_state``)."""
        return self.loader.batch_sampler

    @property
    def epoch(self) -> int:
        return self.loader.epoch

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def batches_left(self) -> int:
        return self.loader.batches_left()

    def state_dict(self) -> dict[str, Any]:
        return self.loader.state_dict()

    def load_state_dict(self, state: Any) -> Any:
        return self.loader.load_state_dict(state)

    def __repr__(self) -> str:
        return f"AcceleratedLoader({self.loader!r}, device={self.device})"


class _Checkpoints:
    """The seedwise loaders of one accelerator, and the save/load hooks that write and read their positions."""

    def __init__(self, accelerator: accelerate.Accelerator) -> None:
        self._accelerator = weakref.ref(accelerator)
        self.loaders: list[AcceleratedLoader] = []
        accelerator.register_save_state_pre_hook(self.save)
        accelerator.register_load_state_pre_hook(self.load)

    def save(self, models: Any, weights: Any, output_dir: str) -> None:
        accelerator = self._accelerator()
        if accelerator is None or not accelerator.is_main_process:
            return  # data-parallel ranks step in lockstep: the main process's position stands for all
        for i, loader in enumerate(self.loaders):
            path = Path(output_dir) / STATE_FILE.format(i)
            partial = path.with_suffix(".json.partial")
            partial.write_text(json.dumps(loader.state_dict()))
            os.replace(partial, path)

    def load(self, models: Any, input_dir: str) -> None:
        for i, loader in enumerate(self.loaders):
            path = Path(input_dir) / STATE_FILE.format(i)
            if not path.is_file():
                raise StateFileError(
                    f"{input_dir} holds no position for seedwise loader {i} ({path.name}): the checkpoint was "
                    "saved by an accelerator whose loaders were not prepared with "
                    "seedwise.integrations.accelerate.prepare, so the run cannot resume at the next sample"
                )
            try:
                state = json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise StateFileError(f"{path} is not a seedwise loader state (not JSON: {exc})") from None
            loader.load_state_dict(state)


_REGISTRY: weakref.WeakKeyDictionary[Any, _Checkpoints] = weakref.WeakKeyDictionary()


def _wrap(loader: DataLoader, accelerator: accelerate.Accelerator) -> AcceleratedLoader:
    check_world(loader, accelerator.process_index, accelerator.num_processes, "Accelerate")
    checkpoints = _REGISTRY.get(accelerator)
    if checkpoints is None:
        checkpoints = _REGISTRY[accelerator] = _Checkpoints(accelerator)
    for known in checkpoints.loaders:
        if known.loader is loader:
            return known
    wrapped = AcceleratedLoader(loader, accelerator)
    checkpoints.loaders.append(wrapped)
    return wrapped


def prepare(accelerator: accelerate.Accelerator, *objects: Any) -> Any:
    """``accelerator.prepare(*objects)``, with each seedwise loader made an :class:`AcceleratedLoader`.

    Returns the objects in the order given (a single object when given one), as
    ``accelerator.prepare`` does. A loader prepared again returns the same
    :class:`AcceleratedLoader`.
    """
    if not isinstance(accelerator, accelerate.Accelerator):
        raise InvalidTypeError(
            f"accelerator must be an accelerate.Accelerator, got {type(accelerator).__name__}: "
            "prepare(accelerator, model, optimizer, loader)"
        )
    others = [obj for obj in objects if not isinstance(obj, DataLoader)]
    prepared: Any = accelerator.prepare(*others) if others else ()
    if len(others) == 1:
        prepared = (prepared,)
    done = iter(prepared)
    out = [_wrap(obj, accelerator) if isinstance(obj, DataLoader) else next(done) for obj in objects]
    return out[0] if len(out) == 1 else tuple(out)
