"""GStreamer frames, augmented: seedwise's GStreamerSource against a hand-written appsink loop.

``videotestsrc pattern=ball`` at 224x224 RGB, 30/1, read as fast as possible
(``sync=false``), all in one process pinned to ONE core (GStreamer's streaming thread
included), with the augmentation issue's benchmark pipeline:
HorizontalFlip(0.5), Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
ColorJitter(0.2, 0.2, 0.2, 0.05).

* raw appsink: ``try_pull_sample`` + copy into a NumPy array, no checks (the peer);
* seedwise, no augmentation: the same frames through GStreamerSource (bus checks, stride
  handling, index/PTS bookkeeping) -- its overhead over the raw loop;
* raw appsink + augment by hand: the raw loop calling the pipeline itself;
* seedwise + augment: GStreamerSource(augment=pipe) -- frames per second and the
  real-time factor at 30 fps (goal: >= 10x real time).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gstreamer.py [--frames 300] [--repeats 7]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import time

import cv2
import numpy as np
import torch

from seedwise import Seeds
from seedwise import augment as A
from seedwise.data import GStreamerSource
from seedwise.data.gstreamer._gst import gst

FPS = 30


def launch(frames: int) -> str:
    return (
        f"videotestsrc num-buffers={frames} pattern=ball ! "
        f"video/x-raw,format=RGB,width=224,height=224,framerate={FPS}/1 ! appsink name=sink"
    )


def raw_loop(frames: int, augment=None) -> int:
    """The peer: what people write by hand around an appsink."""
    Gst = gst().Gst
    pipeline = Gst.parse_launch(launch(frames))
    sink = pipeline.get_by_name("sink")
    sink.set_property("sync", False)
    sink.set_property("max-buffers", 4)
    pipeline.set_state(Gst.State.PLAYING)
    n = 0
    try:
        while (sample := sink.try_pull_sample(5 * Gst.SECOND)) is not None:
            buffer = sample.get_buffer()
            structure = sample.get_caps().get_structure(0)
            h, w = structure.get_value("height"), structure.get_value("width")
            frame = np.frombuffer(buffer.extract_dup(0, buffer.get_size()), np.uint8).reshape(h, w, 3).copy()
            if augment is not None:
                frame = augment(frame, indices=n, epoch=0)
            n += 1
    finally:
        pipeline.set_state(Gst.State.NULL)
    return n


def seedwise_loop(frames: int, augment=None) -> int:
    n = 0
    for _frame, _index, _pts in GStreamerSource(launch(frames), augment=augment):
        n += 1
    return n


def best_rates(fns: dict, frames: int, repeats: int) -> dict[str, float]:
    """Frames per second of each function: best of ``repeats`` round-robin runs after a warm-up."""
    for fn in fns.values():
        assert fn() == frames
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: frames / t for name, t in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cpu", type=int, default=0, help="the core to pin the process to")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})  # one core for everything, GStreamer's threads included
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    pipe = A.Compose(
        [
            A.HorizontalFlip(0.5),
            A.Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
            A.ColorJitter(0.2, 0.2, 0.2, 0.05),
        ],
        seeds=Seeds(0)["augment"],
    )
    rates = best_rates(
        {
            "raw appsink": lambda: raw_loop(args.frames),
            "seedwise": lambda: seedwise_loop(args.frames),
            "raw appsink + augment": lambda: raw_loop(args.frames, pipe),
            "seedwise + augment": lambda: seedwise_loop(args.frames, pipe),
        },
        args.frames,
        args.repeats,
    )
    print(f"videotestsrc 224x224 RGB, {args.frames} frames, best of {args.repeats}, 1 core (cpu {args.cpu})")
    for name, rate in rates.items():
        print(f"  {name:<24} {rate:8.0f} frames/s   {rate / FPS:6.1f}x real time at {FPS} fps")
    print(
        f"  overhead of GStreamerSource over raw pulls:   {rates['raw appsink'] / rates['seedwise'] - 1:+.1%} "
        "time per frame (no augmentation)"
    )
    print(
        f"  overhead with augmentation:                   "
        f"{rates['raw appsink + augment'] / rates['seedwise + augment'] - 1:+.1%}"
    )
    goal = rates["seedwise + augment"] / FPS
    print(f"  goal >= 10x real time with augmentation: {goal:.1f}x -> {'met' if goal >= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
