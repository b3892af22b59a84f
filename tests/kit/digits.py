"""Shared by the Bayesian tests: scikit-learn digits and the single model each method must beat.

That a method leaves the global RNGs alone is checked with :mod:`kit.globals`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seedwise import Seeds


def digits_split():
    """scikit-learn digits, split by a seeded permutation: 300 train, 300 validation, rest test."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16.0, dtype=torch.float32), torch.tensor(y)
    perm = torch.randperm(len(y), generator=Seeds(0)["split"].torch())
    return [(X[idx], y[idx]) for idx in (perm[:300], perm[300:600], perm[600:])]


def single_model(seeds: Seeds, train) -> nn.Module:
    """A 64-64-10 MLP trained to near-zero training loss (full-batch Adam, seeded init)."""
    with torch.random.fork_rng(devices=[]):
        model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    g = seeds.torch()
    with torch.no_grad():
        for layer in (model[0], model[2]):
            bound = layer.in_features**-0.5
            layer.weight.uniform_(-bound, bound, generator=g)
            layer.bias.zero_()
    x, y = train
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model
