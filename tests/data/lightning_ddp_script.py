"""Run by test_data_lightning.py: Lightning DDP on 2 CPU processes with seedwise's loader.

Lightning's "ddp" strategy runs this script again for rank 1. The loader is built before
the process group exists (as in most scripts), without rank= or world_size=; Lightning's
use_distributed_sampler (on by default) only acts on torch DataLoaders. Each rank writes
the indices it trained on, per epoch, to OUT/rank{r}.json.
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.filterwarnings("ignore", category=FutureWarning, module="lightning")  # torch 2.13's LeafSpec deprecation

import lightning as L
import torch
from lightning_kit import Recorder, Rows

import seedwise as sw

out = sys.argv[1]
loader = sw.data.DataLoader(Rows(24), batch_size=3, shuffle=True, seeds=sw.Seeds(int(sys.argv[2])))
model = Recorder()
trainer = L.Trainer(
    max_epochs=2,
    accelerator="cpu",
    devices=2,
    strategy="ddp",
    logger=False,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
)
trainer.fit(model, train_dataloaders=loader)
with open(f"{out}/rank{trainer.global_rank}.json", "w") as f:
    json.dump({str(epoch): batches for epoch, batches in model.seen.items()}, f)
torch.distributed.destroy_process_group()
