"""GStreamerSource faults, with real GStreamer: each a clear exception or a clean end, never a hang,
and the pipeline is back in NULL afterwards."""

from __future__ import annotations

import gc
import time

import pytest
from gst_kit import require_gstreamer

Gst, GLib = require_gstreamer()

from seedwise.data import GStreamerSource
from seedwise.data.gstreamer import (
    CapsError,
    GStreamerError,
    MissingElementError,
    PipelineError,
    PipelineParseError,
    StreamTimeout,
)
from seedwise.errors import SeedwiseError

pytestmark = pytest.mark.gstreamer

SMALL = "video/x-raw,width=32,height=24,framerate=30/1"


def is_null(pipeline) -> bool:
    return pipeline.get_state(0)[1] == Gst.State.NULL


def test_a_launch_string_that_does_not_parse():
    with pytest.raises(PipelineParseError, match="cannot parse.*syntax error") as info:
        GStreamerSource("videotestsrc ! ! appsink")
    assert isinstance(info.value, ValueError) and isinstance(info.value, SeedwiseError)
    with pytest.raises(PipelineParseError, match='no property "colour"'):
        GStreamerSource("videotestsrc colour=red ! appsink")


def test_a_missing_element_names_the_element_and_a_package():
    with pytest.raises(MissingElementError, match="'nosuchdecoder'.*gst-inspect-1.0 nosuchdecoder") as info:
        GStreamerSource("videotestsrc ! nosuchdecoder ! appsink")
    assert info.value.element == "nosuchdecoder"
    assert isinstance(info.value, PipelineParseError) and isinstance(info.value, GStreamerError)
    if Gst.ElementFactory.find("x264enc") is None:  # GStreamer's "ugly" plugins are not installed here
        with pytest.raises(MissingElementError, match="gstreamer1.0-plugins-ugly") as info:
            GStreamerSource("videotestsrc ! x264enc ! fakesink")
        assert info.value.package == "gstreamer1.0-plugins-ugly"


def test_end_of_stream_is_a_clean_stop_after_exactly_the_frames_produced():
    stream = iter(GStreamerSource(f"videotestsrc num-buffers=7 ! {SMALL}"))
    assert [index for _, index, _ in stream] == list(range(7))
    assert is_null(stream.pipeline) and stream.state == "NULL"
    assert list(stream) == []  # stays exhausted


def test_an_element_failing_mid_stream():
    # identity error-after=5 makes the element itself fail on its 5th buffer
    stream = iter(GStreamerSource(f"videotestsrc num-buffers=50 ! {SMALL} ! identity name=boom error-after=5"))
    frames = []
    with pytest.raises(PipelineError, match="from 'boom' after [0-9]+ frame") as info:
        for _frame, index, _ in stream:
            frames.append(index)
    assert info.value.element == "boom" and info.value.frames == len(frames) < 5
    assert frames == list(range(len(frames)))
    assert is_null(stream.pipeline)


def test_an_error_message_posted_on_the_bus_mid_stream():
    stream = iter(GStreamerSource(f"videotestsrc num-buffers=100 ! {SMALL} ! identity name=tap signal-handoffs=true"))
    tap = stream.pipeline.get_by_name("tap")
    frame_ns = 10**9 // 30

    def on_buffer(element, buffer):
        if buffer.pts // frame_ns == 10:  # frame 10: later than any frame queued before we connected
            error = GLib.Error.new_literal(Gst.StreamError.quark(), "the camera fell off", Gst.StreamError.FAILED)
            element.post_message(Gst.Message.new_error(element, error, "posted by the test"))

    tap.connect("handoff", on_buffer)
    seen = 0
    with pytest.raises(PipelineError, match="from 'tap'.*the camera fell off.*posted by the test") as info:
        for _ in stream:
            seen += 1
    assert not isinstance(info.value, CapsError)
    assert 1 <= info.value.frames <= 11 and seen < 100  # raised promptly, not at the end of the stream
    assert is_null(stream.pipeline)


def test_a_caps_mismatch_says_how_to_fix_it():
    stream = iter(GStreamerSource("videotestsrc ! video/x-raw,format=I420 ! appsink name=sink", timeout=5.0))
    t0 = time.monotonic()
    with pytest.raises(CapsError, match="negotiation failed.*videoconvert ! video/x-raw,format=RGB"):
        next(stream)
    assert time.monotonic() - t0 < 4.0  # seen on the bus, not by waiting for the timeout
    assert is_null(stream.pipeline)


def test_appsink_caps_that_exclude_the_format_fail_before_starting():
    with pytest.raises(CapsError, match="exclude format=RGB"):
        GStreamerSource("videotestsrc ! appsink caps=video/x-raw,format=I420")


def test_a_source_that_never_produces_times_out():
    # a live source behind a closed valve: no frame, no error, no end of stream
    stream = iter(GStreamerSource(f"videotestsrc is-live=true ! {SMALL} ! valve drop=true ! appsink", timeout=0.3))
    t0 = time.monotonic()
    with pytest.raises(StreamTimeout, match=r"within timeout=0.3 s after 0 frame") as info:
        next(stream)
    assert 0.3 <= time.monotonic() - t0 < 3.0
    assert isinstance(info.value, TimeoutError)
    assert is_null(stream.pipeline)


def test_a_missing_file_fails_at_start():
    with pytest.raises(PipelineError, match="filesrc.*No such file"):
        iter(GStreamerSource("filesrc location=/nonexistent/seedwise.avi ! avidemux ! jpegdec"))


def test_pipeline_is_stopped_on_close_on_with_and_on_garbage_collection():
    source = GStreamerSource(f"videotestsrc ! {SMALL}")  # endless
    stream = iter(source)
    next(stream)
    assert stream.state in ("PAUSED", "PLAYING")  # PLAYING may still be on its way
    stream.close()
    assert is_null(stream.pipeline) and list(stream) == []
    with iter(source) as stream:
        next(stream)
    assert is_null(stream.pipeline)
    stream = iter(source)
    next(stream)
    pipeline = stream.pipeline
    del stream
    gc.collect()
    assert is_null(pipeline)
