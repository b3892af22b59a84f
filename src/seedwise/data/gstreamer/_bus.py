"""Bus-error decoding: an ERROR message on a pipeline's bus to the exception that explains it."""

from __future__ import annotations

from typing import Any

from seedwise.data.gstreamer._gst import gst
from seedwise.errors import CapsError, PipelineError

__all__ = ["bus_error"]


def bus_error(message: Any, frames: int) -> PipelineError:
    """The exception for an ERROR message on the bus."""
    g = gst()
    Gst = g.Gst
    err, debug = message.parse_error()
    source = message.src.get_name() if message.src is not None else "?"
    debug = debug or ""
    negotiation = (
        "not-negotiated" in debug
        or err.matches(Gst.CoreError.quark(), Gst.CoreError.NEGOTIATION)
        or err.matches(Gst.StreamError.quark(), Gst.StreamError.FORMAT)
    )
    fields: dict[str, Any] = {
        "element": source,
        "domain": str(err.domain),
        "code": int(err.code),
        "debug": debug,
        "frames": frames,
    }
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
