"""Shared by the GStreamer test modules: run them only where real GStreamer 1.x is usable."""

from __future__ import annotations

from typing import Any

import pytest


def require_gstreamer() -> tuple[Any, Any]:
    """``(Gst, GLib)``, initialised; skips the calling module when PyGObject or GStreamer is missing.

    Call at module level, before importing what needs GStreamer.
    """
    gi = pytest.importorskip("gi", reason="PyGObject is not installed (the gstreamer extra)")
    try:
        gi.require_version("Gst", "1.0")
        gi.require_version("GstApp", "1.0")
        gi.require_version("GstVideo", "1.0")
        from gi.repository import GLib, Gst

        ok = Gst.init_check(None)[0]
    except (ImportError, ValueError):  # PyGObject without GStreamer's introspection data
        ok = False
    if not ok:
        pytest.skip("GStreamer 1.x is not installed (make system-deps)", allow_module_level=True)
    return Gst, GLib
