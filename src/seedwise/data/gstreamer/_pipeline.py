"""Pipeline parsing: a launch string to a ``Gst.Pipeline`` with a configured ``appsink``.

:func:`build` parses the launch string (appending ``videoconvert ! ... ! appsink`` when it
has no appsink), picks the appsink to read and configures it (caps in the requested
format, no sync, no drop, bounded queue); parse failures and missing elements become
:class:`~seedwise.errors.PipelineParseError` and
:class:`~seedwise.errors.MissingElementError` naming the package to install.
:func:`set_null` stops a pipeline.
"""

from __future__ import annotations

import os
import re
from typing import Any

from seedwise.data.gstreamer._gst import GstLib, gst
from seedwise.data.gstreamer._packages import package_of
from seedwise.errors import CapsError, InvalidArgumentError, MissingElementError, PipelineParseError

__all__ = ["CHANNELS", "DEFAULT_SINK", "FORMATS", "build", "set_null"]

#: Pixel formats the appsink can be asked for: ``RGB`` gives (H, W, 3) frames, ``GRAY8`` (H, W, 1).
FORMATS = ("RGB", "GRAY8")
#: Channels of a frame in each format.
CHANNELS = {"RGB": 3, "GRAY8": 1}
#: The name of the appsink seedwise appends when the launch string has none.
DEFAULT_SINK = "seedwise_sink"


def _parse(description: str) -> Any:
    """``Gst.parse_launch`` with seedwise's errors; always returns a ``Gst.Pipeline``."""
    g = gst()
    Gst, GLib = g.Gst, g.GLib
    context = Gst.ParseContext.new()
    try:
        element = Gst.parse_launch_full(description, context, Gst.ParseFlags.FATAL_ERRORS)
    except GLib.Error as exc:
        if exc.matches(Gst.parse_error_quark(), Gst.ParseError.NO_SUCH_ELEMENT):
            found = re.search(r'no element "([^"]+)"', exc.message or "")
            missing = list(context.get_missing_elements() or [])
            name = found.group(1) if found else (missing[0] if missing else "?")
            package = package_of(name)
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
    g = gst()
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


def build(description: str, sink_name: str | None, fmt: str, max_buffers: int) -> tuple[Any, Any]:
    """Parse ``description`` (appending an RGB appsink if it has none) and configure the appsink."""
    g = gst()
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
                set_null(pipeline)
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


def set_null(pipeline: Any, owner: int | None = None) -> None:
    """Stop ``pipeline`` (a NULL state change is synchronous) and drop its bus messages.

    Does nothing in a process other than ``owner`` (a fork()ed child that inherited the
    object: the pipeline's threads are not there, and joining them would hang).
    """
    g = GstLib.Gst
    if g is None or (owner is not None and owner != os.getpid()):  # pragma: no cover
        return
    pipeline.set_state(g.State.NULL)
    bus = pipeline.get_bus()
    if bus is not None:
        while bus.pop() is not None:
            pass
