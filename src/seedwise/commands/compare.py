"""``seedwise compare RUNS.sqlite A B --metric M``: is study A better than study B, and how sure are we?

``A`` and ``B`` are studies of the store, or arms of one paired study written
``STUDY:ARM`` (two versions of a script run with ``--arm``): the arms ran the same cells on
the same seeds, so the comparison is paired.
"""

from __future__ import annotations

import argparse
from typing import Any

from seedwise.errors import UsageError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare two studies (or two arms of a study) of a store on one metric",
        description="Difference of means with its CI, Cohen's d, Welch, Mann-Whitney, permutation test, ASO and "
        "P(A > B) with Bouthillier et al.'s decision; paired when both ran the same seeds. A and B are study names, "
        "or STUDY:ARM for the arms of a study run with --arm. "
        "Exit code 0 when one is better, 1 when the difference is not significant or not meaningful.",
    )
    parser.add_argument("store", metavar="RUNS.sqlite")
    parser.add_argument("study_a", metavar="A", help="a study, or STUDY:ARM")
    parser.add_argument("study_b", metavar="B", help="a study, or STUDY:ARM")
    parser.add_argument("--metric", default=None, help="the metric to compare (default: the one the study names)")
    parser.add_argument(
        "--lower-is-better", action="store_true", help="the metric is a loss (NLL, ECE, error): 'better' means lower"
    )
    parser.add_argument("--out", default=None, metavar="DIR", help="also write DIR/compare.html and its figure")
    parser.set_defaults(func=run)


def _results(store: Any, name: str) -> Any:
    """Study ``name`` of ``store``, or arm ``ARM`` of study ``STUDY`` for ``STUDY:ARM``."""
    from seedwise.study.results import Results

    studies = store.studies()
    if name in studies:
        return Results(store, name)
    study, sep, arm = name.rpartition(":")
    if sep and study in studies:
        results = Results(store, study)
        arms = list(results.design.paired or {})
        if arm not in arms:
            raise UsageError(f"study {study!r} has no arm {arm!r} (arms: {', '.join(arms) or 'none'})")
        return results.for_arm(arm)
    paired = [f"{s}:{a}" for s in studies for a in (Results(store, s).design.paired or {})]
    raise UsageError(f"no study {name!r} in {store.path}; give one of: {', '.join(studies + paired)}")


def run(args: argparse.Namespace) -> int:
    from seedwise.study.store import Store, existing_store

    with Store(existing_store(args.store)) as store:
        return _compare(args, store)


def _compare(args: argparse.Namespace, store: Any) -> int:
    from rich.console import Console

    from seedwise.report import HtmlPage, add_comparison_section

    a, b = _results(store, args.study_a), _results(store, args.study_b)
    metric = a._metric(args.metric)
    b._metric(metric)
    page = HtmlPage(f"seedwise compare: {a.name} vs {b.name} ({metric})")
    comparison = add_comparison_section(page, a, b, metric, lower_is_better=args.lower_is_better)
    path = page.write(args.out, filename="compare.html") if args.out is not None else None
    console = Console()
    direction = "lower is better: values negated" if args.lower_is_better else "higher is better"
    console.print(f"A = {a.name}, B = {b.name}, metric {metric} ({direction})", markup=False, highlight=False)
    console.print(comparison)
    if path is not None:
        console.print(str(path))
    return 0 if comparison.p_improvement.decision in ("A better", "B better") else 1
