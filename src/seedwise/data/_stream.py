"""``seedwise.data.DataLoader`` over a stream: frames as they come, augmented by the source itself.

A stream (:class:`seedwise.data.GStreamerSource`, or any ``IterableDataset`` that sets
``seedwise_stream = True``) has no indices to order, shard or resume by: it keys its
augmentation by frame position itself. ``DataLoader(stream, ...)`` builds this class
(chosen once, by ``DataLoader.__new__``; it registers itself as the stream loader, and
``seedwise.data`` imports it), which passes the stream to torch's loader with
seeded workers and a seeded ``generator``, and forwards ``set_epoch`` to the source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch.utils.data

from seedwise._validate import check_int
from seedwise.data._workers import WorkerSeeder
from seedwise.data._world import resolve_world
from seedwise.data.loader import DataLoader, GlobalRNGs, check_torch_kwargs
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import Seeds, as_seeds

__all__ = ["StreamLoader"]


class StreamLoader(DataLoader, streams=True):
    """The loader of a self-keyed stream (see the module doc); built by ``seedwise.data.DataLoader``."""

    def __init__(  # the signature of DataLoader, for the options that apply to streams
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
        if (shuffle or augment is not None or num_classes is not None or rank not in (None, 0)
                or world_size not in (None, 1) or auto_epoch or global_rngs == "sample" or with_keys):  # fmt: skip
            raise InvalidArgumentError(
                "a stream (such as GStreamerSource) comes in its own order and augments itself by frame "
                "index: pass augment= to the source, and leave shuffle, augment, num_classes, rank, world_size, "
                "auto_epoch, global_rngs='sample' and with_keys at their defaults"
            )
        check_torch_kwargs(torch_kwargs)
        user_init = torch_kwargs.pop("worker_init_fn", None)
        self.seeds = as_seeds(seeds, "seeds")
        self.dataset, self.augment = dataset, None
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, low=1)
        self.shuffle, self.drop_last, self.auto_epoch = False, drop_last, False
        self.num_workers = check_int("num_workers", num_workers, low=0)
        self.global_rngs = global_rngs
        self.with_keys = False
        self._all_data = world_size == 1
        self._seeder = WorkerSeeder(self.seeds["worker"], 0, user_init) if global_rngs != "off" else user_init
        self.torch_loader = torch.utils.data.DataLoader(
            dataset, batch_size=self.batch_size, drop_last=drop_last, num_workers=self.num_workers,
            worker_init_fn=self._seeder, generator=self.seeds["torch_base_seed"][0].torch(), **torch_kwargs,
        )  # fmt: skip
        self._epoch = 0

    def _unavailable(self, what: str) -> InvalidArgumentError:
        return InvalidArgumentError(
            f"{what} is not available for a stream ({type(self.dataset).__name__}): it has no indexable order "
            "to save or measure; restart the stream, or skip frames by index, to resume"
        )

    @property
    def sampler(self) -> None:  # type: ignore[override]  # a stream has no order to sample
        return None

    @property
    def batch_sampler(self) -> None:
        return None

    @property
    def epoch(self) -> int:
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Tell the source (and seeded workers) the epoch: a source keys its augmentation by it."""
        self._epoch = check_int("epoch", epoch, low=0, high=2**64)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(self._epoch)
        if isinstance(self._seeder, WorkerSeeder):
            self._seeder.epoch = self._epoch

    def __len__(self) -> int:
        raise TypeError(f"a stream ({type(self.dataset).__name__}) has no length")

    def __iter__(self) -> Iterator[Any]:
        if not self._all_data and resolve_world(None, None)[1] > 1:
            raise InvalidArgumentError(
                f"a stream has no indices to shard, so under torch.distributed every one of the "
                f"{resolve_world(None, None)[1]} ranks would read the same frames; give each rank a source of its own "
                "and pass world_size=1 to say so"
            )
        self.torch_loader.generator = self.seeds["torch_base_seed"][self._epoch].torch()
        return iter(self.torch_loader)

    def state_dict(self, *, prefetched: int = 0) -> dict[str, Any]:
        raise self._unavailable("state_dict()")

    def load_state_dict(self, state: dict[str, Any] | Sequence[dict[str, Any]]) -> Any:
        raise self._unavailable("load_state_dict()")

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={self.dataset!r}, batch_size={self.batch_size}, seeds={self.seeds!r}, "
                f"num_workers={self.num_workers}, epoch={self._epoch})")  # fmt: skip
