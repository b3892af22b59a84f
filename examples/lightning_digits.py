"""Lightning with seedwise: a CNN on scikit-learn's digits, reproducible to the bit and resumable anywhere.

    python examples/lightning_digits.py --out runs/lightning
    python examples/lightning_digits.py --out runs/lightning --crash-after-step 7   # dies (kill -9) mid-epoch
    python examples/lightning_digits.py --out runs/lightning --resume               # the same final weights
    python examples/lightning_digits.py --out runs/ddp --devices 2                  # 2 CPU processes (gloo)

What seedwise does in it:

* ``SeedwiseDataModule`` builds the loaders: the order of each epoch from
  ``seeds["data_order"]``, augmentation keyed by (epoch, sample index), each device its
  own shard of a fixed global batch (``global_batch_size``), whatever ``--num-workers``;
* ``SeedwiseCallback`` keys dropout by (global step, rank), follows the trainer's
  epochs, checks the shards, and logs the seeds, the ``seed_everything`` report and the
  fingerprint as hyperparameters (``OUT/lightning_logs/version_0/hparams.yaml``);
* the initial weights come from ``seeds["init"]`` by parameter name;
* Lightning's own checkpoints hold the loader's position, so ``--resume`` continues at
  the next sample, also on another number of devices (keep the global batch size).

The final weights go to ``OUT/weights.safetensors``: the same bits for any
``--num-workers``, and after a crash and ``--resume``.
"""

from __future__ import annotations

import argparse
import os
import signal
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", category=FutureWarning, module="lightning")  # torch 2.13's LeafSpec deprecation

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from safetensors.torch import save_file
from torch import nn

import seedwise as sw
from seedwise.demo.digits import load_digits_data, make_cnn, make_pipeline
from seedwise.integrations.lightning import SeedwiseCallback, SeedwiseDataModule


class Digits(torch.utils.data.Dataset):
    """uint8 8x8x1 images and their labels."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.images[i], int(self.labels[i])


class DigitsCNN(L.LightningModule):
    def __init__(self, seeds: sw.Seeds, lr: float = 5e-3) -> None:
        super().__init__()
        self.net = make_cnn(width=8, dropout=0.3)
        sw.init.initialize(self.net, seeds["init"])  # the same weights on every device and in every run
        self.lr = lr

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.permute(0, 3, 1, 2).float().contiguous() / 255)  # uint8 NHWC -> float NCHW

    def training_step(self, batch, batch_idx):
        images, labels = batch
        loss = nn.functional.cross_entropy(self(images), labels)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        images, labels = batch
        self.log("val_accuracy", (self(images).argmax(-1) == labels).float().mean(), sync_dist=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


class CrashAfter(L.Callback):
    """Kill -9 this process after step ``step``, as a lost machine would (no cleanup, no final checkpoint)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def train(
    out: Path,
    *,
    seed: int = 0,
    samples: int = 320,
    epochs: int = 2,
    batch_size: int = 32,
    num_workers: int = 0,
    devices: int = 1,
    checkpoint_every: int = 3,
    crash_after_step: int | None = None,
    resume: bool = False,
    callbacks: tuple[L.Callback, ...] = (),
) -> DigitsCNN:
    """Train (or, with ``resume``, continue) the run in ``out``; the final weights go to ``out/weights.safetensors``."""
    seeds = sw.Seeds(seed)
    report = sw.seed_everything(seeds, frameworks=("python", "numpy", "torch"))
    data = load_digits_data()
    datamodule = SeedwiseDataModule(
        train=Digits(data.x_train[:samples], data.y_train[:samples]),
        val=Digits(data.x_val, data.y_val),
        seeds=seeds,
        global_batch_size=batch_size,
        augment=make_pipeline(seeds["augment"]),
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )
    checkpoints = ModelCheckpoint(dirpath=out / "checkpoints", every_n_train_steps=checkpoint_every, save_last=True)
    all_callbacks = [SeedwiseCallback(seeds, report=report), checkpoints, *callbacks]
    if crash_after_step is not None:
        all_callbacks.append(CrashAfter(crash_after_step))
    if resume:  # the checkpoints of the run we continue are there, of course
        warnings.filterwarnings("ignore", "Checkpoint directory .* exists and is not empty")
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=devices,
        strategy="ddp" if devices > 1 else "auto",
        callbacks=all_callbacks,
        logger=CSVLogger(out),
        log_every_n_steps=1,
        deterministic=True,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    model = DigitsCNN(seeds)
    trainer.fit(model, datamodule=datamodule, ckpt_path=out / "checkpoints" / "last.ckpt" if resume else None)
    if trainer.is_global_zero:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "weights.safetensors"))
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="checkpoints, logs and the final weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=320, help="training samples (of 1,197)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32, help="global: split among the devices")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--checkpoint-every", type=int, default=3, help="steps")
    parser.add_argument("--crash-after-step", type=int, default=None)
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.ckpt")
    args = parser.parse_args()
    train(
        args.out,
        seed=args.seed,
        samples=args.samples,
        epochs=args.epochs,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        devices=args.devices,
        checkpoint_every=args.checkpoint_every,
        crash_after_step=args.crash_after_step,
        resume=args.resume,
    )


if __name__ == "__main__":
    main()
