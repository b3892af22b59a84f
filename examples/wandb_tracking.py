"""seedwise and Weights & Biases: record a training run's seeds, then send a multi-seed study to W&B.

1. One training run: ``log_run`` puts its seeds tree, the ``seed_everything`` report and
   ``seedwise.fingerprint()`` in ``run.config["seedwise"]``.
2. A study of the same training function over 8 seeds, exported to W&B: a group named
   after the study, a run per seed run (config, loss curve, final metrics). Exporting
   again changes nothing.

Everything runs offline (``mode="offline"``): W&B writes run directories under DIR/wandb,
which ``wandb sync DIR/wandb/offline-run-*`` uploads later. Drop ``mode="offline"`` (or
set ``WANDB_MODE=online``) to send the runs at once.

Run:  python examples/wandb_tracking.py [--out DIR]
Exit status 0 when the run directories hold what the script expects.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import wandb

import seedwise as sw
from seedwise.integrations import wandb as swwb


def train(seeds: sw.Seeds, config: dict, report=None) -> dict[str, float]:
    """Logistic regression by gradient descent on a fixed synthetic problem; init and order from ``seeds``."""
    data = sw.Seeds(0)["problem"].numpy()  # the problem itself is fixed: not a studied source
    x = data.normal(size=(400, 5))
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0, 1.5]) + 0.5 * data.normal(size=400) > 0).astype(float)
    w = 0.1 * seeds["init"].numpy().normal(size=5)
    order = seeds["data_order"].numpy()
    for epoch in range(config["epochs"]):
        for batch in order.permutation(400).reshape(-1, 40):
            p = 1 / (1 + np.exp(-x[batch] @ w))
            w -= config["lr"] * x[batch].T @ (p - y[batch]) / len(batch)
        p = 1 / (1 + np.exp(-x @ w))
        loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        if report is not None:
            report(epoch, loss=loss)
    return {"accuracy": float(np.mean((p > 0.5) == y)), "loss": loss}


def main(out: Path) -> int:
    config = {"epochs": 5, "lr": 0.5}

    # 1. One run, recorded.
    seeds = sw.Seeds(42)
    run = wandb.init(project="seedwise-example", dir=out, mode="offline", config=config)
    report = sw.seed_everything(42, frameworks=("python", "numpy"))  # the frameworks this script uses
    swwb.log_run(seeds, report)
    run.summary.update(train(seeds, config))
    run.finish()
    print(f"run {run.id}: seeds {sw.Seeds.from_json(run.config['seedwise']['seeds']['root'])!r}")

    # 2. A study over 8 seeds of every source together, and its export.
    store = out / "runs.sqlite"
    sw.Study(train, name="logreg", sources=("init", "data_order"), design="all", store=store, config=config).run(
        workers=0, progress=False
    )
    first = swwb.export_study(store, project="seedwise-example", dir=out, mode="offline")
    print(first)
    again = swwb.export_study(store, project="seedwise-example", dir=out, mode="offline")
    print(again)
    exported = list((out / "wandb").glob("offline-run-*-sw-*"))
    return 0 if first.count("created") == 8 and again.count("unchanged") == 8 and len(exported) == 8 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for runs.sqlite and wandb/ (default: temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        sys.exit(main(out))
