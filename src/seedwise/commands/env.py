"""``seedwise env``: the fingerprint of this environment."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "env",
        help="show the environment a result would be produced in",
        description="Print the versions, devices, determinism flags and numeric environment variables "
        "that decide whether two runs can produce the same bits.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _rows(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_rows(value, name + "."))
        elif isinstance(value, list):
            rows.append((name, ", ".join(map(str, value)) if value else "-"))
        else:
            rows.append((name, "-" if value is None else str(value)))
    return rows


def run(args: argparse.Namespace) -> int:
    from seedwise.process.fingerprint import fingerprint

    data = fingerprint()
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="seedwise env")
    table.add_column("item")
    table.add_column("value", overflow="fold")
    for name, value in _rows(data):
        table.add_row(name, value)
    Console().print(table)
    return 0
