"""Small datasets for the seedwise.data tests (importable by the fresh-process resume script too)."""

from __future__ import annotations

import random

import numpy as np
import torch

import seedwise as sw
from seedwise import stateless as S


class Tiny(torch.utils.data.Dataset):
    """Sample i: a 2x3x3 float image whose pixels encode i, and the label i % 5."""

    def __init__(self, n: int = 50):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        image = torch.arange(18, dtype=torch.float32).reshape(2, 3, 3) + 100.0 * i
        return image, i % 5


class Indices(torch.utils.data.Dataset):
    """Sample i is the int i: batches are the dataset indices the loader served."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


class KeyedNoise(Tiny):
    """Test double of an augmented dataset: takes (epoch, index), adds noise keyed by them,
    and mixes in a partner sample chosen by (epoch, index), as MixUp at dataset level does."""

    seedwise_epoch_keyed = True

    def __init__(self, n: int = 50, *, seeds: sw.Seeds):
        super().__init__(n)
        self.seeds = seeds

    def __getitem__(self, key):
        epoch, index = key
        image, label = super().__getitem__(index)
        # One stateless draw per sample (cheap): 18 noise values, a partner and a weight.
        u = S.uniform(self.seeds, (np.array([epoch]), np.array([index])), size=20)[0]
        noise = torch.from_numpy(u[:18].reshape(image.shape)).float()
        partner, weight = int(u[18] * self.n), float(u[19])
        mixed = weight * image + (1 - weight) * super().__getitem__(partner)[0] + noise
        return mixed, label


class GlobalDraws(torch.utils.data.Dataset):
    """Third-party-style code: each sample draws from the three global RNGs of its process."""

    def __init__(self, n: int = 12):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        worker = torch.utils.data.get_worker_info()
        return {
            "index": i,
            "worker": -1 if worker is None else worker.id,
            "numpy": int(np.random.randint(0, 2**31)),  # global-rng-ok: what the test is about
            "python": random.getrandbits(31),  # global-rng-ok
            "torch": int(torch.randint(0, 2**31, ())),  # global-rng-ok
        }


def collect(loader) -> tuple[torch.Tensor, torch.Tensor]:
    """All images and labels of one pass, concatenated along the batch axis."""
    images, labels = [], []
    for x, y in loader:
        images.append(x)
        labels.append(y)
    return torch.cat(images), torch.cat(labels)
