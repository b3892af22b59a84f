"""seedwise.data's public names, argument checks and reprs."""

from __future__ import annotations

import pytest
import torch
from data_loader_kit import Tiny

import seedwise as sw
from seedwise.data import DataLoader, SeededSampler
from seedwise.errors import InvalidArgumentError, InvalidTypeError


def test_public_names():
    import seedwise.data as data

    assert sw.data is data
    assert {"DataLoader", "SeededSampler", "ResumePoint", "GStreamerSource"} <= set(dir(data))
    assert isinstance(DataLoader(Tiny(3), seeds=sw.Seeds(0)).sampler, SeededSampler)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        data.Nope  # noqa: B018


def test_the_loader_takes_its_seeds_explicitly():
    with pytest.raises(TypeError, match="seeds"):
        DataLoader(Tiny(3), batch_size=2)  # type: ignore[call-arg]
    with pytest.raises(InvalidTypeError, match="seeds is required"):
        DataLoader(Tiny(3), seeds=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="non-negative"):
        DataLoader(Tiny(3), seeds=-1)
    assert torch.equal(  # an int seed is Seeds(seed)
        next(iter(DataLoader(Tiny(5), batch_size=5, shuffle=True, seeds=7)))[0],
        next(iter(DataLoader(Tiny(5), batch_size=5, shuffle=True, seeds=sw.Seeds(7))))[0],
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sampler": [0, 1]}, InvalidArgumentError, "does not take sampler=: the order comes from seeds"),
        ({"batch_sampler": [[0]]}, InvalidArgumentError, "does not take batch_sampler="),
        ({"generator": torch.Generator()}, InvalidArgumentError, "does not take generator="),
        ({"in_order": False}, InvalidArgumentError, "in_order=False"),
        ({"batch_size": 0}, InvalidArgumentError, "batch_size must be >= 1"),
        ({"batch_size": 2.0}, InvalidTypeError, "batch_size must be an int"),
        ({"num_workers": -1}, InvalidArgumentError, "num_workers must be >= 0"),
        ({"shuffle": "yes"}, InvalidTypeError, "shuffle must be a bool"),
        ({"rank": 1}, InvalidArgumentError, r"rank must be in \[0, world_size\)"),
        ({"num_classes": 10}, InvalidArgumentError, "num_classes is only used with augment="),
        ({"worker_init_fn": 3}, InvalidTypeError, "worker_init_fn must be callable"),
        ({"global_rngs": "epoch"}, InvalidArgumentError, "global_rngs must be one of 'worker', 'sample', 'off'"),
        ({"augment": "flip"}, InvalidTypeError, "^augment must be a seedwise.augment.Compose"),
    ],
)
def test_bad_arguments_are_explained(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(Tiny(4), seeds=sw.Seeds(0), **kwargs)


def test_iterable_datasets_are_refused_with_a_reason():
    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    with pytest.raises(InvalidTypeError, match="IterableDataset, which has no indices"):
        DataLoader(Stream(), seeds=sw.Seeds(0))


def test_loader_repr_and_len():
    loader = DataLoader(Tiny(10), batch_size=4, shuffle=True, seeds=sw.Seeds(5), rank=1, world_size=2)
    assert len(loader) == 2
    assert repr(loader) == (
        "DataLoader(dataset=Tiny(len=10), batch_size=4, shuffle=True, seeds=Seeds(5), num_workers=0, "
        "drop_last=False, rank=1, world_size=2, epoch=0, position=0/5)"
    )
