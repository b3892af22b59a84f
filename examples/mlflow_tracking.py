"""seedwise and MLflow: record a training run's seeds, then send a multi-seed study to MLflow.

1. One training run inside ``mlflow.start_run()``: ``log_run`` records its seeds tree
   (params ``seedwise.seeds``, ``seedwise.seeds.init``, ...), the ``seed_everything``
   report and ``seedwise.fingerprint()`` (tags), so the run can be reproduced from MLflow
   alone: ``sw.Seeds.from_json(run.data.params["seedwise.seeds"])``.
2. A study of the same training function over 8 seeds, exported to MLflow: a parent run
   for the study (with ``report.html``) and a child run per seed run (metrics, loss curve,
   seeds, config). Exporting again changes nothing.

Run:  python examples/mlflow_tracking.py [--out DIR] [--tracking-uri URI]
      (then: mlflow ui --backend-store-uri sqlite:///DIR/mlflow.db)
Exit status 0 when MLflow holds what the script expects.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient

import seedwise as sw
from seedwise.integrations import mlflow as swml


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


def main(out: Path, tracking_uri: str) -> int:
    config = {"epochs": 5, "lr": 0.5}

    # Artifacts (run.json, report.html) go under OUT, not MLflow's default ./mlruns.
    client = MlflowClient(tracking_uri)
    for name in ("seedwise-example", "seedwise-example-studies"):
        if client.get_experiment_by_name(name) is None:
            client.create_experiment(name, artifact_location=(out / "artifacts" / name).resolve().as_uri())

    # 1. One run, recorded.
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("seedwise-example")
    seeds = sw.Seeds(42)
    with mlflow.start_run() as run:
        report = sw.seed_everything(42, frameworks=("python", "numpy"))  # the frameworks this script uses
        swml.log_run(seeds, report)
        mlflow.log_params(config)
        mlflow.log_metrics(train(seeds, config))
    logged = client.get_run(run.info.run_id).data.params
    print(f"run {run.info.run_id}: seeds {sw.Seeds.from_json(logged['seedwise.seeds'])!r}")

    # 2. A study over 8 seeds of every source together, and its export.
    store = out / "runs.sqlite"
    sw.Study(train, name="logreg", sources=("init", "data_order"), design="all", store=store, config=config).run(
        workers=0, progress=False
    )
    first = swml.export_study(store, tracking_uri=tracking_uri, experiment="seedwise-example-studies")
    print(first)
    again = swml.export_study(store, tracking_uri=tracking_uri, experiment="seedwise-example-studies")
    print(again)
    return 0 if first.count("created") == 8 and again.count("unchanged") == 8 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for runs.sqlite and mlflow.db (default: temp)")
    parser.add_argument("--tracking-uri", default=None, help="MLflow tracking store (default: sqlite:///OUT/mlflow.db)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        sys.exit(main(out, args.tracking_uri or f"sqlite:///{out.resolve()}/mlflow.db"))
