"""GStreamerSource with real GStreamer: frames, bookkeeping and reproducible augmentation."""

from __future__ import annotations

import numpy as np
import pytest
from gst_kit import require_gstreamer

Gst, _ = require_gstreamer()

import itertools

from seedwise import Seeds
from seedwise import augment as A
from seedwise.data import GStreamerSource
from seedwise.data.gstreamer import FrameStream
from seedwise.errors import InvalidArgumentError

pytestmark = pytest.mark.gstreamer

BALL = "videotestsrc num-buffers={n} pattern=ball ! video/x-raw,width=64,height=48,framerate=30/1"
STATIC = "videotestsrc num-buffers={n} pattern=circular ! video/x-raw,width=64,height=48,framerate=30/1"


def bench_pipe(seed: int) -> A.Compose:
    return A.Compose(
        [
            A.HorizontalFlip(0.5),
            A.Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
            A.ColorJitter(0.2, 0.2, 0.2, 0.05),
        ],
        seeds=Seeds(seed)["augment"],
    )


def pull(source: GStreamerSource) -> list[tuple[np.ndarray, int, int | None]]:
    stream = iter(source)
    assert isinstance(stream, FrameStream)
    out = list(stream)
    assert stream.state == "NULL"  # the pipeline is stopped once the stream ends
    return out


