"""``seedwise study run|status|logs``: a multi-seed study of a training function or of any command.

``seedwise study run FILE.py:FUNCTION --name N ...`` studies a function;
``seedwise study run --name N ... -- python train.py --seed {seed}`` studies a command
(each run in its own process; see :mod:`seedwise.study.command` for the placeholders), and
``... --arm A -- CMD ... --arm B -- CMD ...`` compares two versions of a script on the
same seeds (``seedwise compare RUNS.sqlite N N --arm-a A --arm-b B`` or the report).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from seedwise.commands._command_line import parse_timeout, read_arms, split_arms
from seedwise.errors import UsageError

__all__ = ["add_parser", "parse_config", "run_command", "status_command", "logs_command", "backup_command"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "study",
        help="run a multi-seed study of your training function or script, or show a store's progress",
        description="Vary each source of randomness of FILE.py:FUNCTION, or of a command given after --, over "
        "seeds, store every run in SQLite, and print how much each source moves the metric.",
    )
    sub = parser.add_subparsers(dest="study_command", metavar="ACTION")

    run = sub.add_parser(
        "run",
        help="run (or resume) a study",
        usage="seedwise study run [FILE.py:FUNCTION] --name NAME [options] [[--arm ARM] -- COMMAND ...]",
        description="Run every run of the study not finished yet. Run it again to resume after a crash or Ctrl-C. "
        "Exit code 1 when some runs failed (their errors are in the store). To study a command instead of a "
        "function, give it after --; its arguments may hold placeholders: {seed} (one 32-bit seed per run), "
        "{seed.SOURCE} (one per source), {run}, {cell}, {arm}, {study}, {out} (a per-run output directory) and "
        "{config.KEY}. Every run also gets its seeds as JSON in SEEDWISE_SEEDS (seedwise.Seeds.from_env()).",
    )
    run.add_argument("train", metavar="FILE.py:FUNCTION", nargs="?", help="train(seeds, config) -> dict of metrics")
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
        help="passed to train as config, to a command as {config.KEY} and SEEDWISE_CONFIG (values parsed as "
        "JSON when they can be: 0.1, true, [1,2])",
    )
    run.add_argument(
        "--metric", default=None, help="the metric the study is about (default: the first one the runs report)"
    )
    run.add_argument("--timeout", default=None, metavar="SECONDS", help="a command run taking longer fails")
    run.add_argument("--out-dir", default=None, metavar="DIR", help="where {out} directories go (default: STORE.out)")
    run.add_argument("--arm", default=None, help="the name of the first command's arm (see the usage line)")
    run.add_argument("--arms", default=None, metavar="FILE.json", help='{"A": "python train.py", "B": ...}')
    run.add_argument(
        "--cleanup", default="auto", metavar="auto|none|FILE.py:FUNCTION",
        help="after each run of a function, in its worker: auto (default) clears the Keras session; or a function",
    )  # fmt: skip
    run.add_argument(
        "--runs-per-worker", type=int, default=None, metavar="N", help="replace each worker process after N runs"
    )
    run.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=run_command, takes_command=True)

    status = sub.add_parser("status", help="runs per status, and the metric, of each study in a store")
    status.add_argument("store", metavar="RUNS.sqlite")
    status.add_argument("--study", default=None, help="one study only")
    status.add_argument("--metric", default=None, help="the metric to summarise (default: the one each study names)")
    status.set_defaults(func=status_command)

    logs = sub.add_parser("logs", help="the end of a command run's stdout and stderr")
    logs.add_argument("store", metavar="RUNS.sqlite")
    logs.add_argument("study", metavar="STUDY")
    logs.add_argument("cell", metavar="CELL", help="the run, e.g. init/3 (see seedwise study status)")
    logs.set_defaults(func=logs_command)

    backup = sub.add_parser(
        "backup",
        help="copy a store safely, with every finished run (even while a study runs)",
        description="Copy RUNS.sqlite to COPY.sqlite with SQLite's online backup: the copy holds every finished "
        "run, including those still in RUNS.sqlite-wal, and is consistent even while a study writes to the store.",
    )
    backup.add_argument("store", metavar="RUNS.sqlite")
    backup.add_argument("dest", metavar="COPY.sqlite", help="a new file")
    backup.set_defaults(func=backup_command)

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


def _train(args: argparse.Namespace) -> Any:
    """What the study runs: ``FILE.py:FUNCTION``, one Command, or ``{arm: Command}``."""
    from seedwise.study.command import Command

    rest = getattr(args, "rest", None)
    if args.arms is not None and rest is not None:
        raise UsageError("give the arms either in --arms FILE.json or after --, not both")
    commands = read_arms(args.arms) if args.arms is not None else None
    if rest is not None:
        commands = split_arms(args.arm, rest)
    elif args.arm is not None:
        raise UsageError("--arm names the command that follows --: --arm A -- CMD ... --arm B -- CMD ...")
    if commands is None:
        if args.train is None:
            raise UsageError(
                "give the training function as FILE.py:FUNCTION, or the command to study after --, e.g. "
                "seedwise study run --name N -- python train.py --seed {seed}"
            )
        if args.timeout is not None:
            raise UsageError("--timeout applies to a command study (a command after --)")
        return args.train
    if args.train is not None:
        raise UsageError(f"give either FILE.py:FUNCTION ({args.train}) or a command after --, not both")
    timeout = parse_timeout(args.timeout)
    built = {arm: Command(tuple(argv), timeout=timeout) for arm, argv in commands.items()}
    return built[None] if None in built else built


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
        _train(args), name=args.name, sources=args.sources, design=args.design, n_seeds=args.n_seeds,
        seeds=as_seeds(args.base_seed, "--base-seed"), store=args.store, config=parse_config(args.config),
        replicates=args.replicates, metric=args.metric, out_dir=args.out_dir,
        cleanup=None if args.cleanup == "none" else args.cleanup,
    )  # fmt: skip
    results = study.run(
        workers=args.workers, backend=args.backend, ray_address=args.ray_address, num_cpus=args.num_cpus,
        num_gpus=args.num_gpus, progress=not args.no_progress, retry_failed=args.retry_failed,
        runs_per_worker=args.runs_per_worker,
    )  # fmt: skip
    console = Console()
    counts = results.counts()
    console.print(
        f"study {args.name!r} in {os.fspath(args.store)}: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v),
        markup=False, highlight=False,
    )  # fmt: skip
    if counts["failed"]:
        failed = [run for run in results.runs() if run["status"] == "failed"]
        last = next(
            (line for line in reversed((failed[0].get("error") or "").strip().splitlines()) if line.strip()), ""
        )
        where = f"seedwise.study.load_results({os.fspath(args.store)!r}, {args.name!r}).table()['error']"
        if study.task is not None:
            where = f"seedwise study logs {os.fspath(args.store)} {args.name} CELL, or {where}"
        console.print(
            f"first failure, run {failed[0]['cell']}: {last or '(no message)'}\nevery error: {where}",
            markup=False, highlight=False, soft_wrap=True,
        )  # fmt: skip
    if results.metrics:
        metric = results.default_metric
        how = "named by the study" if results.main_metric else "the first the runs report; choose one with --metric"
        console.print(f"metric shown: {metric} ({how})", markup=False, highlight=False)
        console.print(results.summary(metric))
        try:
            console.print(results.variance(metric))
        except (ValueError, TypeError) as exc:
            console.print(f"variance by source not available: {exc}", markup=False, highlight=False)
    return 1 if counts["failed"] else 0


def status_command(args: argparse.Namespace) -> int:
    from seedwise.study import Store
    from seedwise.study.store import existing_store

    with Store(existing_store(args.store)) as store:
        return _status(args, store)


def _status(args: argparse.Namespace, store: Any) -> int:
    import math

    from rich.console import Console
    from rich.table import Table

    from seedwise.study.results import Results

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
    metrics = Table(title="the metric of each study (all-sources runs, or every factorial run)")
    for column in ("study", "metric", "mean", "std", "runs"):
        metrics.add_column(column, justify="left" if column in ("study", "metric") else "right", overflow="fold")
    for name in names:
        design = store.design(name)
        counts = store.counts(name)
        kind = f"{design['design']}: {','.join(design['sources'])} x {design['seeds']}"  # stored count
        table.add_row(
            name, kind, str(sum(counts.values())), *(str(counts[s]) for s in ("pending", "running", "done", "failed"))
        )
        results = Results(store, name)
        if not results.metrics:
            metrics.add_row(name, "-", "-", "-", "0")
            continue
        metric = results._metric(args.metric)
        values = [v for v in results._main_values(metric, results._arm(None)).values() if math.isfinite(v)]
        mean = sum(values) / len(values) if values else math.nan
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else math.nan
        label = metric if args.metric else f"{metric} ({'named' if results.main_metric else 'first reported'})"
        metrics.add_row(name, label, f"{mean:.4g}", f"{std:.3g}", str(len(values)))
    console = Console()
    console.print(table)
    console.print(metrics)
    return 0


def logs_command(args: argparse.Namespace) -> int:
    from seedwise.study import Store
    from seedwise.study.store import existing_store

    with Store(existing_store(args.store)) as store:
        cells = [run["cell"] for run in store.runs(args.study)]
        logs = store.logs(args.study, args.cell)
    if args.cell not in cells:
        raise UsageError(f"study {args.study!r} has no run {args.cell!r} (runs: {', '.join(cells[:6])}, ...)")
    if logs["stdout"] is None and logs["stderr"] is None:
        raise UsageError(f"no logs kept for run {args.cell!r}: only finished command runs keep their stdout and stderr")
    for stream in ("stdout", "stderr"):
        print(f"== {stream} of {args.study} {args.cell}")
        print(logs[stream] or "", end="" if (logs[stream] or "").endswith("\n") else "\n")
    return 0


def backup_command(args: argparse.Namespace) -> int:
    from seedwise.study import Store
    from seedwise.study.store import existing_store

    with Store(existing_store(args.store)) as store:
        print(store.backup(args.dest))
    return 0
