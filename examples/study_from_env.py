"""A training script that reads its seeds with ``Seeds.from_env()``: a study can vary each source alone.

Each source of randomness reads its own stream (``seeds["init"]``, ``seeds["data_order"]``,
``seeds["dropout"]``), so a one-at-a-time study measures what each one does:

    seedwise study run --name from-env --sources init,data_order,dropout --seeds 5 \\
        --store runs.sqlite --metric accuracy -- python examples/study_from_env.py --epochs 5

Inside a study, ``Seeds.from_env()`` returns the run's seeds (from ``SEEDWISE_SEEDS``) and
``sw.study.report(...)`` records the loss curve and the final metrics; run alone
(``python examples/study_from_env.py``) it uses ``Seeds(0)`` and ``report`` records nothing.
"""

from __future__ import annotations

import argparse
import json

import torch
from sklearn.datasets import load_digits

import seedwise as sw

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--lr", type=float, default=0.1)
args = parser.parse_args()

seeds = sw.Seeds.from_env(default=0)
digits = load_digits()
x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target)
test = torch.arange(len(y)) % 5 == 0  # a fixed split
model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
sw.init.initialize(model, seeds["init"])  # each parameter from its own keyed stream
g_order, g_dropout = seeds["data_order"].torch(), seeds["dropout"].torch()
opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
train_idx = torch.nonzero(~test).squeeze(1)
for epoch in range(args.epochs):
    total = 0.0
    for batch in train_idx[torch.randperm(len(train_idx), generator=g_order)].split(64):
        hidden = model[1](model[0](x[batch]))
        keep = torch.bernoulli(torch.full_like(hidden, 0.8), generator=g_dropout)
        loss = torch.nn.functional.cross_entropy(model[2](hidden * keep / 0.8), y[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(batch)
    sw.study.report(step=epoch, loss=total / len(train_idx))  # a point of the learning curve
with torch.no_grad():
    logits = model(x[test])
metrics = {
    "accuracy": float((logits.argmax(1) == y[test]).float().mean()),
    "nll": float(torch.nn.functional.cross_entropy(logits, y[test])),
}
if not sw.study.report(**metrics):  # the final metrics; outside a study, print them
    print(json.dumps(metrics))
