"""GStreamerSource in a torch DataLoader, with real GStreamer and real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from gst_kit import require_gstreamer

require_gstreamer()

import torch
from torch.utils.data import DataLoader

from seedwise import Seeds
from seedwise import augment as A
from seedwise.data import GStreamerSource
from seedwise.data.gstreamer import FrameStream, GStreamerError
from seedwise.errors import InvalidArgumentError

pytestmark = pytest.mark.gstreamer

BALL = "videotestsrc num-buffers=10 pattern=ball ! video/x-raw,width=32,height=24,framerate=30/1"


def source(**kwargs) -> GStreamerSource:
    pipe = A.Compose(
        [A.HorizontalFlip(0.5), A.Affine(degrees=15, translate=0.1), A.ColorJitter(0.2, 0.2, 0.2)],
        seeds=Seeds(5)["augment"],
    )
    return GStreamerSource(BALL, augment=pipe, **kwargs)


def test_a_batched_loader_in_the_main_process():
    batches = list(DataLoader(source(), batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 24, 32, 3) and batches[0][0].dtype == torch.uint8
    assert batches[0][2].tolist() == [n * 10**9 // 30 for n in range(4)]


@pytest.mark.slow
def test_two_spawned_workers_give_exactly_the_single_process_stream():
    data = source(shard_size=2)  # as the batch size: each worker takes 2 consecutive frames in turn
    reference = list(data)
    loader = DataLoader(data, batch_size=2, num_workers=2, multiprocessing_context="spawn")
    batches = list(loader)
    assert [b[1].tolist() for b in batches] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    out = [(frame, index, pts) for b in batches for frame, index, pts in zip(*b)]
    for (frame, index, pts), (got, got_index, got_pts) in zip(reference, out, strict=True):
        assert np.array_equal(frame, got.numpy()) and index == int(got_index) and pts == int(got_pts)


@pytest.mark.slow
def test_forked_workers_work_when_the_main_process_has_not_streamed():
    # torch's default on Linux: workers fork()ed from a process that only built (parsed) the
    # source. A fresh interpreter, because this test process has run pipelines already.
    script = textwrap.dedent(
        f"""
        import numpy as np
        from torch.utils.data import DataLoader
        from seedwise.data import GStreamerSource
        data = GStreamerSource({BALL!r}, timeout=20.0)
        out = list(DataLoader(data, batch_size=None, num_workers=2, timeout=60))
        assert [int(i) for _, i, _ in out] == list(range(10)), [int(i) for _, i, _ in out]
        reference = list(data)
        assert all(np.array_equal(f, g.numpy()) for (f, _, _), (g, _, _) in zip(reference, out))
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_live_pipeline_is_not_split_across_workers():
    live = GStreamerSource("videotestsrc is-live=true num-buffers=3 ! video/x-raw,width=32,height=24")
    with pytest.raises(InvalidArgumentError, match="is live.*cannot be split across 2 DataLoader workers"):
        FrameStream(live, worker=0, workers=2)
    assert len(list(FrameStream(live))) == 3  # alone, it runs


def test_a_process_forked_after_a_pipeline_ran_refuses_instead_of_hanging():
    data = source()
    assert len(list(data)) == 10  # GStreamer's streaming threads now exist in this process
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python >= 3.12 warns about fork() with threads
        pid = os.fork()
    if pid == 0:  # the child: must refuse at once, and must not run pytest's teardown
        code = 3
        try:
            iter(data)
        except GStreamerError as exc:
            code = 0 if "multiprocessing_context='spawn'" in str(exc) else 4
        except BaseException:
            code = 5
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
