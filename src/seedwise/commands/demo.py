"""``seedwise demo``: the main job, end to end on scikit-learn's digits."""

from __future__ import annotations

import argparse
import os


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the built-in study on scikit-learn's digits, with a report",
        description="Show, on 1,797 handwritten digits, everything seedwise is for: a reproducibility check "
        "(bit-identical training, also across an interruption), a study of where the seed-to-seed variance "
        "comes from, the methods that reduce it, and an HTML report. Rerunning resumes from the store.",
    )
    parser.add_argument(
        "--out", default="seedwise-demo", help="folder for runs.sqlite, report.html and PNGs (default: %(default)s)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer seeds and epochs: under 2 minutes on 2 cores")
    parser.add_argument(
        "--workers", type=int, default=None, help="parallel training runs (default: the number of cores)"
    )
    parser.add_argument("--backend", choices=("local", "ray"), default="local", help="local processes or a Ray cluster")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from seedwise.demo.run import run_demo

    result = run_demo(args.out, quick=args.quick, workers=args.workers, backend=args.backend)
    checks = result["reproducibility"]["checks"]
    return 0 if all(c["identical"] for c in checks) else 1
