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

The package: ``_gst`` (PyGObject and GStreamer, loaded on first use, and the libgcc
workaround), ``_packages`` (which system package provides an element), ``_pipeline``
(parsing a launch string, configuring the appsink), ``_bus`` (bus errors to exceptions),
``_stream`` (:class:`FrameStream`) and ``_source`` (:class:`GStreamerSource`). The
exception classes live in :mod:`seedwise.errors` and are re-exported here.
"""

from __future__ import annotations

from seedwise.data.gstreamer._pipeline import DEFAULT_SINK as DEFAULT_SINK  # the appended appsink's name
from seedwise.data.gstreamer._pipeline import FORMATS
from seedwise.data.gstreamer._source import Augment as Augment  # the type of augment=
from seedwise.data.gstreamer._source import GStreamerSource
from seedwise.data.gstreamer._stream import FrameStream
from seedwise.errors import (
    CapsError,
    GStreamerError,
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
