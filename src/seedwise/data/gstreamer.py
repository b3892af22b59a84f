"""Frames from a GStreamer pipeline, augmented reproducibly: :class:`GStreamerSource`.

GStreamer runs a media pipeline (camera, file, RTSP, test source) in its own threads,
so *when* a frame reaches Python depends on timing. seedwise makes *what* a frame gets
independent of that: frames are numbered in the order they reach the ``appsink`` and
each frame's augmentation is a pure function of (stream, epoch, frame index), never of
how many frames were pulled before or by which thread.

Frame index. ``index`` is the number of frames this iteration delivered from the
appsink before this one: 0, 1, 2, ... with no gaps. The appsink never drops (``drop``
is off and ``max-buffers`` bounded, so a slow consumer slows the pipeline down instead),
so for a file or a test source ``index`` is the frame's position in the stream. A live
source (camera) may drop frames *upstream* of the appsink when the consumer is slower
than real time; ``index`` then counts the frames that arrived, and ``pts`` tells when
they were captured.

Faults are exceptions, never hangs: every pull waits at most ``timeout`` seconds (in
short slices, with the bus checked between them and after every frame), and the
pipeline is set to NULL when the iteration ends, fails, is closed, or is garbage
collected.

Exceptions (all :class:`GStreamerError`, itself a :class:`~seedwise.errors.SeedwiseError`
and a ``RuntimeError``):

* :class:`PipelineParseError` (also a ``ValueError``) -- the launch string does not parse;
* :class:`MissingElementError` -- an element (plugin) is not installed; names the package;
* :class:`PipelineError` -- an ERROR message on the pipeline's bus (mid-stream or at start);
* :class:`CapsError` -- caps negotiation failed (the stream cannot be converted to RGB);
* :class:`StreamTimeout` (also a ``TimeoutError``) -- no frame for ``timeout`` seconds.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Literal

import numpy as np
import torch.utils.data

from seedwise._validate import check_choice, check_int
from seedwise.errors import (
    CapsError,
    GStreamerError,
    InvalidArgumentError,
    InvalidTypeError,
    MissingDependencyError,
    MissingElementError,
    PipelineError,
    PipelineParseError,
    StreamTimeout,
)

__all__ = [
    "GStreamerSource",
    "FrameStream",
    "GStreamerError",
    "PipelineParseError",
    "MissingElementError",
    "PipelineError",
    "CapsError",
    "StreamTimeout",
    "FORMATS",
]

#: Pixel formats the appsink can be asked for: ``RGB`` gives (H, W, 3) frames, ``GRAY8`` (H, W, 1).
FORMATS = ("RGB", "GRAY8")
_CHANNELS = {"RGB": 3, "GRAY8": 1}
#: The name of the appsink seedwise appends when the launch string has none.
DEFAULT_SINK = "seedwise_sink"
#: Longest single wait inside a pull, in seconds: the bus is checked at least this often.
_POLL_S = 0.05

#: The Debian/Ubuntu package that usually provides an element (for error messages).
_PACKAGES = {
    **dict.fromkeys(
        (
            "filesrc",
            "filesink",
            "fakesrc",
            "fakesink",
            "identity",
            "queue",
            "queue2",
            "tee",
            "valve",
            "capsfilter",
            "multiqueue",
            "input-selector",
            "output-selector",
            "fdsrc",
            "fdsink",
        ),
        "libgstreamer1.0-0 (GStreamer core)",
    ),
    **dict.fromkeys(
        (
            "videotestsrc",
            "videoconvert",
            "videoscale",
            "videorate",
            "appsink",
            "appsrc",
            "decodebin",
            "uridecodebin",
            "decodebin3",
            "playbin",
            "theoraenc",
            "theoradec",
            "oggmux",
            "oggdemux",
            "audiotestsrc",
            "audioconvert",
            "tcpclientsrc",
            "tcpserversink",
            "ximagesink",
        ),
        "gstreamer1.0-plugins-base",
    ),
    **dict.fromkeys(
        (
            "jpegenc",
            "jpegdec",
            "pngenc",
            "pngdec",
            "avimux",
            "avidemux",
            "matroskamux",
            "matroskademux",
            "qtdemux",
            "qtmux",
            "mp4mux",
            "rtspsrc",
            "rtph264depay",
            "rtpjpegdepay",
            "udpsrc",
            "udpsink",
            "v4l2src",
            "souphttpsrc",
            "vp8enc",
            "vp8dec",
            "vp9enc",
            "vp9dec",
            "multifilesrc",
            "videocrop",
            "videoflip",
            "autovideosink",
        ),
        "gstreamer1.0-plugins-good",
    ),
    **dict.fromkeys(
        (
            "h264parse",
            "h265parse",
            "nvh264dec",
            "nvh264enc",
            "vah264dec",
            "webrtcbin",
            "srtsrc",
            "openh264dec",
            "x265enc",
        ),
        "gstreamer1.0-plugins-bad",
    ),
    **dict.fromkeys(("x264enc", "mpeg2dec"), "gstreamer1.0-plugins-ugly"),
    **dict.fromkeys(("avdec_h264", "avdec_h265", "avdec_mpeg4", "avenc_mpeg4"), "gstreamer1.0-libav"),
}
_INSTALL_HINT = (
    "sudo apt-get install gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
    "gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0"
)


# -- GStreamer, loaded on first use ----------------------------------------------------


class _Gst:
    """The PyGObject modules, imported and initialised once."""

    Gst: Any = None
    GstApp: Any = None
    GstVideo: Any = None
    GLib: Any = None
    #: The process that has started a pipeline: GStreamer's streaming threads live there,
    #: and a process fork()ed from it cannot run pipelines (they would hang).
    started_in: int | None = None


def _prefer_gcc_unwinder() -> None:
    """Load libgcc_s globally before GStreamer, which brings libunwind into the global scope.

    Without this, a C++ exception thrown later by another extension (matplotlib's
    ft2font, any pybind11 module) can unwind through libunwind's ``_Unwind_Resume`` and
    abort the process. Loading GCC's unwinder first makes it the one symbol lookups find.
    Idempotent; a no-op where the library does not exist.
    """
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libgcc_s.so.1", mode=ctypes.RTLD_GLOBAL)
        except OSError:  # pragma: no cover - not a glibc system
            pass


def _gst() -> type[_Gst]:
    """Import PyGObject and GStreamer (once) and initialise GStreamer; a clear error if absent."""
    if _Gst.Gst is None:
        _prefer_gcc_unwinder()
        try:
            import gi

            gi.require_version("Gst", "1.0")
            gi.require_version("GstApp", "1.0")
            gi.require_version("GstVideo", "1.0")
            from gi.repository import GLib, Gst, GstApp, GstVideo
        except (ImportError, ValueError) as exc:
            error = MissingDependencyError("PyGObject", "gstreamer", "seedwise.data.GStreamerSource")
            error.msg = (  # ImportError's str() is its msg
                f"{error.args[0]}. GStreamer itself and its introspection data come from system packages: "
                f"{_INSTALL_HINT} (or `make system-deps`); the import failed with: {exc}"
            )
            error.args = (error.msg,)
            raise error from exc
        ok, _ = Gst.init_check(None)
        if not ok:  # pragma: no cover - only on a broken installation
            raise GStreamerError("GStreamer failed to initialise (Gst.init_check returned False)")
        _Gst.Gst, _Gst.GstApp, _Gst.GstVideo, _Gst.GLib = Gst, GstApp, GstVideo, GLib
    return _Gst


def _package_of(element: str) -> str:
    return _PACKAGES.get(
        element,
        "a GStreamer plugin package (gstreamer1.0-plugins-good, -bad, -ugly or gstreamer1.0-libav); "
        f"`gst-inspect-1.0 {element}` tells whether it is installed",
    )


def _parse(description: str) -> Any:
    """``Gst.parse_launch`` with seedwise's errors; always returns a ``Gst.Pipeline``."""
    g = _gst()
    Gst, GLib = g.Gst, g.GLib
    context = Gst.ParseContext.new()
    try:
        element = Gst.parse_launch_full(description, context, Gst.ParseFlags.FATAL_ERRORS)
    except GLib.Error as exc:
        if exc.matches(Gst.parse_error_quark(), Gst.ParseError.NO_SUCH_ELEMENT):
            found = re.search(r'no element "([^"]+)"', exc.message or "")
            missing = list(context.get_missing_elements() or [])
            name = found.group(1) if found else (missing[0] if missing else "?")
            package = _package_of(name)
            raise MissingElementError(
                f"pipeline: no GStreamer element {name!r} is installed (it is usually provided by {package}); "
                f"check the spelling, or install the plugin. Pipeline: {description!r}",
                element=name,
                package=package,
            ) from None
        raise PipelineParseError(
            f"pipeline: GStreamer cannot parse {description!r}: {exc.message}. A launch string is elements "
            "linked with '!', e.g. 'videotestsrc num-buffers=30 ! videoconvert ! appsink name=sink'"
        ) from None
    if not isinstance(element, Gst.Pipeline):  # a single element: put it in a pipeline
        pipeline = Gst.Pipeline.new(None)
        pipeline.add(element)
        return pipeline
    return element


