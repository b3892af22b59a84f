"""The dataset: :class:`GStreamerSource`, frames from a pipeline as ``(frame, index, pts)``, augmented reproducibly."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator
from typing import Literal

import numpy as np
import torch.utils.data

from seedwise._validate import check_choice, check_int
from seedwise.data.gstreamer._pipeline import FORMATS, build, set_null
from seedwise.data.gstreamer._stream import FrameStream
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["Augment", "GStreamerSource"]

Augment = Callable[..., np.ndarray]
#: What a source yields: (frame, index, pts).
Frame = tuple[np.ndarray, int, int | None]


def _check_augment(name: str, value: object) -> Augment | None:
    if value is None or callable(value):
        return value
    raise InvalidTypeError(
        f"{name} must be a seedwise.augment.Compose (called as pipe(image, indices=i, epoch=e)) or None, "
        f"got {type(value).__name__}"
    )


class GStreamerSource(torch.utils.data.IterableDataset[Frame]):
    """Frames from a GStreamer pipeline as ``(frame, index, pts)``, augmented reproducibly.

    Args:
        pipeline: a ``gst-launch-1.0`` description. If it contains an ``appsink`` (the
            one named ``sink_name``, or the only one), frames are read from it; if not,
            ``! videoconvert ! video/x-raw,format=RGB ! appsink`` is appended. seedwise
            sets the appsink's caps to raw video in ``format`` (intersected with any
            caps it already has), ``sync=false`` (as fast as the consumer pulls),
            ``emit-signals=false``, ``drop=false`` and ``max-buffers``.
        augment: a :class:`seedwise.augment.Compose` (with its own seeds). Frame
            ``index`` gets ``augment(frame, indices=index // clip_length, epoch=epoch)``:
            the frames of one clip share **all** of ``augment``'s parameters (flip,
            affine, crop, colour, noise...), so a clip moves and looks as one.
        frame_augment: an optional second pipeline, applied after ``augment`` and keyed
            by the frame index itself (``indices=index``): for what should vary from
            frame to frame inside a clip (noise, small colour jitter).
        epoch: the epoch the parameters are keyed by (see :meth:`set_epoch`).
        clip_length: frames per clip (1: every frame has its own parameters).
        timeout: seconds to wait for each frame before :class:`StreamTimeout`.
        format: ``"RGB"`` ((H, W, 3) frames) or ``"GRAY8"`` ((H, W, 1)).
        sink_name: the appsink to read when the pipeline has several.
        max_buffers: frames the appsink queues before it blocks the pipeline.
        shard_size: with DataLoader workers, how many consecutive frames each worker
            takes in turn; set it to the loader's ``batch_size`` (see below).

    The same pipeline, seeds and epoch give bit-identical frames in every run, whatever
    the threads' timing (for a deterministic source: a file, ``videotestsrc``).

    DataLoader workers: with ``num_workers > 1`` each worker runs its own copy of the
    pipeline and keeps the frames with ``(index // shard_size) % num_workers == worker_id``.
    torch takes one batch from each worker in turn, so with ``shard_size`` equal to the
    loader's ``batch_size`` (1 for ``batch_size=None``) the loader yields exactly the
    single-process stream, in order, in batches of consecutive frames. This costs each worker
    the decoding of the whole stream and only makes sense for a deterministic source; a
    live pipeline (camera, network) is refused with more than one worker. Timestamps
    may be None (``pts``), which torch's default collate cannot batch: use
    ``batch_size=None`` or your own ``collate_fn`` for such sources.

    It plugs into ``seedwise.data.DataLoader(source, batch_size=..., seeds=...)`` (which
    seeds the workers and forwards :meth:`set_epoch`) as well as a plain torch DataLoader.
    """

    #: Tells seedwise.data.DataLoader that this stream orders and keys its own randomness.
    seedwise_stream = True

    def __init__(
        self,
        pipeline: str,
        *,
        augment: Augment | None = None,
        frame_augment: Augment | None = None,
        epoch: int = 0,
        clip_length: int = 1,
        timeout: float = 5.0,
        format: Literal["RGB", "GRAY8"] = "RGB",
        sink_name: str | None = None,
        max_buffers: int = 4,
        shard_size: int = 1,
    ) -> None:
        super().__init__()
        if not isinstance(pipeline, str) or not pipeline.strip():
            raise InvalidTypeError(
                f"pipeline must be a non-empty gst-launch string, e.g. 'videotestsrc num-buffers=30 ! appsink', "
                f"got {pipeline!r}"
            )
        if sink_name is not None and (not isinstance(sink_name, str) or not sink_name):
            raise InvalidTypeError(f"sink_name must be a non-empty str or None, got {sink_name!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
            raise InvalidTypeError(f"timeout must be a number of seconds, got {type(timeout).__name__} {timeout!r}")
        if not (math.isfinite(timeout) and timeout > 0):
            raise InvalidArgumentError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
        self.pipeline: str = pipeline
        self.augment: Augment | None = _check_augment("augment", augment)
        self.frame_augment: Augment | None = _check_augment("frame_augment", frame_augment)
        self.epoch: int = check_int("epoch", epoch, low=0)
        self.clip_length: int = check_int("clip_length", clip_length, low=1)
        self.timeout: float = float(timeout)
        self.format: str = check_choice("format", format, FORMATS)
        self.sink_name: str | None = sink_name
        self.max_buffers: int = check_int("max_buffers", max_buffers, low=1)
        self.shard_size: int = check_int("shard_size", shard_size, low=1)
        # Parse once now, so a bad pipeline fails here rather than in the first epoch.
        built, _ = build(self.pipeline, self.sink_name, self.format, self.max_buffers)
        set_null(built)

    def set_epoch(self, epoch: int) -> None:
        """Key the next iterations' augmentation by ``epoch``."""
        self.epoch = check_int("epoch", epoch, low=0)

    def augment_frame(self, frame: np.ndarray, index: int) -> np.ndarray:
        """What the source yields for raw ``frame`` at position ``index`` (pure; no pipeline needed)."""
        if self.augment is not None:
            frame = self.augment(frame, indices=index // self.clip_length, epoch=self.epoch)
        if self.frame_augment is not None:
            frame = self.frame_augment(frame, indices=index, epoch=self.epoch)
        if not frame.flags.writeable:
            frame = frame.copy()
        return frame

    def __iter__(self) -> Iterator[tuple[np.ndarray, int, int | None]]:
        info = torch.utils.data.get_worker_info()
        if info is None:
            return FrameStream(self)
        return FrameStream(self, worker=info.id, workers=info.num_workers)

    def __repr__(self) -> str:
        parts = [repr(self.pipeline)]
        if self.augment is not None:
            parts.append(f"augment={type(self.augment).__name__}(...)")
        if self.frame_augment is not None:
            parts.append(f"frame_augment={type(self.frame_augment).__name__}(...)")
        parts += [f"epoch={self.epoch}", f"clip_length={self.clip_length}", f"timeout={self.timeout:g}"]
        if self.format != "RGB":
            parts.append(f"format={self.format!r}")
        if self.shard_size != 1:
            parts.append(f"shard_size={self.shard_size}")
        return f"GStreamerSource({', '.join(parts)})"
