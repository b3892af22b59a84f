"""One pass over a running pipeline: :class:`FrameStream`, what ``iter(GStreamerSource(...))`` returns."""

from __future__ import annotations

import os
import time
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise.data.gstreamer._bus import bus_error
from seedwise.data.gstreamer._gst import GstLib, gst
from seedwise.data.gstreamer._pipeline import CHANNELS, build, set_null
from seedwise.errors import CapsError, GStreamerError, InvalidArgumentError, PipelineError, StreamTimeout

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.data.gstreamer._source import GStreamerSource

__all__ = ["FrameStream"]

#: Longest single wait inside a pull, in seconds: the bus is checked at least this often.
_POLL_S = 0.05


class FrameStream:
    """One pass over a running pipeline; what ``iter(GStreamerSource(...))`` returns.

    Yields ``(frame, index, pts)``. The pipeline is set to NULL when the stream ends,
    fails, is closed (:meth:`close`, or leaving a ``with`` block) or is garbage collected.
    :attr:`pipeline` is the ``Gst.Pipeline`` (for inspection).
    """

    def __init__(self, source: GStreamerSource, *, worker: int = 0, workers: int = 1) -> None:
        g = gst()
        pid = os.getpid()
        if GstLib.started_in is not None and GstLib.started_in != pid:
            raise GStreamerError(
                f"this process (pid {pid}) was fork()ed from one (pid {GstLib.started_in}) that had already run a "
                "GStreamer pipeline; GStreamer's threads do not survive fork(), so a pipeline started here would hang. "
                "Start DataLoader workers with multiprocessing_context='spawn' (or 'forkserver'), or do not iterate "
                "the source in the main process before the workers start"
            )
        self._gst = g
        self.source = source
        self.worker, self.workers = worker, workers
        self.pipeline, self.sink = build(source.pipeline, source.sink_name, source.format, source.max_buffers)
        self._bus = self.pipeline.get_bus()
        self._stop = weakref.finalize(self, set_null, self.pipeline, pid)
        self.frames = 0  # frames pulled from the appsink so far (the next frame's index)
        self.closed = False
        self._channels = CHANNELS[source.format]
        self._layout: tuple[Any, int, int, int, int] | None = None  # (caps, height, width, stride, offset)
        GstLib.started_in = pid
        # PAUSED first: its answer tells whether the pipeline is live (NO_PREROLL).
        paused = self.pipeline.set_state(g.Gst.State.PAUSED)
        playing = self.pipeline.set_state(g.Gst.State.PLAYING) if paused != g.Gst.StateChangeReturn.FAILURE else paused
        if g.Gst.StateChangeReturn.FAILURE in (paused, playing):
            self._raise_bus_error(default=f"the pipeline {source.pipeline!r} failed to start")
        #: True for a live pipeline (camera, network, ``is-live=true``): it runs whether or not it is read.
        self.live = paused == g.Gst.StateChangeReturn.NO_PREROLL
        if self.live and workers > 1:
            self.close()
            raise InvalidArgumentError(
                f"the pipeline {source.pipeline!r} is live (a camera or network stream): its frames cannot be split "
                f"across {workers} DataLoader workers, each of which would open its own stream; use num_workers=0 or 1"
            )

    @property
    def state(self) -> str:
        """The pipeline's current state: ``"NULL"``, ``"READY"``, ``"PAUSED"`` or ``"PLAYING"``."""
        _, current, _ = self.pipeline.get_state(0)
        return str(current.value_nick.upper())

    def __iter__(self) -> FrameStream:
        return self

    def __next__(self) -> tuple[np.ndarray, int, int | None]:
        while True:
            if self.closed:
                raise StopIteration
            try:
                sample = self._pull()
            except BaseException:
                self.close()
                raise
            if sample is None:
                self.close()
                raise StopIteration
            index = self.frames
            self.frames += 1
            if self.workers > 1 and (index // self.source.shard_size) % self.workers != self.worker:
                continue  # another worker's frame
            try:
                frame, pts = self._frame(sample)
                return self.source.augment_frame(frame, index), index, pts
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        """Stop the pipeline (set it to NULL); the stream then yields nothing more."""
        self.closed = True
        self._stop()

    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------

    def _check_bus(self) -> None:
        """Raise the first ERROR message on the bus; drop every other message."""
        Gst = self._gst.Gst
        while (message := self._bus.pop()) is not None:
            if message.type == Gst.MessageType.ERROR:
                raise bus_error(message, self.frames)

    def _raise_bus_error(self, default: str) -> None:
        try:
            self._check_bus()
        finally:
            self.close()
        raise PipelineError(default, frames=self.frames)

    def _pull(self) -> Any:
        """The next sample, or None at end of stream; waits at most ``timeout`` seconds."""
        deadline = time.monotonic() + self.source.timeout
        slice_ns = int(_POLL_S * 1e9)
        while True:
            remaining = deadline - time.monotonic()
            sample = self.sink.try_pull_sample(max(0, min(slice_ns, int(remaining * 1e9))))
            self._check_bus()
            if sample is not None:
                return sample
            if self.sink.is_eos():
                return None
            if remaining <= 0:
                _, state, _ = self.pipeline.get_state(0)
                raise StreamTimeout(
                    f"no frame from {self.source.pipeline!r} within timeout={self.source.timeout:g} s after "
                    f"{self.frames} frame(s) (pipeline state {state.value_nick.upper()}, no error and no end of stream "
                    "on the bus); a live source may be stalled or a valve closed. Raise timeout= if the source is slow"
                )

    def _frame(self, sample: Any) -> tuple[np.ndarray, int | None]:
        """Copy the sample's pixels into an (H, W, C) uint8 array; its PTS in ns (None if unknown)."""
        buffer = sample.get_buffer()
        caps = sample.get_caps()
        if self._layout is None or not caps.is_equal(self._layout[0]):
            self._layout = self._read_layout(caps, buffer)
        _, height, width, stride, offset = self._layout
        data = buffer.extract_dup(0, buffer.get_size())
        row = width * self._channels
        if len(data) < offset + (height - 1) * stride + row:
            raise PipelineError(
                f"a frame of {len(data)} bytes is too small for {width}x{height} {self.source.format} "
                f"(stride {stride}, offset {offset})",
                frames=self.frames,
            )
        if stride == row:
            flat = np.frombuffer(data, dtype=np.uint8, count=height * row, offset=offset)
            frame = flat.reshape(height, width, self._channels)  # read-only: augment_frame copies if needed
        else:  # rows padded (e.g. to 4 bytes): drop the padding
            rows = np.lib.stride_tricks.as_strided(
                np.frombuffer(data, dtype=np.uint8, offset=offset), shape=(height, row), strides=(stride, 1)
            )
            frame = rows.reshape(height, width, self._channels).copy()
        pts = buffer.pts
        return frame, (None if pts == self._gst.Gst.CLOCK_TIME_NONE else int(pts))

    def _read_layout(self, caps: Any, buffer: Any) -> tuple[Any, int, int, int, int]:
        GstVideo = self._gst.GstVideo
        info = GstVideo.VideoInfo.new_from_caps(caps)
        if info is None:  # pragma: no cover - the appsink only accepts raw video
            raise CapsError(f"the appsink delivered caps {caps.to_string()!r}, which are not raw video")
        stride, offset = int(info.stride[0]), int(info.offset[0])
        meta = GstVideo.buffer_get_video_meta(buffer)
        if meta is not None:  # a producer's own layout
            stride, offset = int(meta.stride[0]), int(meta.offset[0])
        return caps, int(info.height), int(info.width), stride, offset

    def __repr__(self) -> str:
        return f"FrameStream(frames={self.frames}, state={self.state}, worker={self.worker}/{self.workers})"