def _appsinks(pipeline: Any) -> list[Any]:
    g = _gst()
    found = []
    iterator = pipeline.iterate_recurse()
    while True:
        result, element = iterator.next()
        if result == g.Gst.IteratorResult.RESYNC:  # pragma: no cover - the pipeline is not running yet
            iterator.resync()
            continue
        if result != g.Gst.IteratorResult.OK:
            break
        factory = element.get_factory()
        if factory is not None and factory.get_name() == "appsink":
            found.append(element)
    return sorted(found, key=lambda e: e.get_name())


#: An ``appsink`` element in a launch string: first, or right after a link or a bin's bracket.
_APPSINK = re.compile(r"(^|[!(])\s*appsink(\s|$|!)")


def _build(description: str, sink_name: str | None, fmt: str, max_buffers: int) -> tuple[Any, Any]:
    """Parse ``description`` (appending an RGB appsink if it has none) and configure the appsink."""
    g = _gst()
    if _APPSINK.search(description):
        pipeline = _parse(description)
        sinks = _appsinks(pipeline)
    else:
        tail = f" ! videoconvert ! video/x-raw,format={fmt} ! appsink name={DEFAULT_SINK}"
        try:
            pipeline = _parse(description + tail)
        except PipelineParseError as with_tail:
            pipeline = _parse(description)  # its own error, if it has one
            if not _appsinks(pipeline):
                _set_null(pipeline)
                raise PipelineParseError(
                    f"pipeline: {description!r} has no appsink, and seedwise cannot append "
                    f"'{tail.strip()}' to it ({with_tail}); end it with an element that has a free source pad "
                    "(e.g. a decoder or videoconvert), or with an appsink"
                ) from None
        sinks = _appsinks(pipeline)
    if sink_name is not None and not sinks:
        raise InvalidArgumentError(
            f"sink_name: the pipeline has no appsink named {sink_name!r} (it has no appsink at all)"
        )
    names = [s.get_name() for s in sinks]
    if sink_name is not None:
        sink = pipeline.get_by_name(sink_name)
        if sink is None or sink.get_factory() is None or sink.get_factory().get_name() != "appsink":
            raise InvalidArgumentError(
                f"sink_name: the pipeline has no appsink named {sink_name!r}; its appsinks: {names}"
            )
    elif len(sinks) > 1:
        raise InvalidArgumentError(
            f"the pipeline has {len(sinks)} appsinks ({names}); say which to read with sink_name="
        )
    else:
        sink = sinks[0]
    want = g.Gst.Caps.from_string(f"video/x-raw,format={fmt}")
    have = sink.get_property("caps")
    if have is not None and not have.is_any():
        caps = have.intersect(want)
        if caps.is_empty():
            raise CapsError(
                f"the appsink {sink.get_name()!r} has caps {have.to_string()!r}, which exclude format={fmt}; "
                f"drop its caps or put 'videoconvert ! video/x-raw,format={fmt}' before it",
                element=sink.get_name(),
            )
    else:
        caps = want
    sink.set_property("caps", caps)
    sink.set_property("sync", False)
    sink.set_property("emit-signals", False)
    sink.set_property("drop", False)
    sink.set_property("max-buffers", max_buffers)
    return pipeline, sink


