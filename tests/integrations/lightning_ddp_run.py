"""Run by test_lightning.py: 2 CPU devices (gloo), SeedwiseDataModule + SeedwiseCallback, stopped mid-epoch 1.

Lightning's "ddp" strategy runs this script again for rank 1. Each rank records what it
trained on at every step (OUT/records); a checkpoint is written at the last step
(OUT/ckpt/last.ckpt), mid-way through epoch 1, for the test to resume on 1 device.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", category=FutureWarning, module="lightning")  # torch 2.13's LeafSpec deprecation

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning_recorder import Recorder
from trainer_kit import Patterns, pipeline

import seedwise as sw
from seedwise.integrations.lightning import SeedwiseCallback, SeedwiseDataModule

out, seed, n, global_batch, steps = (
    Path(sys.argv[1]),
    int(sys.argv[2]),
    int(sys.argv[3]),
    int(sys.argv[4]),
    int(sys.argv[5]),
)
seeds = sw.Seeds(seed)
datamodule = SeedwiseDataModule(
    train=Patterns(n), seeds=seeds, global_batch_size=global_batch, augment=pipeline(seeds)
)  # fmt: skip
trainer = L.Trainer(
    max_steps=steps,
    accelerator="cpu",
    devices=2,
    strategy="ddp",
    callbacks=[
        SeedwiseCallback(seeds),
        ModelCheckpoint(dirpath=out / "ckpt", every_n_train_steps=steps, save_last=True),
    ],
    logger=False,
    enable_progress_bar=False,
    enable_model_summary=False,
)
model = Recorder(seeds, record_dir=out / "records")
trainer.fit(model, datamodule=datamodule)
torch.save({k: v.clone() for k, v in model.state_dict().items()}, out / f"weights-rank{trainer.global_rank}.pt")
torch.distributed.destroy_process_group()
