"""Which Debian/Ubuntu package provides a GStreamer element: the install hints of the error messages."""

from __future__ import annotations

__all__ = ["INSTALL_HINT", "package_of"]

#: The Debian/Ubuntu package that usually provides an element (for error messages).
_PACKAGES: dict[str, str] = {
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
INSTALL_HINT = (
    "sudo apt-get install gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
    "gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0"
)


def package_of(element: str) -> str:
    """The package that usually provides ``element``, or how to find out."""
    return _PACKAGES.get(
        element,
        "a GStreamer plugin package (gstreamer1.0-plugins-good, -bad, -ugly or gstreamer1.0-libav); "
        f"`gst-inspect-1.0 {element}` tells whether it is installed",
    )
