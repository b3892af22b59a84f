"""An ordinary training script that takes only ``--seed``: seedwise can study it unmodified.

It knows nothing of seedwise: it seeds torch from ``--seed``, trains a small MLP on
scikit-learn's digits and prints its test metrics as JSON on its last line. A study of it
varies every source of randomness at once (one seed drives them all), so the only design
that fits is ``all``:

    seedwise study run --name seed-script --design all --seeds 10 --store runs.sqlite \\
        -- python examples/study_seed_script.py --seed {seed} --epochs 5

Run alone:  python examples/study_seed_script.py --seed 3
"""

from __future__ import annotations

import argparse
import json

import torch
from sklearn.datasets import load_digits

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--seed", type=int, required=True)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--lr", type=float, default=0.1)
args = parser.parse_args()

torch.manual_seed(args.seed)  # the script's one seed: init, shuffling and dropout all draw from it
digits = load_digits()
x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target)
test = torch.arange(len(y)) % 5 == 0  # a fixed split
model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(64, 10))
opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
train_idx = torch.nonzero(~test).squeeze(1)
for epoch in range(args.epochs):
    model.train()
    for batch in train_idx[torch.randperm(len(train_idx))].split(64):
        loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"epoch {epoch}: last batch loss {loss.item():.3f}")
model.eval()
with torch.no_grad():
    logits = model(x[test])
accuracy = float((logits.argmax(1) == y[test]).float().mean())
nll = float(torch.nn.functional.cross_entropy(logits, y[test]))
print(json.dumps({"accuracy": accuracy, "nll": nll}))
