"""Data-parallel training under torchrun with seedwise, no framework: the recipe of docs/data.md.

    torchrun --standalone --nproc-per-node 2 examples/torchrun_ddp.py --out runs/ddp
    torchrun --standalone --nproc-per-node 4 examples/torchrun_ddp.py --out runs/ddp --resume   # after a crash

What seedwise does in it:

* ``sw.data.DataLoader`` is built without ``rank=`` / ``world_size=``: it takes them from
  the process group, so each rank gets a disjoint shard, and the shards together are
  exactly the single-process order of each epoch;
* augmentation is keyed by (epoch, sample index): sample ``i`` looks the same on any
  rank, with any number of processes, as in a single-process run;
* dropout is keyed by (rank, step): ``sw.keyed(seeds["dropout"][rank], step)`` seeds the
  global RNGs that ``nn.Dropout`` draws from, so ranks draw different masks (the same
  stream on every rank would drop the same units for different samples) and a resumed
  run draws the masks the crashed one would have;
* the checkpoint holds the loader's ``state_dict()``, a global position: ``--resume`` on
  any number of processes continues at the first sample of the epoch not yet trained on.
  Keep the *global* batch size fixed (``--batch-size`` is global; each rank takes
  ``batch_size // world_size``) so that steps mean the same thing before and after.

``--crash-after-step K`` makes every process exit after step K, as a lost node would;
``--record DIR`` writes what each rank trained on at each step (for the tests).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

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


def make_pipeline(seeds: sw.Seeds) -> A.Compose:
    return A.Compose([A.HorizontalFlip(0.5), A.Affine(degrees=15, translate=0.1)], seeds=seeds["augment"])


def make_model() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(192, 32), nn.Dropout(0.5), nn.ReLU(), nn.Linear(32, N_CLASSES))


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, loader, step: int) -> None:
    """Rank 0 writes the weights, the optimiser and the loader's global position (JSON), atomically."""
    path.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, path / "weights.tmp")
    (path / "progress.tmp").write_text(json.dumps({"step": step, "loader": loader.state_dict()}))
    os.replace(path / "weights.tmp", path / "weights.pt")
    os.replace(path / "progress.tmp", path / "progress.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="checkpoint directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8, help="global: split across the ranks")
    parser.add_argument("--checkpoint-every", type=int, default=2, help="steps")
    parser.add_argument("--resume", action="store_true", help="continue from --out")
    parser.add_argument("--crash-after-step", type=int, default=None)
    parser.add_argument("--record", type=Path, default=None)
    args = parser.parse_args()

    dist.init_process_group("gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world_size:
        raise SystemExit(f"--batch-size {args.batch_size} must be a multiple of the {world_size} processes")
    seeds = sw.Seeds(args.seed)

    # No rank= or world_size=: the loader takes them from the process group.
    loader = sw.data.DataLoader(
        Patterns(args.samples),
        batch_size=args.batch_size // world_size,
        shuffle=True,
        seeds=seeds,
        augment=make_pipeline(seeds),
    )
    model = make_model()
    sw.init.initialize(model, seeds["init"])  # the same weights on every rank, without a broadcast
    ddp = DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    dropout = model[2]
    masks: list[torch.Tensor] = []
    dropout.register_forward_hook(lambda module, inputs, output: masks.append(output != 0))

    step = 0
    if args.resume:
        weights = torch.load(args.out / "weights.pt", weights_only=True)
        model.load_state_dict(weights["model"])
        optimizer.load_state_dict(weights["optimizer"])
        progress = json.loads((args.out / "progress.json").read_text())
        step = progress["step"]
        loader.load_state_dict(progress["loader"])  # saved at any world size

    for epoch in range(loader.epoch, args.epochs):
        loader.set_epoch(epoch)  # the saved epoch keeps the restored position
        for images, indices in loader:
            x = images.permute(0, 3, 1, 2).float() / 255
            with sw.keyed(seeds["dropout"][rank], step):  # dropout keyed by (rank, step)
                loss = nn.functional.cross_entropy(ddp(x), indices % N_CLASSES)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if args.record is not None:
                args.record.mkdir(parents=True, exist_ok=True)
                np.savez(args.record / f"step{step:04d}-rank{rank}.npz", epoch=epoch, indices=indices.numpy(),
                         images=images.numpy(), mask=masks[-1].numpy())  # fmt: skip
            if step % args.checkpoint_every == 0 and rank == 0:
                save_checkpoint(args.out, model, optimizer, loader, step)
            if step == args.crash_after_step:
                os._exit(17)  # the whole job dies, as when a node is lost
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
