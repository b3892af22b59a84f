"""A recorded Accelerate training run: under ``accelerate launch`` (test_accelerate.py) or imported.

    accelerate launch --multi_gpu --num_processes 2 accelerate_run.py OUT SEED N GLOBAL_BATCH STEPS

trains on ``Patterns(N)`` with seedwise's loader prepared by
``seedwise.integrations.accelerate.prepare``, dropout keyed by (process, step), for STEPS
steps, then ``accelerator.save_state(OUT/ckpt)``. Each process records what it trained on at
each step to ``OUT/records/step<k>-rank<r>.npz``. ``train(..., resume=True)`` continues
from ``OUT/ckpt`` (on any number of processes) to the end of epoch ``epochs - 1``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from torch import nn
from trainer_kit import N_CLASSES, Patterns, inputs, make_net, pipeline

import seedwise as sw
from seedwise.integrations import accelerate as swa


def train(
    out: Path, seed: int, n: int, global_batch: int, *, steps: int | None = None, epochs: int = 2, resume: bool = False
) -> tuple[Accelerator, nn.Module, list[dict[str, np.ndarray]]]:
    """Train (or continue); return the accelerator, the model and the steps this process trained on."""
    accelerator = Accelerator(cpu=True)
    seeds = sw.Seeds(seed)
    loader = sw.data.DataLoader(
        Patterns(n),
        batch_size=global_batch // accelerator.num_processes,
        shuffle=True,
        seeds=seeds,
        augment=pipeline(seeds),
    )
    net = make_net(seeds)
    masks: list[torch.Tensor] = []
    net[2].register_forward_hook(lambda module, args, output: masks.append(output != 0))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    model, optimizer, loader = swa.prepare(accelerator, net, optimizer, loader)
    step = 0
    if resume:
        accelerator.load_state(out / "ckpt")
        step = int((out / "ckpt" / "step.txt").read_text())
    record: list[dict[str, np.ndarray]] = []
    for epoch in range(loader.epoch, epochs):
        loader.set_epoch(epoch)
        for images, indices in loader:
            with sw.keyed(seeds["dropout"][accelerator.process_index], step):
                loss = nn.functional.cross_entropy(model(inputs(images)), indices % N_CLASSES)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
            record.append(
                {"step": np.array(step), "epoch": np.array(epoch), "indices": indices.numpy(), "images": images.numpy(),
                 "mask": masks[-1].numpy()}
            )  # fmt: skip
            step += 1
            if step == steps:
                accelerator.save_state(out / "ckpt")
                if accelerator.is_main_process:
                    (out / "ckpt" / "step.txt").write_text(str(step))
                return accelerator, net, record
    return accelerator, net, record


if __name__ == "__main__":
    out = Path(sys.argv[1])
    accelerator, net, record = train(out, *(int(a) for a in sys.argv[2:5]), steps=int(sys.argv[5]))
    (out / "records").mkdir(parents=True, exist_ok=True)
    for step in record:
        np.savez(out / "records" / f"step{int(step['step']):04d}-rank{accelerator.process_index}.npz", **step)
    torch.save({k: v.clone() for k, v in net.state_dict().items()}, out / f"weights-rank{accelerator.process_index}.pt")
    accelerator.wait_for_everyone()
    accelerator.end_training()
