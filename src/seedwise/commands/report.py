"""``seedwise report RUNS.sqlite --out DIR``: the HTML report of a study store."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the HTML report (tables + figures) of a study store",
        description="Write DIR/report.html, one self-contained page with the figures embedded, and each figure "
        "as a PNG: the metric per source, the variance by source with CIs, and the learning curves.",
    )
    parser.add_argument("store", metavar="RUNS.sqlite")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write (created if missing)")
    parser.add_argument("--study", default=None, help="one study (default: every study in the store)")
    parser.add_argument(
        "--metric", default=None, help="metric to analyse (default: the one each study names, else the first reported)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seedwise.report import write_report
    from seedwise.study.results import Results
    from seedwise.study.store import Store, existing_store

    path = write_report(args.store, args.out, study=args.study, metric=args.metric)
    with Store(existing_store(args.store)) as store:
        for name in [args.study] if args.study else store.studies():
            results = Results(store, name)
            if results.metrics and args.metric is None:
                how = "named by the study" if results.main_metric else "the first the runs report; choose with --metric"
                print(f"study {name}: metric {results.default_metric} ({how})")
    print(path)
    return 0
