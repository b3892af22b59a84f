"""``seedwise study run|status``: a multi-seed study of the user's training function."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from seedwise.errors import UsageError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "study",
        help="run a multi-seed study of your training function, or show a store's progress",
        description="Vary each source of randomness of FILE.py:FUNCTION over seeds, store every run in SQLite, "
        "and print how much each source moves the metric.",
    )
    sub = parser.add_subparsers(dest="study_command", metavar="ACTION")

    run = sub.add_parser(
        "run",
        help="run (or resume) a study",
        description="Run every run of the study not finished yet. Run it again to resume after a crash or Ctrl-C. "
        "Exit code 1 when some runs failed (their tracebacks are in the store).",
    )
    run.add_argument("train", metavar="FILE.py:FUNCTION", help="train(seeds, config) -> dict of metrics")
    run.add_argument("--name", required=True, help="the study's name in the store")
    run.add_argument(
        "--sources", default="init,data_order,augment,dropout", help="comma-separated (default: %(default)s)"
    )
    run.add_argument("--design", default="one-at-a-time", help="one-at-a-time, all or factorial (default: %(default)s)")
    run.add_argument(
        "--seeds", "--n-seeds", dest="n_seeds", type=int, default=8, metavar="N",
        help="how many seeds (levels) per source (default: %(default)s)",
    )  # fmt: skip
    run.add_argument(
        "--base-seed", type=int, default=0, help="the root seed every run derives from, Seeds(N) (default: %(default)s)"
    )
    run.add_argument("--replicates", type=int, default=0, help="runs with every seed fixed (noise floor)")
    run.add_argument("--store", default="runs.sqlite", help="SQLite file (default: %(default)s)")
    run.add_argument("--workers", type=int, default=None, help="processes or Ray tasks at once (0: in this process)")
    run.add_argument("--backend", default="local", help="local or ray (default: %(default)s)")
    run.add_argument("--ray-address", default=None, help="Ray cluster address (default: RAY_ADDRESS, else local)")
    run.add_argument("--num-cpus", type=float, default=1, help="CPUs per run on Ray (default: %(default)s)")
    run.add_argument("--num-gpus", type=float, default=0, help="GPUs per run on Ray (default: %(default)s)")
    run.add_argument(
        "--config",
        nargs="*",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="passed to train as config (values parsed as JSON when they can be: 0.1, true, [1,2])",
    )
    run.add_argument("--metric", default=None, help="metric of the summary (default: the first train returns)")
    run.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=run_command)

    status = sub.add_parser("status", help="runs per status of each study in a store")
    status.add_argument("store", metavar="RUNS.sqlite")
    status.add_argument("--study", default=None, help="one study only")
    status.set_defaults(func=status_command)

    parser.set_defaults(func=lambda args: _missing_action(parser))


def _missing_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def parse_config(items: list[str]) -> dict[str, Any]:
    """``["lr=0.1", "name=mlp"]`` -> ``{"lr": 0.1, "name": "mlp"}`` (JSON where it parses)."""
    config: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--config takes KEY=VALUE pairs, got {item!r}")
        try:
            config[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            config[key.strip()] = value
    return config


def _existing_store(path: str) -> str:
    if not Path(path).is_file():
        raise UsageError(f"the study store {path!r} does not exist")
    return path


def run_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from seedwise._validate import check_choice, check_int
    from seedwise.seeds import as_seeds
    from seedwise.study import Study
    from seedwise.study.runner import BACKENDS

    # Checked before Study() creates the store, so a typo leaves no file behind.
    check_choice("backend", args.backend, BACKENDS)
    if args.workers is not None:
        check_int("workers", args.workers, low=0)
    study = Study(
        args.train, name=args.name, sources=args.sources, design=args.design, n_seeds=args.n_seeds,
        seeds=as_seeds(args.base_seed, "--base-seed"), store=args.store, config=parse_config(args.config),
        replicates=args.replicates,
    )  # fmt: skip
    results = study.run(
        workers=args.workers, backend=args.backend, ray_address=args.ray_address, num_cpus=args.num_cpus,
        num_gpus=args.num_gpus, progress=not args.no_progress, retry_failed=args.retry_failed,
    )  # fmt: skip
    console = Console()
    counts = results.counts()
    console.print(
        f"study {args.name!r} in {os.fspath(args.store)}: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    )
    if counts["failed"]:
        failed = [run for run in results.runs() if run["status"] == "failed"]
        last = next(
            (line for line in reversed((failed[0].get("error") or "").strip().splitlines()) if line.strip()), ""
        )
        console.print(
            f"first failure, run {failed[0]['cell']}: {last or '(no message)'}\n"
            f"every traceback: seedwise.study.load_results({os.fspath(args.store)!r}, {args.name!r}).table()['error']",
            markup=False, highlight=False, soft_wrap=True,
        )  # fmt: skip
    if results.metrics:
        console.print(results.summary(args.metric))
        try:
            console.print(results.variance(args.metric))
        except (ValueError, TypeError) as exc:
            console.print(f"variance by source not available: {exc}")
    return 1 if counts["failed"] else 0


def status_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from seedwise.study import Store

    store = Store(_existing_store(args.store))
    names = store.studies()
    if args.study is not None:
        if args.study not in names:
            raise UsageError(
                f"--study must be one of {', '.join(repr(n) for n in names) or '(none)'}; got {args.study!r}"
            )
        names = [args.study]
    table = Table(title=f"studies in {args.store}")
    for column in ("study", "design", "runs", "pending", "running", "done", "failed"):
        table.add_column(column, justify="left" if column in ("study", "design") else "right", overflow="fold")
    for name in names:
        design = store.design(name)
        counts = store.counts(name)
        kind = f"{design['design']}: {','.join(design['sources'])} x {design['seeds']}"  # stored count
        table.add_row(
            name, kind, str(sum(counts.values())), *(str(counts[s]) for s in ("pending", "running", "done", "failed"))
        )
    Console().print(table)
    return 0
