"""Inputs at the edges (issue 18, items 6 and 11): float images outside [0, 1] are refused
whatever the pipeline, and empty batches give empty results."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seedwise import Seeds
from seedwise import augment as A
from seedwise.errors import InvalidArgumentError


def pipelines() -> list[A.Compose]:
    return [
        A.Compose([A.HorizontalFlip(), A.ColorJitter(0.2, 0.2, 0.2, 0.05)], seeds=Seeds(0)),
        A.Compose([A.HorizontalFlip(p=1.0)], seeds=Seeds(0)),  # no colour transform: used to pass values through
        A.Compose([A.Solarize(0.5), A.RandomCrop(8)], seeds=Seeds(0)),
        A.Compose([A.Rotate(10), A.Normalize(0.5, 0.25)], seeds=Seeds(0)),
    ]


@pytest.mark.parametrize("make", ["0-255 floats", "normalised", "NaN", "slightly above 1"])
def test_float_images_outside_0_1_are_refused_whatever_the_pipeline(make):
    x = torch.randint(0, 256, (4, 3, 16, 16)).float()
    x = {
        "0-255 floats": x,
        "normalised": (x / 255 - 0.5) / 0.25,
        "NaN": torch.where(x > 250, torch.nan, x / 255),
        "slightly above 1": x / 255 + 1e-3,
    }[make]
    for pipe in pipelines():
        with pytest.raises(InvalidArgumentError, match=r"float images must hold values in \[0, 1\]"):
            pipe(x, indices=np.arange(4))
        with pytest.raises(InvalidArgumentError, match="put Normalize at the end"):
            pipe(x[0], indices=0)


def test_float_images_inside_0_1_pass_and_normalize_may_leave_it():
    x = torch.rand((4, 3, 16, 16), generator=torch.Generator().manual_seed(0))
    x[0, 0, 0, 0], x[0, 0, 0, 1] = 0.0, 1.0
    for pipe in pipelines():
        pipe(x, indices=np.arange(4))
    out = A.Compose([A.HorizontalFlip(), A.Normalize(0.5, 0.1)], seeds=Seeds(0))(x, indices=np.arange(4))
    assert out.min() < -4 and out.max() > 4  # normalised output lies outside [0, 1] by design
    # a pipeline of conversions only takes any float input (there is no random stage to protect)
    assert A.Compose([A.ToFloat()], seeds=Seeds(0))(x * 7, indices=np.arange(4)).max() > 1


@pytest.mark.parametrize("indices", [[], np.arange(0), torch.arange(0)])
def test_empty_batches_give_empty_results(indices):
    crop = A.Compose(
        [A.RandomCrop(8), A.HorizontalFlip(), A.ColorJitter(0.2), A.Equalize(), A.GaussianNoise()], seeds=Seeds(1)
    )
    out = crop(np.zeros((0, 16, 16, 3), np.uint8), indices=indices)
    assert isinstance(out, np.ndarray) and out.shape == (0, 8, 8, 3) and out.dtype == np.uint8
    out = crop(torch.zeros((0, 3, 16, 16), dtype=torch.uint8), indices=indices)
    assert isinstance(out, torch.Tensor) and out.shape == (0, 3, 8, 8) and out.dtype == torch.uint8
    out = crop(torch.zeros((0, 3, 16, 16)), indices=indices)
    assert out.shape == (0, 3, 8, 8) and out.dtype == torch.float32
    norm = A.Compose([A.Resize(10), A.Normalize(0.5, 0.2, output="tensor")], seeds=Seeds(1))
    out = norm(np.zeros((0, 16, 16, 3), np.uint8), indices=indices)
    assert isinstance(out, torch.Tensor) and out.shape == (0, 3, 10, 10) and out.dtype == torch.float32
    assert crop.sample(indices=indices)["RandomCrop"]["offset_y"].shape == (0,)
    policy = A.Compose([A.RandAugment()], seeds=Seeds(1))
    assert policy(np.zeros((0, 16, 16, 3), np.uint8), indices=indices).shape == (0, 16, 16, 3)


@pytest.mark.parametrize(
    "images",
    [np.zeros((0, 0, 3), np.uint8), np.zeros((4, 0, 16, 3), np.uint8), np.zeros((16, 0, 3), np.uint8)],
)
def test_images_without_pixels_are_refused(images):
    pipe = pipelines()[0]
    n = images.shape[0] if images.ndim == 4 else None
    with pytest.raises(InvalidArgumentError, match="an image needs at least one pixel"):
        pipe(images, indices=np.arange(n) if n else 0)
    with pytest.raises(InvalidArgumentError, match="an image needs at least one pixel"):
        pipe(torch.from_numpy(images).movedim(-1, -3), indices=np.arange(n) if n else 0)
