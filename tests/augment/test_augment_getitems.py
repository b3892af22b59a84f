"""AugmentedDataset.__getitems__ (what torch's fetcher calls) equals item-by-item access."""

from __future__ import annotations

import numpy as np
import torch

from seedwise import Seeds
from seedwise import augment as A


class _Images(torch.utils.data.Dataset):
    def __init__(self, as_tensor: bool):
        rng = np.random.default_rng(0)
        self.x = rng.integers(0, 256, size=(40, 12, 10, 3), dtype=np.uint8)
        self.as_tensor = as_tensor

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        img = torch.from_numpy(self.x[i]).permute(2, 0, 1).contiguous() if self.as_tensor else self.x[i]
        return img, i % 10


def _pipe() -> A.Compose:
    return A.Compose(
        {"flip": A.HorizontalFlip(0.5), "affine": A.Affine(degrees=20, translate=0.1), "noise": A.GaussianNoise(0.05)},
        seeds=Seeds(3)["augment"],
    )


def test_batched_fetch_equals_single_items_numpy():
    ds = A.AugmentedDataset(_Images(False), _pipe())
    keys = [(2, i) for i in (5, 0, 39, 17, 5)]
    batch = ds.__getitems__(keys)
    for key, (image, label) in zip(keys, batch):
        single, single_label = ds[key]
        assert np.array_equal(image, single) and label == single_label


def test_batched_fetch_equals_single_items_torch():
    ds = A.AugmentedDataset(_Images(True), _pipe())
    keys = [(1, i) for i in range(0, 40, 7)]
    for key, (image, _) in zip(keys, ds.__getitems__(keys)):
        assert torch.equal(image, ds[key][0])


def test_mixed_epochs_fall_back_to_items():
    ds = A.AugmentedDataset(_Images(False), _pipe())
    keys = [(0, 1), (1, 1)]
    out = ds.__getitems__(keys)
    assert np.array_equal(out[0][0], ds[(0, 1)][0]) and np.array_equal(out[1][0], ds[(1, 1)][0])
    assert not np.array_equal(out[0][0], out[1][0])
