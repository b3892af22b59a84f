"""``SeededDataset``: a tf.data source whose order, shards and augmentation are pure functions of (seeds, epoch).

What it gives a TensorFlow/Keras user, as :class:`seedwise.data.DataLoader` gives a torch user:

* the order of epoch ``e`` is ``stateless.permutation(seeds["data_order"], e, n)``, sharded
  by ``(rank, world_size)`` or a ``tf.distribute.InputContext`` (see :mod:`._order`);
* augmentation keyed by each sample's (epoch, index), with seedwise's parameters and the
  pixels computed in TensorFlow ops (see :mod:`._augment`): the same images for any
  ``num_parallel_calls``, ``deterministic=`` setting or batch composition;
* :meth:`SeededDataset.set_epoch`, :meth:`~SeededDataset.seek`,
  :meth:`~SeededDataset.state_dict` / :meth:`~SeededDataset.load_state_dict`: a run
  resumes mid-epoch at the exact next batch, also in a fresh process
  (:class:`seedwise.frameworks.tensorflow.SeedCallback` does it for ``model.fit`` from
  ``optimizer.iterations``).

Where the source stands. The source holds a position (an epoch and a batch in it). Each
iterator of :meth:`SeededDataset.dataset` reads it when it starts, serves the next
``len(source)`` batches from there (the rest of the epoch, then, after a mid-epoch
resume, as many batches of the next epoch as were skipped: the run's own sequence,
with the length Keras was told) and moves the position past them. So Keras's one
iterator per epoch walks through the epochs even without ``set_epoch``; iterating the
source itself (``for batch in source``) serves the rest of the current epoch only and
keeps the position at the last batch served, for :meth:`state_dict`.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from seedwise._optional import import_keeping_global_rngs
from seedwise._validate import check_bool, check_int
from seedwise.augment.compose import Compose
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.frameworks.tensorflow import _order
from seedwise.frameworks.tensorflow._augment import TfAugment
from seedwise.seeds import SeedLike, as_seeds
from seedwise.streams import DATA_ORDER

__all__ = ["SeededDataset", "STATE_FORMAT"]

#: Version of :meth:`SeededDataset.state_dict`.
STATE_FORMAT = 1


def _tf() -> Any:
    return import_keeping_global_rngs("tensorflow", "tensorflow", "seedwise.frameworks.tensorflow.SeededDataset")


def _components(data: Any) -> tuple[str, list[Any], list[Any]]:
    """(structure, keys, arrays) of ``data``: a tuple/list, a dict or one array."""
    if isinstance(data, Mapping):
        keys = list(data)
        return "dict", keys, [data[k] for k in keys]
    if isinstance(data, (tuple, list)):
        if not data:
            raise InvalidArgumentError("data must hold at least one array, got an empty sequence")
        return "tuple", list(range(len(data))), list(data)
    return "single", [0], [data]


def _key_hex(seeds: Any) -> str:
    return "".join(f"{int(w):016x}" for w in seeds.key)


class SeededDataset:
    """Batches of in-memory ``data`` in a seeded, sharded order, augmented by (epoch, index), as tf.data.

    Args:
        data: the samples, as ``tf.data.Dataset.from_tensor_slices`` takes them: one
            array, a tuple ``(x, y[, sample_weight])`` (what ``model.fit`` expects) or a
            dict, of NumPy arrays or tensors with a common first dimension.
        seeds: the root of the source's streams (required, keyword-only): the order uses
            ``seeds["data_order"]``. (Augmentation draws from the pipeline's own stream.)
        batch_size: samples per batch (per replica under ``tf.distribute``).
        shuffle: False serves ``range(n)`` every epoch (still sharded).
        drop_last: drop the last incomplete batch; with ``world_size > 1`` also drop the
            tail of the order that does not fill every rank, instead of padding it with
            repeated samples (as :class:`seedwise.data.DataLoader`).
        augment: a :class:`seedwise.augment.Compose` applied to the images, keyed by each
            sample's (epoch, index). Images are uint8 (0-255) or float (0-1), ``(H, W)``
            or ``(H, W, C)``.
        image: which part of ``data`` holds the images: an index into a tuple (default
            0) or a key of a dict (default ``"image"``).
        rank, world_size: this process's shard (default: 0 of 1, or ``input_context``'s).
        input_context: a ``tf.distribute.InputContext`` (from
            ``strategy.distribute_datasets_from_function``): its input pipeline id and
            count are the rank and world size.
        num_parallel_calls: parallel batches in the augmentation map (default
            ``tf.data.AUTOTUNE``); the batches do not depend on it.
    """

    def __init__(
        self,
        data: Any,
        *,
        seeds: SeedLike,
        batch_size: int,
        shuffle: bool = True,
        drop_last: bool = False,
        augment: Compose | None = None,
        image: int | str | None = None,
        rank: int | None = None,
        world_size: int | None = None,
        input_context: Any = None,
        num_parallel_calls: int | None = None,
    ) -> None:
        tf = _tf()
        self.seeds = as_seeds(seeds, "seeds")
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.shuffle = check_bool("shuffle", shuffle)
        self.drop_last = check_bool("drop_last", drop_last)
        self.rank, self.world_size = _world(rank, world_size, input_context)
        self.num_parallel_calls = tf.data.AUTOTUNE if num_parallel_calls is None else num_parallel_calls
        if self.num_parallel_calls != tf.data.AUTOTUNE:
            check_int("num_parallel_calls", self.num_parallel_calls, low=1)
        self._structure, self._keys, arrays = _components(data)
        self._tensors = [tf.convert_to_tensor(a) for a in arrays]
        lengths = {int(t.shape[0]) if t.shape.rank else -1 for t in self._tensors}
        if len(lengths) != 1 or -1 in lengths:
            raise InvalidArgumentError(
                f"every array in data must have the samples along its first axis, with one length; got shapes "
                f"{[tuple(t.shape) for t in self._tensors]}"
            )
        self._n = lengths.pop()
        self._image = self._image_position(image) if augment is not None else None
        self._augment = None
        if augment is not None:
            assert self._image is not None
            img = self._tensors[self._image]
            self._augment = TfAugment(augment, tuple(int(d) for d in img.shape[1:]), img.dtype.name)
        self._epoch = 0
        self._batch = 0

    def _image_position(self, image: int | str | None) -> int:
        if self._structure == "single":
            if image not in (None, 0):
                raise InvalidArgumentError(f"data is one array, so image= must be left out, got {image!r}")
            return 0
        default: int | str = "image" if self._structure == "dict" else 0
        key = default if image is None else image
        if key not in self._keys:
            raise InvalidArgumentError(
                f"image={key!r} is not part of data (its parts: {self._keys}); pass image= the part that holds "
                "the images"
            )
        return self._keys.index(key)

    # -- the order ------------------------------------------------------------------------

    def __len__(self) -> int:
        """Batches per epoch on this rank."""
        return _order.batches_per_epoch(self._n, self.batch_size, self.world_size, self.drop_last)

    @property
    def dataset_length(self) -> int:
        """The number of samples in ``data`` (all ranks together)."""
        return self._n

    @property
    def epoch(self) -> int:
        """The epoch the next iterator starts in."""
        return self._epoch

    @property
    def position(self) -> int:
        """The batch of :attr:`epoch` the next iterator starts at."""
        return self._batch

    def indices(self, epoch: int) -> np.ndarray:
        """This rank's dataset indices for ``epoch``, in order (padded or cut as ``drop_last`` says)."""
        epoch = check_int("epoch", epoch, low=0, high=2**63)
        return _order.epoch_indices(
            self.seeds[DATA_ORDER],
            epoch,
            self._n,
            shuffle=self.shuffle,
            rank=self.rank,
            world_size=self.world_size,
            drop_last=self.drop_last,
        )[: len(self) * self.batch_size if self.drop_last else None]

    def set_epoch(self, epoch: int) -> None:
        """Start the next iterator at the first batch of ``epoch`` (kept: a position restored in that epoch)."""
        epoch = check_int("epoch", epoch, low=0, high=2**63)
        if epoch != self._epoch:
            self._epoch, self._batch = epoch, 0

    def seek(self, step: int) -> None:
        """Start the next iterator at global batch ``step``: epoch ``step // len(self)``, batch ``step % len(self)``.

        ``step`` counts the batches this rank has served since epoch 0 (a training
        loop's step, Keras's ``optimizer.iterations``).
        """
        step = check_int("step", step, low=0)
        if len(self) == 0:
            raise InvalidArgumentError("this source serves no batch per epoch (too few samples for one batch)")
        self._epoch, self._batch = divmod(step, len(self))

    def _advance(self, epoch: int, batch: int) -> None:
        per = len(self)
        self._epoch, self._batch = (epoch + 1, 0) if per and batch >= per else (epoch, batch)

    # -- tf.data ----------------------------------------------------------------------

    def _plan_now(self) -> tuple[np.int64, np.ndarray, np.ndarray]:
        """Runs when an iterator starts: what it serves, and the position moved past it."""
        epoch, start = self._epoch, self._batch
        rest, following = _order.plan(
            self.seeds[DATA_ORDER],
            epoch,
            start,
            self._n,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            rank=self.rank,
            world_size=self.world_size,
            drop_last=self.drop_last,
        )
        self._epoch, self._batch = (epoch + 1, start) if start else (epoch + 1, 0)
        return np.int64(epoch), rest.astype(np.int64), following.astype(np.int64)

    def dataset(self) -> Any:
        """The ``tf.data.Dataset`` of batches: each iterator serves ``len(self)`` batches (see the module doc).

        Its elements have ``data``'s structure (``(x, y)`` for ``model.fit``), with the
        images augmented. Pass ``shuffle=False`` to ``model.fit``: the order is seedwise's.
        """
        tf = _tf()
        bs, drop = self.batch_size, self.drop_last

        def epoch_batches(_: Any) -> Any:
            epoch, rest, following = tf.numpy_function(self._plan_now, [], (tf.int64, tf.int64, tf.int64))
            epoch.set_shape([])
            rest.set_shape([None])
            following.set_shape([None])
            first = tf.data.Dataset.from_tensor_slices(rest).batch(bs, drop_remainder=drop)
            second = tf.data.Dataset.from_tensor_slices(following).batch(bs, drop_remainder=True)
            return first.map(lambda idx: (epoch, idx)).concatenate(second.map(lambda idx: (epoch + 1, idx)))

        out = tf.data.Dataset.range(1).flat_map(epoch_batches)
        out = out.map(self._batch_fn(tf), num_parallel_calls=self.num_parallel_calls, deterministic=True)
        return out.prefetch(tf.data.AUTOTUNE).apply(tf.data.experimental.assert_cardinality(len(self)))

    def _batch_fn(self, tf: Any) -> Any:
        tensors, augment, image = self._tensors, self._augment, self._image
        structure, keys = self._structure, self._keys

        def batch(epoch: Any, idx: Any) -> Any:
            parts = [tf.gather(t, idx) for t in tensors]
            if augment is not None and image is not None:
                shapes = augment.output_signature()
                params = tf.numpy_function(augment.sample, [epoch, idx], [tf.float32] * len(shapes), stateful=False)
                for p, shape in zip(params, shapes):
                    p.set_shape([None, *shape])
                parts[image] = augment.apply(tf, parts[image], list(params), epoch, idx)
            if structure == "single":
                return parts[0]
            if structure == "dict":
                return dict(zip(keys, parts))
            return tuple(parts)

        return batch

    def __iter__(self) -> Iterator[Any]:
        """The rest of the current epoch, batch by batch; :attr:`position` follows what was served."""
        epoch, start = self._epoch, self._batch
        remaining = len(self) - start
        iterator = iter(self.dataset())
        for k in range(remaining):
            element = next(iterator)
            self._advance(epoch, start + k + 1)
            yield element
        self._advance(epoch, len(self))

    # -- state ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: where the next iterator starts, and what the order depends on."""
        return {"seedwise_tf_dataset": STATE_FORMAT, "epoch": self._epoch, "batch": self._batch, **self._describe()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Start the next iterator where :meth:`state_dict` says (refused for a source built differently)."""
        if not isinstance(state, Mapping):
            raise InvalidTypeError(f"state must be the dict state_dict() returned, got {type(state).__name__}")
        version = state.get("seedwise_tf_dataset")
        if not isinstance(version, int) or isinstance(version, bool) or version > STATE_FORMAT:
            raise InvalidArgumentError(
                "not a SeededDataset state (or one from a newer seedwise): pass the dict state_dict() returned"
            )
        for key, value in self._describe().items():
            if state.get(key) != value:
                raise InvalidArgumentError(
                    f"state was saved with {key}={state.get(key)!r}, this source has {value!r}; the saved position "
                    "only means something for the same data, seeds and batching: build the source as it was"
                )
        epoch = check_int("state['epoch']", state.get("epoch"), low=0, high=2**63)
        batch = check_int("state['batch']", state.get("batch"), low=0, high=len(self) + 1)
        self._advance(epoch, batch)

    def _describe(self) -> dict[str, Any]:
        return {
            "dataset_length": self._n,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "rank": self.rank,
            "world_size": self.world_size,
            "order_key": _key_hex(self.seeds[DATA_ORDER]),
        }

    def __repr__(self) -> str:
        return (
            f"SeededDataset(n={self._n}, batch_size={self.batch_size}, seeds={self.seeds!r}, shuffle={self.shuffle}, "
            f"rank={self.rank}, world_size={self.world_size}, epoch={self._epoch}, position={self._batch})"
        )


def _world(rank: int | None, world_size: int | None, input_context: Any) -> tuple[int, int]:
    if input_context is not None:
        if rank is not None or world_size is not None:
            raise InvalidArgumentError("pass either input_context= or rank= and world_size=, not both")
        pipeline_id = getattr(input_context, "input_pipeline_id", None)
        pipelines = getattr(input_context, "num_input_pipelines", None)
        if not isinstance(pipeline_id, numbers.Integral) or not isinstance(pipelines, numbers.Integral):
            raise InvalidTypeError(
                f"input_context must be a tf.distribute.InputContext, got {type(input_context).__name__}"
            )
        rank, world_size = int(pipeline_id), int(pipelines)
    size = 1 if world_size is None else check_int("world_size", world_size, low=1)
    this = 0 if rank is None else check_int("rank", rank, low=0)
    if this >= size:
        raise InvalidArgumentError(f"rank must be in [0, world_size={size}), got {this}")
    return this, size
