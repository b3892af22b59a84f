"""An unmodified script that takes only --seed and prints its metrics as JSON (knows nothing of seedwise)."""

import argparse
import json

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, required=True)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()
rng = np.random.default_rng(args.seed)
w = rng.standard_normal(4)
for epoch in range(args.epochs):
    w = 0.9 * w + 0.1 * rng.standard_normal(4)
    print(f"epoch {epoch}: |w| = {np.linalg.norm(w):.3f}")
print(json.dumps({"norm": float(np.linalg.norm(w)), "first": float(w[0])}))
