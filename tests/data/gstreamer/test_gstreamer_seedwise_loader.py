"""GStreamerSource through seedwise.data.DataLoader: same frames as iterating the source, epoch forwarded."""

from __future__ import annotations

import pytest
import torch
from gst_kit import require_gstreamer

import seedwise as sw
from seedwise import augment as A

require_gstreamer()

PIPE = "videotestsrc pattern=ball num-buffers=12 ! video/x-raw,width=32,height=24,framerate=30/1"


def _pipe() -> A.Compose:
    return A.Compose({"flip": A.HorizontalFlip(0.5), "affine": A.Affine(degrees=10)}, seeds=sw.Seeds(1)["augment"])


def test_seedwise_loader_batches_equal_the_source():
    source = sw.data.GStreamerSource(PIPE, augment=_pipe())
    direct = torch.stack([torch.from_numpy(frame) for frame, _, _ in source])
    loader = sw.data.DataLoader(sw.data.GStreamerSource(PIPE, augment=_pipe()), batch_size=5, seeds=sw.Seeds(0))
    batches = list(loader)
    frames = torch.cat([b[0] for b in batches])
    assert torch.equal(frames, direct)
    assert torch.equal(torch.cat([b[1] for b in batches]), torch.arange(12))


def test_set_epoch_reaches_the_source():
    loader = sw.data.DataLoader(sw.data.GStreamerSource(PIPE, augment=_pipe()), batch_size=12, seeds=sw.Seeds(0))
    first = next(iter(loader))[0]
    loader.set_epoch(1)
    second = next(iter(loader))[0]
    expected = torch.stack([torch.from_numpy(f) for f, _, _ in sw.data.GStreamerSource(PIPE, augment=_pipe(), epoch=1)])
    assert torch.equal(second, expected) and not torch.equal(first, second)


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"world_size": 2, "rank": 1}, {"augment": "x"}])
def test_options_that_do_not_apply_to_streams(kwargs):
    with pytest.raises(ValueError, match="stream"):
        sw.data.DataLoader(sw.data.GStreamerSource(PIPE), batch_size=2, seeds=sw.Seeds(0), **kwargs)


def test_no_resume_state_for_streams():
    loader = sw.data.DataLoader(sw.data.GStreamerSource(PIPE), batch_size=2, seeds=sw.Seeds(0))
    with pytest.raises(ValueError, match="stream"):
        loader.state_dict()