def encode_avi(path) -> None:
    """A 20-frame motion-JPEG AVI of the moving ball, written by GStreamer itself."""
    pipeline = Gst.parse_launch(
        "videotestsrc num-buffers=20 pattern=ball ! video/x-raw,width=64,height=48,framerate=30/1 "
        f"! jpegenc ! avimux ! filesink location={path}"
    )
    pipeline.set_state(Gst.State.PLAYING)
    message = pipeline.get_bus().timed_pop_filtered(20 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    assert message is not None and message.type == Gst.MessageType.EOS


def test_frames_indices_and_timestamps_from_videotestsrc():
    frames = pull(GStreamerSource(BALL.format(n=12)))
    assert [index for _, index, _ in frames] == list(range(12))
    # videotestsrc at 30/1 stamps frame n with n * 1 s / 30, rounded down
    assert [pts for _, _, pts in frames] == [n * 10**9 // 30 for n in range(12)]
    for frame, _, _ in frames:
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8 and frame.flags.writeable
    # the ball moves: consecutive frames differ
    assert all(not np.array_equal(a[0], b[0]) for a, b in itertools.pairwise(frames))


def test_appended_tail_equals_explicit_appsink():
    implicit = pull(GStreamerSource(BALL.format(n=4)))
    explicit = pull(GStreamerSource(BALL.format(n=4) + " ! videoconvert ! appsink name=out", sink_name="out"))
    assert all(np.array_equal(a[0], b[0]) and a[1:] == b[1:] for a, b in zip(implicit, explicit))
    assert len(implicit) == len(explicit) == 4


@pytest.mark.parametrize("fmt, channels", [("RGB", 3), ("GRAY8", 1)])
def test_padded_rows_are_unpadded(fmt, channels):
    # width 30: GStreamer pads each row to a multiple of 4 bytes (RGB: 90 -> 92, GRAY8: 30 -> 32)
    source = GStreamerSource(
        "videotestsrc num-buffers=2 pattern=solid-color foreground-color=0xff112233 ! video/x-raw,width=30,height=7",
        format=fmt,
    )
    frames = pull(source)
    assert len(frames) == 2
    frame = frames[0][0]
    assert frame.shape == (7, 30, channels)
    if fmt == "RGB":
        assert np.array_equal(frame, np.broadcast_to(np.array([0x11, 0x22, 0x33], np.uint8), frame.shape))
    else:  # one grey level everywhere: a stride error would shift rows
        assert np.unique(frame).size == 1


def test_frames_from_a_video_file_the_test_encodes(tmp_path):
    path = tmp_path / "ball.avi"
    encode_avi(path)
    decoded = f"filesrc location={path} ! avidemux ! jpegdec"
    frames = pull(GStreamerSource(decoded))
    assert [i for _, i, _ in frames] == list(range(20))  # exactly the frames written, then a clean stop
    assert [p for _, _, p in frames] == [n * 10**9 // 30 for n in range(20)]
    assert all(f.shape == (48, 64, 3) for f, _, _ in frames)
    # augmented: identical across runs, and a pure function of the raw frame and its index
    first = pull(GStreamerSource(decoded, augment=bench_pipe(1), epoch=2))
    second = pull(GStreamerSource(decoded, augment=bench_pipe(1), epoch=2))
    pipe = bench_pipe(1)
    for (raw, i, _), (a, _, _), (b, _, _) in zip(frames, first, second):
        assert np.array_equal(a, b)
        assert np.array_equal(a, pipe(raw, indices=i, epoch=2))


def test_augmented_stream_is_bit_identical_across_runs_and_differs_across_seeds_and_epochs():
    raw = pull(GStreamerSource(BALL.format(n=10)))
    a = pull(GStreamerSource(BALL.format(n=10), augment=bench_pipe(7)))
    b = pull(GStreamerSource(BALL.format(n=10), augment=bench_pipe(7), max_buffers=1, timeout=10.0))
    assert len(a) == len(b) == 10
    assert all(np.array_equal(x[0], y[0]) and x[1:] == y[1:] for x, y in zip(a, b))
    assert not any(np.array_equal(x[0], r[0]) for x, r in zip(a, raw))  # it was augmented
    other_seed = pull(GStreamerSource(BALL.format(n=10), augment=bench_pipe(8)))
    assert sum(np.array_equal(x[0], y[0]) for x, y in zip(a, other_seed)) == 0
    source = GStreamerSource(BALL.format(n=10), augment=bench_pipe(7))
    source.set_epoch(1)
    other_epoch = pull(source)
    assert sum(np.array_equal(x[0], y[0]) for x, y in zip(a, other_epoch)) == 0


def test_frames_of_a_clip_share_parameters():
    pipe = bench_pipe(3)
    raw = pull(GStreamerSource(STATIC.format(n=8)))
    assert all(np.array_equal(raw[0][0], r[0]) for r in raw)  # a still picture
    clips = pull(GStreamerSource(STATIC.format(n=8), augment=pipe, clip_length=4))
    # same picture + same parameters within a clip -> same output; the next clip differs
    assert all(np.array_equal(clips[0][0], c[0]) for c in clips[:4])
    assert all(np.array_equal(clips[4][0], c[0]) for c in clips[4:])
    assert not np.array_equal(clips[0][0], clips[4][0])
    for frame, index, _ in clips:
        assert np.array_equal(frame, pipe(raw[index][0], indices=index // 4, epoch=0))
    # frame_augment varies inside the clip: it is keyed by the frame index
    noisy = A.Compose([A.ColorJitter(0.3, 0.3, 0.3, 0.0)], seeds=Seeds(3)["frame"])
    mixed = pull(GStreamerSource(STATIC.format(n=8), augment=pipe, frame_augment=noisy, clip_length=4))
    assert not np.array_equal(mixed[0][0], mixed[1][0])
    assert np.array_equal(mixed[1][0], noisy(clips[1][0], indices=1, epoch=0))


def test_choosing_among_several_appsinks():
    two = "videotestsrc num-buffers=3 ! tee name=t t. ! queue ! appsink name=a t. ! queue ! appsink name=b"
    with pytest.raises(InvalidArgumentError, match=r"2 appsinks \(\['a', 'b'\]\).*sink_name"):
        GStreamerSource(two)
    with pytest.raises(InvalidArgumentError, match="no appsink named 'c'"):
        GStreamerSource(two, sink_name="c")
    assert [i for _, i, _ in pull(GStreamerSource(two, sink_name="b"))] == [0, 1, 2]


def test_repr_is_readable():
    source = GStreamerSource(BALL.format(n=1), augment=bench_pipe(0), clip_length=8, timeout=2)
    assert repr(source) == (
        f"GStreamerSource({BALL.format(n=1)!r}, augment=Compose(...), epoch=0, clip_length=8, timeout=2)"
    )
