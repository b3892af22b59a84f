"""What the trainer-integration tests train on: keyed-augmented patterns and a model that records its steps."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import seedwise as sw
from seedwise import augment as A

N_CLASSES = 4


class Patterns(torch.utils.data.Dataset):
    """``n`` 8x8 RGB uint8 images, each a fixed pattern of its index; the item is ``(image, index)``."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        grid = np.arange(8 * 8 * 3, dtype=np.int64).reshape(8, 8, 3)
        return ((grid * (i % 7 + 1) + 29 * i) % 256).astype(np.uint8), i


def pipeline(seeds: sw.Seeds) -> A.Compose:
    return A.Compose([A.HorizontalFlip(0.5), A.Affine(degrees=15, translate=0.1)], seeds=seeds["augment"])


def make_net(seeds: sw.Seeds) -> nn.Sequential:
    """Flatten, linear, dropout, linear; the initial weights from ``seeds["init"]``."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(192, 16), nn.Dropout(0.5), nn.ReLU(), nn.Linear(16, N_CLASSES))
    sw.init.initialize(net, seeds["init"])
    return net


def inputs(images: torch.Tensor) -> torch.Tensor:
    return images.permute(0, 3, 1, 2).float().contiguous() / 255


def single_process(seeds: sw.Seeds, n: int, epoch: int) -> tuple[list[int], dict[int, np.ndarray]]:
    """The epoch's order and each sample's augmented image, from one process (the reference)."""
    loader = sw.data.DataLoader(Patterns(n), batch_size=n, shuffle=True, seeds=seeds, augment=pipeline(seeds))
    loader.set_epoch(epoch)
    images, indices = next(iter(loader))
    return indices.tolist(), {int(i): images[k].numpy() for k, i in enumerate(indices)}
