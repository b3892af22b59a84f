"""A Lightning epoch on digits: seedwise's callback and loader vs a plain torch DataLoader.

Both sides train the same CNN (``seedwise.demo.digits.make_cnn``, width 8, dropout 0.3)
on the same 1,197 digits training images for one epoch, batch 32, shuffled, Adam, in a
fresh ``lightning.Trainer`` each round (CPU, no logger, no checkpoints, no progress bar):

* **torch**: ``train_dataloaders=torch.utils.data.DataLoader(shuffle=True, generator=...)``;
* **seedwise**: ``datamodule=SeedwiseDataModule(..., batch_size=32)`` and
  ``SeedwiseCallback(seeds)`` (logging off: there is no logger), so every step runs inside
  ``seedwise.keyed`` (the global RNGs of Python, NumPy and torch keyed by step and rank,
  restored after the step) and the loader tracks its position;
* **seedwise, no keying**: the same with ``SeedwiseCallback(seeds, key_dropout=False)``:
  the loader and the callback's bookkeeping alone.

No augmentation on either side: the ratio is the integration's overhead on a step that
does little work (an 8x8 CNN), the worst case for a fixed per-step cost. Timed from
``on_train_epoch_start`` to ``on_train_epoch_end`` (the epoch, not the Trainer's setup),
wall and CPU (``time.process_time``). The sides alternate round by round in one process;
the figure is the median over rounds of each round's ratio to torch (goal <= 1.03).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/integrations.py [--rounds 9] [--epochs 1]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import statistics
import time
import warnings

warnings.filterwarnings("ignore")  # Lightning's advice (few workers, ...) is not what is measured

import lightning as L
import numpy as np
import torch
from torch import nn

import seedwise as sw
from seedwise.demo.digits import load_digits_data, make_cnn
from seedwise.integrations.lightning import SeedwiseCallback, SeedwiseDataModule


class Digits(torch.utils.data.Dataset):
    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2).float().contiguous() / 255
        self.labels = torch.from_numpy(labels).long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[i], self.labels[i]


class CNN(L.LightningModule):
    def __init__(self, seeds: sw.Seeds) -> None:
        super().__init__()
        self.net = make_cnn(width=8, dropout=0.3)
        sw.init.initialize(self.net, seeds["init"])

    def training_step(self, batch, batch_idx):
        images, labels = batch
        return nn.functional.cross_entropy(self.net(images), labels)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=5e-3)


class EpochTimer(L.Callback):
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module):
        self._start = (time.perf_counter(), time.process_time())

    def on_train_epoch_end(self, trainer, pl_module):
        self.wall.append(time.perf_counter() - self._start[0])
        self.cpu.append(time.process_time() - self._start[1])


def run(side: str, dataset: Digits, seeds: sw.Seeds, epochs: int) -> tuple[float, float]:
    """Seconds per epoch (wall, CPU) of one fresh Trainer on ``side``."""
    timer = EpochTimer()
    callbacks: list[L.Callback] = [timer]
    fit: dict[str, object] = {}
    if side.startswith("seedwise"):
        key = side == "seedwise"
        callbacks.insert(0, SeedwiseCallback(seeds, key_dropout=key, log_hyperparams=False))
        fit["datamodule"] = SeedwiseDataModule(dataset, seeds=seeds, batch_size=32)
    else:
        generator = torch.Generator().manual_seed(int(seeds["data_order"]) % 2**63)
        fit["train_dataloaders"] = torch.utils.data.DataLoader(
            dataset, batch_size=32, shuffle=True, generator=generator
        )
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
    )
    trainer.fit(CNN(seeds), **fit)  # type: ignore[arg-type]
    return statistics.mean(timer.wall), statistics.mean(timer.cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per Trainer (timed, averaged)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_digits_data()
    dataset = Digits(data.x_train, data.y_train)
    seeds = sw.Seeds(0)
    run("torch", dataset, seeds, 1)  # warm-up: imports, first-use costs
    run("seedwise", dataset, seeds, 1)
    sides = ("torch", "seedwise", "seedwise, no keying")
    times: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    for r in range(args.rounds):
        for side in sides if r % 2 == 0 else sides[::-1]:
            times[side].append(run(side, dataset, seeds, args.epochs))
    steps = -(-len(dataset) // 32)
    print(f"{len(dataset)} samples, batch 32 ({steps} steps an epoch), {args.rounds} rounds, load {os.getloadavg()}")
    for side in sides:
        w = statistics.median(t[0] for t in times[side])
        c = statistics.median(t[1] for t in times[side])
        line = f"{side:20s} wall {w * 1e3:7.1f} ms/epoch ({w / steps * 1e3:.2f} ms/step)  CPU {c * 1e3:7.1f} ms/epoch"
        if side != "torch":
            wall = statistics.median(s[0] / t[0] for s, t in zip(times[side], times["torch"]))
            cpu = statistics.median(s[1] / t[1] for s, t in zip(times[side], times["torch"]))
            line += f"  ratio to torch (median of rounds): wall {wall:.3f} CPU {cpu:.3f}"
        print(line)


if __name__ == "__main__":
    main()
