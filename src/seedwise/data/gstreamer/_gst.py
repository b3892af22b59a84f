"""GStreamer, loaded on first use: PyGObject's modules, imported and initialised once.

Also the libgcc workaround that loading GStreamer needs (:func:`prefer_gcc_unwinder`).
Without PyGObject or GStreamer's introspection data, :func:`gst` raises
:class:`~seedwise.errors.MissingDependencyError` naming the ``gstreamer`` extra and the
system packages.
"""

from __future__ import annotations

from typing import Any

from seedwise.data.gstreamer._packages import INSTALL_HINT
from seedwise.errors import GStreamerError, MissingDependencyError

__all__ = ["GstLib", "gst", "prefer_gcc_unwinder"]


class GstLib:
    """The PyGObject modules, imported and initialised once."""

    Gst: Any = None
    GstApp: Any = None
    GstVideo: Any = None
    GLib: Any = None
    #: The process that has started a pipeline: GStreamer's streaming threads live there,
    #: and a process fork()ed from it cannot run pipelines (they would hang).
    started_in: int | None = None


def prefer_gcc_unwinder() -> None:
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


def gst() -> type[GstLib]:
    """Import PyGObject and GStreamer (once) and initialise GStreamer; a clear error if absent."""
    if GstLib.Gst is None:
        prefer_gcc_unwinder()
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
                f"{INSTALL_HINT} (or `make system-deps`); the import failed with: {exc}"
            )
            error.args = (error.msg,)
            raise error from exc
        ok, _ = Gst.init_check(None)
        if not ok:  # pragma: no cover - only on a broken installation
            raise GStreamerError("GStreamer failed to initialise (Gst.init_check returned False)")
        GstLib.Gst, GstLib.GstApp, GstLib.GstVideo, GstLib.GLib = Gst, GstApp, GstVideo, GLib
    return GstLib
