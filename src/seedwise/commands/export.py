"""``seedwise export RUNS.sqlite --to mlflow|wandb``: send a study store's runs to an experiment tracker."""

from __future__ import annotations

import argparse
import json

from seedwise.errors import TrackerError, UsageError

_MLFLOW_OPTIONS = ("tracking_uri", "experiment", "metric", "no_report")
_WANDB_OPTIONS = ("project", "entity", "dir", "offline")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export",
        help="send a study store's runs to MLflow or Weights & Biases",
        description="Export the finished runs of every study in RUNS.sqlite (or of --study): to MLflow, a parent "
        "run per study with report.html and a child run per seed run (metrics, curves, seeds, config); to W&B, a "
        "group per study and a run per seed run. Exporting again adds what finished since and never duplicates a "
        "run.",
    )
    parser.add_argument("store", metavar="RUNS.sqlite")
    parser.add_argument("--to", required=True, choices=("mlflow", "wandb"), help="the tracker")
    parser.add_argument("--study", default=None, help="one study (default: every study in the store)")
    parser.add_argument("--json", action="store_true", help="print what was exported as JSON")
    mlflow = parser.add_argument_group("MLflow (--to mlflow)")
    mlflow.add_argument(
        "--tracking-uri",
        default=None,
        metavar="URI",
        help="e.g. sqlite:///mlflow.db or http://host:5000 (default: MLFLOW_TRACKING_URI, else MLflow's default)",
    )
    mlflow.add_argument("--experiment", default=None, help="experiment name, created if missing (default: seedwise)")
    mlflow.add_argument(
        "--metric",
        default=None,
        help="the metric report.html analyses (default: the one the study names, else the first its runs report)",
    )
    mlflow.add_argument("--no-report", action="store_true", help="do not attach report.html to the study runs")
    wandb = parser.add_argument_group("W&B (--to wandb)")
    wandb.add_argument("--project", default=None, help="the W&B project (required)")
    wandb.add_argument("--entity", default=None, help="the W&B user or team (default: the API key's)")
    wandb.add_argument("--dir", default=None, help="where W&B keeps run directories (default: WANDB_DIR or .)")
    wandb.add_argument(
        "--offline", action="store_true", help="write local run directories only; upload later with `wandb sync`"
    )
    parser.set_defaults(func=run)


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> list[str]:
    return ["--" + n.replace("_", "-") for n in names if getattr(args, n) not in (None, False)]


def run(args: argparse.Namespace) -> int:
    wrong = _given(args, _WANDB_OPTIONS if args.to == "mlflow" else _MLFLOW_OPTIONS)
    if wrong:
        other = "wandb" if args.to == "mlflow" else "mlflow"
        raise UsageError(f"{', '.join(wrong)} apply to --to {other}, not --to {args.to}")
    try:
        if args.to == "mlflow":
            from seedwise.integrations import mlflow

            report = mlflow.export_study(
                args.store,
                tracking_uri=args.tracking_uri,
                experiment=args.experiment or mlflow.DEFAULT_EXPERIMENT,
                study=args.study,
                metric=args.metric,
                report=not args.no_report,
            )
        else:
            if not args.project:
                raise UsageError("--to wandb needs --project NAME")
            from seedwise.integrations import wandb

            report = wandb.export_study(
                args.store,
                project=args.project,
                entity=args.entity,
                study=args.study,
                dir=args.dir,
                mode="offline" if args.offline else None,
            )
    except TrackerError as exc:  # the tracker refused: one line, like every other error
        raise UsageError(str(exc)) from exc
    print(json.dumps(report.to_dict(), indent=1) if args.json else report)
    return 0
