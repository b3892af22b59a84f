"""One rank of a tiny data-parallel training run, for test_dropout_world_size.py.

Run as ``python world_size_dropout_script.py --rank R --world-size W --store FILE --out DIR``
(W processes share a gloo process group through the file store). Each process trains the
same MLP twice for a few steps under torch's DistributedDataParallel, on a global batch
of BATCH samples split over the W ranks (:func:`train` without a process group is the
single-process run, which the test runs in its own process):

* ``per_sample``: ``keyed_dropout(seeds["dropout"], per_sample=keys)``, the keys the
  seedwise loader yields with every batch;
* ``per_rank``: ``keyed_dropout(seeds["dropout"][rank], step)``, masks keyed by rank and step.

Every rank writes the final weights of both runs and the sample indices of each of its
steps to ``DIR/w{W}-r{R}.npz``.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

import seedwise as sw
from seedwise.stateless.dropout import keyed_dropout

N, FEATURES, CLASSES, BATCH, EPOCHS = 32, 6, 3, 8, 2


class Noisy(torch.utils.data.Dataset):
    """Sample i: fixed features plus augmentation noise keyed by (epoch, i), and a label."""

    seedwise_epoch_keyed = True

    def __init__(self, seeds: sw.Seeds) -> None:
        rng = seeds["data"].numpy()
        self.x = torch.from_numpy(rng.standard_normal((N, FEATURES)).astype(np.float32))
        self.y = torch.from_numpy(rng.integers(0, CLASSES, N))
        self.seeds = seeds["augment"]

    def __len__(self) -> int:
        return N

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, i = key
        noise = sw.stateless.normal(self.seeds, (epoch, i), size=FEATURES).astype(np.float32)
        return self.x[i] + 0.3 * torch.from_numpy(noise), self.y[i]


def train(mode: str, seeds: sw.Seeds) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    distributed = dist.is_initialized()
    rank, world_size = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    model = nn.Sequential(
        nn.Linear(FEATURES, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 32), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(32, CLASSES),
    )  # fmt: skip
    sw.init.initialize(model, seeds["init"])
    ddp = DistributedDataParallel(model) if distributed else model  # DDP averages the gradients over the ranks
    opt = torch.optim.SGD(ddp.parameters(), lr=0.2)
    loader = sw.data.DataLoader(Noisy(seeds), batch_size=BATCH // world_size, shuffle=True, seeds=seeds, with_keys=True)
    step, seen = 0, []
    for epoch in range(EPOCHS):
        loader.set_epoch(epoch)
        for keys, (x, y) in loader:
            if mode == "per_sample":
                masks = keyed_dropout(seeds["dropout"], per_sample=keys)
            else:
                masks = keyed_dropout(seeds["dropout"][rank], step)
            with masks:
                loss = F.cross_entropy(ddp(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen.append(keys.indices)
            step += 1
    return {name: p.detach().numpy() for name, p in model.state_dict().items()}, seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--world-size", type=int, required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{args.store}", rank=args.rank, world_size=args.world_size)
    try:
        np.savez(os.path.join(args.out, f"w{args.world_size}-r{args.rank}.npz"), **both_modes())
    finally:
        dist.destroy_process_group()


def both_modes() -> dict[str, np.ndarray]:
    """The weights and the samples of each step, of a run in each dropout mode."""
    out: dict[str, np.ndarray] = {}
    for mode in ("per_sample", "per_rank"):
        weights, seen = train(mode, sw.Seeds(11))
        out.update({f"{mode}/{name}": value for name, value in weights.items()})
        out[f"{mode}/seen"] = np.stack(seen)
    return out


if __name__ == "__main__":
    main()
