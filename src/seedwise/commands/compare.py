"""``seedwise compare RUNS.sqlite A B --metric M``: is study A better than study B, and how sure are we?"""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare two studies of a store on one metric",
        description="Difference of means with its CI, Cohen's d, Welch, Mann-Whitney, permutation test, ASO and "
        "P(A > B) with Bouthillier et al.'s decision; paired when both studies ran the same seeds. "
        "Exit code 0 when one study is better, 1 when the difference is not significant or not meaningful.",
    )
    parser.add_argument("store", metavar="RUNS.sqlite")
    parser.add_argument("study_a", metavar="STUDY_A")
    parser.add_argument("study_b", metavar="STUDY_B")
    parser.add_argument("--metric", default=None, help="the metric to compare (default: the first train returned)")
    parser.add_argument(
        "--lower-is-better", action="store_true", help="the metric is a loss (NLL, ECE, error): 'better' means lower"
    )
    parser.add_argument("--out", default=None, metavar="DIR", help="also write DIR/compare.html and its figure")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from seedwise.report import write_comparison

    comparison, path = write_comparison(args.store, args.study_a, args.study_b, args.metric, args.out,
                                        lower_is_better=args.lower_is_better)  # fmt: skip
    console = Console()
    direction = "lower is better: values negated" if args.lower_is_better else "higher is better"
    console.print(f"A = {args.study_a}, B = {args.study_b} ({direction})", markup=False, highlight=False)
    console.print(comparison)
    if path is not None:
        console.print(str(path))
    return 0 if comparison.p_improvement.decision in ("A better", "B better") else 1
