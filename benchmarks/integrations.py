"""A Lightning epoch on digits: seedwise's callback and loader vs a plain torch DataLoader.

Every side trains the same CNN (``seedwise.demo.digits.make_cnn``, width 8, dropout 0.3)
on the same 1,197 digits training images, batch 32, shuffled, Adam, in a
``lightning.Trainer`` (CPU, no logger, no checkpoints, no progress bar):

* **torch**: ``train_dataloaders=torch.utils.data.DataLoader(shuffle=True, generator=...)``;
* **seedwise**: ``datamodule=SeedwiseDataModule(..., batch_size=32)`` and
  ``SeedwiseCallback(seeds)`` (logging off: there is no logger): every step runs with
  torch's global RNGs keyed by (step, rank), and the loader tracks its position;
* **seedwise loader**: the same callback with ``train_dataloaders=sw.data.DataLoader(...)``,
  no data module;
* **torch, data module**: torch's loader from a plain ``LightningDataModule``, the peer of
  *seedwise* (Lightning asks a data module whether it overrides its batch hooks at every
  step, a cost of any data module, so *seedwise* is read against this side too);
* **seedwise, no keying**: as *seedwise*, with ``SeedwiseCallback(seeds, key_dropout=False)``.

No augmentation on either side: the ratio is the integration's overhead on a step that
does little work (an 8x8 CNN, ~4 ms a step), the worst case for a fixed per-step cost.

How it is timed: epochs of a few hundred milliseconds, timed one after the other, vary by
±20% on a shared 2-core VM (the load of neighbours drifts faster than a round of sides
takes), which hides a 3% difference. So the sides run **step by step in turn**: each
side's Trainer runs in its own thread, and a baton lets one thread run at a time; after
every training step the baton goes to the next side, in a shuffled order each cycle. A side
is timed only while it holds the baton, from the end of one of its steps to the end of the
next (its batch fetch, hooks, step and, at an epoch's end, Lightning's epoch work), so
every side samples the same moments of the machine's drift. The Trainers' setup is not
timed. Each round builds fresh Trainers; the figure is the ratio of a side's total time
to torch's, over all rounds (goal <= 1.03), with the per-round ratios for the spread.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/integrations.py [--rounds 3] [--epochs 10]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import random
import threading
import time
import warnings
from collections.abc import Callable

warnings.filterwarnings("ignore")  # Lightning's advice (few workers, ...) is not what is measured

import lightning as L
import numpy as np
import torch
from torch import nn

import seedwise as sw
from seedwise.demo.digits import load_digits_data, make_cnn
from seedwise.integrations.lightning import SeedwiseCallback, SeedwiseDataModule

SIDES = ("torch", "seedwise", "seedwise loader", "seedwise, no keying", "torch, data module")


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


class TorchDataModule(L.LightningDataModule):
    def __init__(self, dataset: Digits, seeds: sw.Seeds) -> None:
        super().__init__()
        self.dataset, self.seeds = dataset, seeds

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        generator = torch.Generator().manual_seed(int(self.seeds["data_order"]) % 2**63)
        return torch.utils.data.DataLoader(self.dataset, batch_size=32, shuffle=True, generator=generator)


class Baton:
    """One thread runs at a time; each cycle gives every live side one turn, in a shuffled order."""

    def __init__(self, sides: tuple[str, ...], seed: int) -> None:
        self._cond = threading.Condition()
        self._live = list(sides)
        self._queue: list[str] = []
        self._rng = random.Random(seed)
        self._holder: str | None = None
        with self._cond:
            self._next()

    def _next(self) -> None:
        if not self._live:
            self._holder = None
            return
        if not self._queue:
            self._queue = self._rng.sample(self._live, len(self._live))
        self._holder = self._queue.pop(0)
        self._cond.notify_all()

    def wait(self, side: str) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._holder == side)

    def pass_on(self, side: str) -> None:
        with self._cond:
            self._next()
        self.wait(side)

    def leave(self, side: str) -> None:
        with self._cond:
            self._live.remove(side)
            self._queue = [s for s in self._queue if s != side]
            if self._holder == side:
                self._next()


class TurnTimer(L.Callback):
    """Times its side while it holds the baton, and hands the baton on after every step (the last callback)."""

    def __init__(self, side: str, baton: Baton) -> None:
        self.side, self.baton = side, baton
        self.seconds, self.steps = 0.0, 0

    def on_train_start(self, trainer, pl_module):
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.seconds += time.perf_counter() - self._start
        self.steps += 1
        self.baton.pass_on(self.side)
        self._start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        self.seconds += time.perf_counter() - self._start


def trainer_for(side: str, dataset: Digits, seeds: sw.Seeds, epochs: int, timer: L.Callback) -> Callable[[], None]:
    """A function that runs ``side``'s fit (built and run in the caller's thread)."""

    def fit() -> None:
        callbacks: list[L.Callback] = []
        kwargs: dict[str, object] = {}
        if side == "torch, data module":
            kwargs["datamodule"] = TorchDataModule(dataset, seeds)
        elif side == "torch":
            generator = torch.Generator().manual_seed(int(seeds["data_order"]) % 2**63)
            kwargs["train_dataloaders"] = torch.utils.data.DataLoader(
                dataset, batch_size=32, shuffle=True, generator=generator
            )
        else:
            callbacks.append(SeedwiseCallback(seeds, key_dropout=side != "seedwise, no keying", log_hyperparams=False))
            if side == "seedwise loader":
                kwargs["train_dataloaders"] = sw.data.DataLoader(dataset, batch_size=32, shuffle=True, seeds=seeds)
            else:
                kwargs["datamodule"] = SeedwiseDataModule(dataset, seeds=seeds, batch_size=32)
        trainer = L.Trainer(
            max_epochs=epochs,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=[*callbacks, timer],
        )
        trainer.fit(CNN(seeds), **kwargs)  # type: ignore[arg-type]

    return fit


def one_round(sides: tuple[str, ...], dataset: Digits, seeds: sw.Seeds, epochs: int, seed: int) -> dict[str, TurnTimer]:
    """Every side's Trainer, fitted step by step in turn; each side's timer."""
    baton = Baton(sides, seed)
    timers = {side: TurnTimer(side, baton) for side in sides}
    errors: list[BaseException] = []

    def body(side: str) -> None:
        baton.wait(side)  # even building the Trainer waits its turn: one thread runs at a time
        try:
            trainer_for(side, dataset, seeds, epochs, timers[side])()
        except BaseException as error:  # re-raised in the main thread
            errors.append(error)
        finally:
            baton.leave(side)

    threads = [threading.Thread(target=body, args=(side,), name=side) for side in sides]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return timers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of fresh Trainers")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per Trainer")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_digits_data()
    dataset = Digits(data.x_train, data.y_train)
    seeds = sw.Seeds(0)
    one_round(SIDES, dataset, seeds, 1, seed=-1)  # warm-up: imports, first-use costs
    rounds = [one_round(SIDES, dataset, seeds, args.epochs, seed=r) for r in range(args.rounds)]
    steps = rounds[0]["torch"].steps
    print(
        f"{len(dataset)} samples, batch 32, {args.epochs} epochs of {steps // args.epochs} steps a side a round, "
        f"{args.rounds} rounds, steps in turn; load {os.getloadavg()}"
    )
    totals = {side: sum(r[side].seconds for r in rounds) for side in SIDES}
    peers = {side: "torch, data module" if side == "seedwise" else "torch" for side in SIDES}
    for side in SIDES:
        per_step = totals[side] / sum(r[side].steps for r in rounds)
        line = f"{side:20s} {per_step * 1e3:6.3f} ms/step"
        peer = peers[side]
        if peer != side:
            spread = " ".join(f"{r[side].seconds / r[peer].seconds:.3f}" for r in rounds)
            line += f"  / {peer}: {totals[side] / totals[peer]:.3f} (rounds: {spread})"
        if side == "seedwise":
            line += f"  / torch: {totals[side] / totals['torch']:.3f}"
        print(line)
    print(
        f"the callback and loader / a plain torch DataLoader: {totals['seedwise loader'] / totals['torch']:.3f}; "
        f"with SeedwiseDataModule / a torch data module: {totals['seedwise'] / totals['torch, data module']:.3f} "
        "(goal <= 1.03)"
    )


if __name__ == "__main__":
    main()