def _set_null(pipeline: Any, owner: int | None = None) -> None:
    """Stop ``pipeline`` (a NULL state change is synchronous) and drop its bus messages.

    Does nothing in a process other than ``owner`` (a fork()ed child that inherited the
    object: the pipeline's threads are not there, and joining them would hang).
    """
    g = _Gst.Gst
    if g is None or (owner is not None and owner != os.getpid()):  # pragma: no cover
        return
    pipeline.set_state(g.State.NULL)
    bus = pipeline.get_bus()
    if bus is not None:
        while bus.pop() is not None:
            pass


def _bus_error(message: Any, frames: int) -> PipelineError:
    """The exception for an ERROR message on the bus."""
    g = _gst()
    Gst = g.Gst
    err, debug = message.parse_error()
    source = message.src.get_name() if message.src is not None else "?"
    debug = debug or ""
    negotiation = (
        "not-negotiated" in debug
        or err.matches(Gst.CoreError.quark(), Gst.CoreError.NEGOTIATION)
        or err.matches(Gst.StreamError.quark(), Gst.StreamError.FORMAT)
    )
    fields = dict(element=source, domain=str(err.domain), code=int(err.code), debug=debug, frames=frames)
    said = (err.message or "").rstrip(".")
    last_debug_line = debug.splitlines()[-1] if debug else ""
    if negotiation:
        return CapsError(
            f"caps negotiation failed at {source!r} after {frames} frame(s): the appsink accepts only raw video in "
            "the requested format, which the upstream elements do not produce. Fix: put "
            "'videoconvert ! video/x-raw,format=RGB' (or your format) right before the appsink, and check any "
            f"caps filter upstream. GStreamer said: {said} ({last_debug_line})",
            **fields,
        )
    missing_plugin = err.matches(Gst.CoreError.quark(), Gst.CoreError.MISSING_PLUGIN) or err.matches(
        Gst.StreamError.quark(), Gst.StreamError.CODEC_NOT_FOUND
    )
    hint = (
        " A decoder or demuxer is missing: install gstreamer1.0-plugins-good/-bad/-ugly or gstreamer1.0-libav."
        if missing_plugin
        else ""
    )
    return PipelineError(
        f"GStreamer error from {source!r} after {frames} frame(s): {said}.{hint} Debug: {' '.join(debug.split())}",
        **fields,
    )


