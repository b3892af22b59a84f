"""GStreamerSource where GStreamer may be absent: the missing-dependency error and argument checks.

These run on every machine (no skip): the checks happen before GStreamer is touched.
"""

from __future__ import annotations

import sys

import pytest

from seedwise.data import gstreamer as G
from seedwise.data.gstreamer._gst import GstLib
from seedwise.errors import InvalidArgumentError, InvalidTypeError, MissingDependencyError


def test_without_pygobject_the_error_names_the_extra_and_the_system_packages(monkeypatch):
    monkeypatch.setattr(GstLib, "Gst", None)  # as if GStreamer had never been loaded in this process
    monkeypatch.setitem(sys.modules, "gi", None)  # and PyGObject were not installed: import gi fails
    with pytest.raises(MissingDependencyError, match=r"pip install 'seedwise\[gstreamer\]'.*apt-get install") as info:
        G.GStreamerSource("videotestsrc num-buffers=1")
    assert info.value.extra == "gstreamer" and isinstance(info.value, ImportError)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"pipeline": ""}, InvalidTypeError, "pipeline must be a non-empty gst-launch string"),
        ({"pipeline": 3}, InvalidTypeError, "pipeline must be a non-empty gst-launch string"),
        ({"epoch": -1}, InvalidArgumentError, "epoch must be >= 0"),
        ({"clip_length": 0}, InvalidArgumentError, "clip_length must be >= 1"),
        ({"clip_length": 2.0}, InvalidTypeError, "clip_length must be an int"),
        ({"timeout": 0}, InvalidArgumentError, "timeout must be a finite number of seconds > 0"),
        ({"timeout": float("inf")}, InvalidArgumentError, "timeout must be a finite number"),
        ({"timeout": "5"}, InvalidTypeError, "timeout must be a number of seconds"),
        ({"format": "BGR"}, InvalidArgumentError, "format must be one of 'RGB', 'GRAY8'"),
        ({"max_buffers": 0}, InvalidArgumentError, "max_buffers must be >= 1"),
        ({"shard_size": 0}, InvalidArgumentError, "shard_size must be >= 1"),
        ({"augment": "flip"}, InvalidTypeError, "augment must be a seedwise.augment.Compose"),
        ({"frame_augment": 1}, InvalidTypeError, "frame_augment must be a seedwise.augment.Compose"),
        ({"sink_name": ""}, InvalidTypeError, "sink_name must be a non-empty str"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, pattern):
    kwargs = {"pipeline": "videotestsrc num-buffers=1", **kwargs}
    with pytest.raises(error, match=pattern):
        G.GStreamerSource(**kwargs)
