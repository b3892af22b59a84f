"""Accelerate with seedwise: a CNN on scikit-learn's digits, reproducible to the bit and resumable anywhere.

    python examples/accelerate_digits.py --out runs/accelerate
    accelerate launch --cpu --num_processes 2 examples/accelerate_digits.py --out runs/accelerate-2
    python examples/accelerate_digits.py --out runs/accelerate --stop-after-step 7   # save_state, then stop
    python examples/accelerate_digits.py --out runs/accelerate --resume              # the same final weights

What seedwise does in it:

* ``swa.prepare(accelerator, model, optimizer, loader)`` -- ``accelerator.prepare`` for the
  model and the optimiser; the seedwise loader shards itself across the processes
  (interleaved: together they are the single-process order), moves its batches to
  ``accelerator.device`` and puts its position into ``accelerator.save_state``;
* augmentation is keyed by (epoch, sample index), dropout by (process, step);
* ``accelerator.load_state`` restores the position: the run continues at the next
  sample, also on another number of processes (``--batch-size`` is global).

The final weights go to ``OUT/weights.safetensors``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from safetensors.torch import save_file
from torch import nn

import seedwise as sw
from seedwise.demo.digits import load_digits_data, make_cnn, make_pipeline
from seedwise.integrations import accelerate as swa


class Digits(torch.utils.data.Dataset):
    """uint8 8x8x1 images and their labels."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.images[i], int(self.labels[i])


def latest_checkpoint(out: Path) -> tuple[Path, int]:
    """The last ``OUT/checkpoints/step_<n>`` and its step."""
    steps = sorted(int(path.name.removeprefix("step_")) for path in (out / "checkpoints").glob("step_*"))
    if not steps:
        raise SystemExit(f"no checkpoint in {out / 'checkpoints'} to resume from")
    return out / "checkpoints" / f"step_{steps[-1]}", steps[-1]


def train(
    out: Path,
    *,
    seed: int = 0,
    samples: int = 320,
    epochs: int = 2,
    batch_size: int = 32,
    checkpoint_every: int = 3,
    stop_after_step: int | None = None,
    resume: bool = False,
) -> nn.Module:
    """Train (or, with ``resume``, continue) the run in ``out``; the final weights go to ``out/weights.safetensors``."""
    accelerator = Accelerator(cpu=True)
    seeds = sw.Seeds(seed)
    data = load_digits_data()
    if batch_size % accelerator.num_processes:
        raise SystemExit(f"--batch-size {batch_size} must be a multiple of the {accelerator.num_processes} processes")
    loader = sw.data.DataLoader(
        Digits(data.x_train[:samples], data.y_train[:samples]),
        batch_size=batch_size // accelerator.num_processes,  # each process its share of the global batch
        shuffle=True,
        seeds=seeds,
        augment=make_pipeline(seeds["augment"]),
    )
    model = make_cnn(width=8, dropout=0.3)
    sw.init.initialize(model, seeds["init"])  # the same weights in every process and every run
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    model, optimizer, loader = swa.prepare(accelerator, model, optimizer, loader)

    step = 0
    if resume:
        checkpoint, step = latest_checkpoint(out)
        accelerator.load_state(checkpoint)  # the weights, the optimiser and the loader's position
    for epoch in range(loader.epoch, epochs):
        loader.set_epoch(epoch)  # the restored epoch keeps its position
        for images, labels in loader:  # on accelerator.device
            x = images.permute(0, 3, 1, 2).float().contiguous() / 255
            with sw.keyed(seeds["dropout"][accelerator.process_index], step):  # dropout keyed by (process, step)
                loss = nn.functional.cross_entropy(model(x), labels)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
            step += 1
            if step % checkpoint_every == 0:
                accelerator.save_state(out / "checkpoints" / f"step_{step}")
            if step == stop_after_step:
                return accelerator.unwrap_model(model)
    if accelerator.is_main_process:
        weights = accelerator.unwrap_model(model).state_dict()
        save_file({k: v.contiguous() for k, v in weights.items()}, str(out / "weights.safetensors"))
    accelerator.end_training()
    return accelerator.unwrap_model(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="checkpoints and the final weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=320, help="training samples (of 1,197)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32, help="global: split among the processes")
    parser.add_argument("--checkpoint-every", type=int, default=3, help="steps")
    parser.add_argument("--stop-after-step", type=int, default=None, help="stop there (after its checkpoint)")
    parser.add_argument("--resume", action="store_true", help="continue from the last OUT/checkpoints/step_<n>")
    args = parser.parse_args()
    train(
        args.out,
        seed=args.seed,
        samples=args.samples,
        epochs=args.epochs,
        batch_size=args.batch_size,
        checkpoint_every=args.checkpoint_every,
        stop_after_step=args.stop_after_step,
        resume=args.resume,
    )


if __name__ == "__main__":
    main()