# -- the iterator ----------------------------------------------------------------------


class FrameStream:
    """One pass over a running pipeline; what ``iter(GStreamerSource(...))`` returns.

    Yields ``(frame, index, pts)``. The pipeline is set to NULL when the stream ends,
    fails, is closed (:meth:`close`, or leaving a ``with`` block) or is garbage collected.
    :attr:`pipeline` is the ``Gst.Pipeline`` (for inspection).
    """

    def __init__(self, source: GStreamerSource, *, worker: int = 0, workers: int = 1) -> None:
        g = _gst()
        pid = os.getpid()
        if _Gst.started_in is not None and _Gst.started_in != pid:
            raise GStreamerError(
                f"this process (pid {pid}) was fork()ed from one (pid {_Gst.started_in}) that had already run a "
                "GStreamer pipeline; GStreamer's threads do not survive fork(), so a pipeline started here would hang. "
                "Start DataLoader workers with multiprocessing_context='spawn' (or 'forkserver'), or do not iterate "
                "the source in the main process before the workers start"
            )
        self._gst = g
        self.source = source
        self.worker, self.workers = worker, workers
        self.pipeline, self.sink = _build(source.pipeline, source.sink_name, source.format, source.max_buffers)
        self._bus = self.pipeline.get_bus()
        self._stop = weakref.finalize(self, _set_null, self.pipeline, pid)
        self.frames = 0  # frames pulled from the appsink so far (the next frame's index)
        self.closed = False
        self._channels = _CHANNELS[source.format]
        self._layout: tuple[Any, int, int, int, int] | None = None  # (caps, height, width, stride, offset)
        _Gst.started_in = pid
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
        return current.value_nick.upper()

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
                raise _bus_error(message, self.frames)

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


# -- the dataset -----------------------------------------------------------------------

Augment = Callable[..., np.ndarray]


def _check_augment(name: str, value: object) -> Augment | None:
    if value is None or callable(value):
        return value  # type: ignore[return-value]
    raise InvalidTypeError(
        f"{name} must be a seedwise.augment.Compose (called as pipe(image, indices=i, epoch=e)) or None, "
        f"got {type(value).__name__}"
    )


class GStreamerSource(torch.utils.data.IterableDataset):
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
        self.pipeline = pipeline
        self.augment = _check_augment("augment", augment)
        self.frame_augment = _check_augment("frame_augment", frame_augment)
        self.epoch = check_int("epoch", epoch, low=0)
        self.clip_length = check_int("clip_length", clip_length, low=1)
        self.timeout = float(timeout)
        self.format = check_choice("format", format, FORMATS)
        self.sink_name = sink_name
        self.max_buffers = check_int("max_buffers", max_buffers, low=1)
        self.shard_size = check_int("shard_size", shard_size, low=1)
        # Parse once now, so a bad pipeline fails here rather than in the first epoch.
        built, _ = _build(self.pipeline, self.sink_name, self.format, self.max_buffers)
        _set_null(built)

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
