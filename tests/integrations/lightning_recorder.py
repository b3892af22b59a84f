"""A LightningModule that records, at every training step, what it trained on and its dropout mask."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch import nn
from trainer_kit import N_CLASSES, inputs, make_net

import seedwise as sw


class Recorder(L.LightningModule):
    """Records ``(epoch, global step, indices, images, dropout mask)`` per step; to ``record_dir`` too if given."""

    def __init__(self, seeds: sw.Seeds, record_dir: Path | None = None, lr: float = 0.1) -> None:
        super().__init__()
        self.net = make_net(seeds)
        self.record_dir = record_dir
        self.lr = lr
        self.steps: list[dict[str, object]] = []
        self._masks: list[torch.Tensor] = []
        self.net[2].register_forward_hook(lambda module, args, output: self._masks.append(output != 0))

    def training_step(self, batch, batch_idx):
        images, indices = batch
        loss = nn.functional.cross_entropy(self.net(inputs(images)), indices % N_CLASSES)
        step = {
            "epoch": self.current_epoch,
            "step": self.global_step,
            "indices": indices.numpy().copy(),
            "images": images.numpy().copy(),
            "mask": self._masks[-1].numpy().copy(),
        }
        self.steps.append(step)
        if self.record_dir is not None:
            self.record_dir.mkdir(parents=True, exist_ok=True)
            np.savez(self.record_dir / f"step{self.global_step:04d}-rank{self.global_rank}.npz", **step)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)
