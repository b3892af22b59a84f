"""A dataset and a LightningModule that records what it trained on (for the Lightning tests)."""

from __future__ import annotations

import lightning as L
import torch


class Rows(torch.utils.data.Dataset):
    """Sample i: the features (i, i) and the index i."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return torch.full((2,), float(i)), i


class Recorder(L.LightningModule):
    """A linear model whose training_step records the indices of every batch, per epoch."""

    def __init__(self, loader=None):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)
        self.loader = loader
        self.seen: dict[int, list[list[int]]] = {}

    def train_dataloader(self):
        return self.loader

    def training_step(self, batch, batch_idx):
        x, index = batch
        self.seen.setdefault(self.current_epoch, []).append(index.tolist())
        return self.linear(x).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)
