"""AugmentedDataset under a plain torch DataLoader: the batches do not depend on the worker count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seedwise import Seeds
from seedwise import augment as A


class Noise:
    """24 different small images with labels."""

    def __len__(self) -> int:
        return 24

    def __getitem__(self, i: int):
        img = np.zeros((12, 12, 3), dtype=np.uint8)
        img[..., 0] = i * 10
        img[: i % 12, :, 1] = 200
        return img, i % 3


def batches(num_workers: int, batch_size: int) -> list:
    pipe = A.Compose(
        [
            A.RandomCrop(10, padding=2),
            A.HorizontalFlip(),
            A.ColorJitter(0.3, 0.3),
            A.GaussianNoise(p=0.5),
            A.MixUp(0.5),
        ],
        seeds=Seeds(9)["augment"],
    )
    ds = A.AugmentedDataset(Noise(), pipe, num_classes=3)
    order = [(2, int(i)) for i in np.argsort((np.arange(24) * 7) % 24)]  # the sampler carries the epoch
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, sampler=order, num_workers=num_workers)
    return [(x.clone(), y.clone()) for x, y in loader]


@pytest.mark.slow
def test_batches_are_identical_across_worker_counts_and_batch_sizes():
    reference = batches(0, 6)
    x_ref = torch.cat([x for x, _ in reference])
    y_ref = torch.cat([y for _, y in reference])
    for workers, bs in ((2, 6), (1, 7), (0, 1)):
        got = batches(workers, bs)
        assert torch.equal(torch.cat([x for x, _ in got]), x_ref), (workers, bs)
        assert torch.equal(torch.cat([y for _, y in got]), y_ref), (workers, bs)
