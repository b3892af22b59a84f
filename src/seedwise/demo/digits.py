"""The demo's task: a small CNN on scikit-learn's handwritten digits (1,797 8x8 images).

Every source of randomness in :func:`fit` has its own stream of the run's seeds:

* ``seeds["init"]``       initial weights, keyed by parameter name (:func:`seedwise.init.initialize`);
* ``seeds["data_order"]`` the order of each epoch (:class:`seedwise.data.DataLoader`);
* ``seeds["augment"]``    each sample's augmentation, keyed by (epoch, index);
* ``seeds["dropout"]``    dropout masks, keyed by the optimisation step (:func:`seedwise.keyed`).

The train/validation/test split is fixed (its own stream of ``Seeds(0)``), so a study
measures the sources above and nothing else. Because every draw is a pure function of
(stream, position), a run interrupted mid-epoch resumes from its weights, its optimiser
state and ``loader.state_dict()`` alone, with no RNG state saved.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import seedwise as sw
from seedwise import Seeds, stateless
from seedwise.streams import AUGMENT, DROPOUT, INIT

__all__ = ["DigitsData", "load_digits_data", "make_cnn", "make_pipeline", "fit", "evaluate", "train", "DEFAULTS"]

NUM_CLASSES = 10

#: Hyper-parameters of the demo's CNN; a study's ``config`` can change any of them.
DEFAULTS: dict[str, Any] = {
    "epochs": 12,
    "batch_size": 32,
    "lr": 5e-3,
    "dropout": 0.3,
    "width": 16,
    "augment": True,
    "num_workers": 0,
}


@dataclass(frozen=True)
class DigitsData:
    """The fixed split: uint8 HWC images (N, 8, 8, 1) and int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @staticmethod
    def tensor(x: np.ndarray) -> torch.Tensor:
        """uint8 (N, 8, 8, 1) images -> float (N, 1, 8, 8) in [0, 1]."""
        return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float().div_(255.0)


@lru_cache(maxsize=1)
def load_digits_data() -> DigitsData:
    """scikit-learn's digits (shipped with the package: no network), split 1,197 / 300 / 300."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    order = stateless.permutation(Seeds(0)["demo"]["split"], 0, len(labels))
    test, val, train = order[:300], order[300:600], order[600:]
    return DigitsData(images[train], labels[train], images[val], labels[val], images[test], labels[test])


class _Digits(torch.utils.data.Dataset[tuple[np.ndarray, int]]):
    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.x[i], int(self.y[i])


def make_cnn(width: int = 16, dropout: float = 0.3) -> nn.Module:
    """Conv-conv-pool, then a dropout MLP head: ~40k parameters, 97-99% test accuracy."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(2 * width * 16, 64),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(64, NUM_CLASSES),
    )


def make_pipeline(seeds: Seeds) -> Any:
    """Small affine jitter and pixel noise: digits must stay readable (no flips)."""
    from seedwise import augment as A

    return A.Compose(
        {"affine": A.Affine(degrees=10, translate=0.1, scale=(0.9, 1.1)), "noise": A.GaussianNoise(std=0.03, p=0.5)},
        seeds=seeds,
    )


def _to_input(images: Any) -> torch.Tensor:
    x = images if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    return x.permute(0, 3, 1, 2).float().div_(255.0)


@torch.no_grad()
def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy, NLL, ECE and Brier score of ``model`` on uint8 images ``x``."""
    from seedwise import metrics

    was_training = model.training
    model.eval()
    probs = torch.softmax(model(DigitsData.tensor(x)), dim=-1)
    model.train(was_training)
    target = torch.from_numpy(y)
    return {
        "accuracy": metrics.accuracy(probs, target),
        "nll": metrics.nll(probs, target),
        "ece": metrics.ece(probs, target),
        "brier": metrics.brier(probs, target),
    }


def _save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, loader: Any, step: int) -> None:
    from safetensors.torch import save_file

    path.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / "model.safetensors"))
    torch.save(optimizer.state_dict(), path / "optimizer.pt")
    (path / "progress.json").write_text(json.dumps({"loader": loader.state_dict(), "step": step}))


def _load_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, loader: Any) -> int:
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(path / "model.safetensors")))
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    progress = json.loads((path / "progress.json").read_text())
    loader.load_state_dict(progress["loader"])
    return int(progress["step"])


def fit(
    seeds: Seeds,
    config: dict[str, Any] | None = None,
    *,
    data: DigitsData | None = None,
    stop_after_steps: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    on_epoch: Any = None,
) -> nn.Module:
    """Train the CNN under ``seeds``; optionally stop after some steps and checkpoint, or resume.

    With ``stop_after_steps=k`` and ``checkpoint=DIR`` the run stops after ``k``
    optimisation steps (mid-epoch if k is not a multiple of the epoch length) and writes
    the weights, the optimiser state and the loader's position to DIR. ``resume=True``
    continues from DIR and, given the same seeds, ends with bit-identical weights.
    """
    cfg = {**DEFAULTS, **(config or {})}
    data = data or load_digits_data()
    model = make_cnn(int(cfg["width"]), float(cfg["dropout"]))
    sw.init.initialize(model, seeds[INIT])
    optimizer = torch.optim.Adam(model.parameters(), lr=float(cfg["lr"]))
    pipe = make_pipeline(seeds[AUGMENT]) if cfg["augment"] else None
    loader = sw.data.DataLoader(
        _Digits(data.x_train, data.y_train),
        batch_size=int(cfg["batch_size"]),
        shuffle=True,
        seeds=seeds,
        augment=pipe,
        num_workers=int(cfg["num_workers"]),
        persistent_workers=int(cfg["num_workers"]) > 0,
    )
    step = 0
    if resume:
        if checkpoint is None:
            raise sw.InvalidArgumentError("resume=True needs checkpoint=DIR")
        step = _load_checkpoint(Path(checkpoint), model, optimizer, loader)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for epoch in range(loader.epoch, int(cfg["epochs"])):
        for images, labels in loader:
            with sw.keyed(seeds[DROPOUT], step):
                loss = loss_fn(model(_to_input(images)), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if stop_after_steps is not None and step >= stop_after_steps:
                if checkpoint is None:
                    raise sw.InvalidArgumentError("stop_after_steps needs checkpoint=DIR")
                _save_checkpoint(Path(checkpoint), model, optimizer, loader, step)
                return model
        if on_epoch is not None:
            on_epoch(epoch, evaluate(model, data.x_val, data.y_val))
        if epoch + 1 < int(cfg["epochs"]):
            loader.set_epoch(epoch + 1)
    return model


def train(seeds: Seeds, config: dict[str, Any], report: Any = None) -> dict[str, float]:
    """The study's training function: fit under ``seeds``, return test metrics.

    ``report(epoch=..., **metrics)``, when given, receives validation curves.
    """
    torch.set_num_threads(1)
    data = load_digits_data()

    def on_epoch(epoch: int, val: dict[str, float]) -> None:
        if report is not None:
            report(epoch, val_accuracy=val["accuracy"], val_nll=val["nll"])

    model = fit(seeds, config, data=data, on_epoch=on_epoch)
    return evaluate(model, data.x_test, data.y_test)
