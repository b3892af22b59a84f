"""The command a ``seedwise study run`` studies, read from what follows ``--`` (or ``--arms FILE``).

``seedwise study run OPTIONS -- CMD ...`` studies one command; ``OPTIONS --arm A -- CMD ...
--arm B -- CMD ...`` studies two or more commands (arms) on the same seeds: after the first
``--``, each ``--arm NAME --`` starts the next arm's command. ``--arms FILE.json`` names
the arms in a file instead: ``{"A": ["python", "train.py"], "B": "python train.py --new"}``.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seedwise.errors import UsageError

__all__ = ["split_arms", "read_arms", "parse_timeout"]

_ARM_HINT = "--arm A -- CMD ... --arm B -- CMD ..."


def split_arms(first_arm: str | None, rest: Sequence[str]) -> dict[str | None, list[str]]:
    """The command of each arm from the arguments after the first ``--``."""
    commands: dict[str | None, list[str]] = {}
    arm: str | None = first_arm
    argv: list[str] = []
    i = 0
    while i < len(rest):
        if rest[i] == "--arm" and i + 2 < len(rest) and rest[i + 2] == "--":
            _add(commands, arm, argv)
            arm, argv = rest[i + 1], []
            i += 3
            continue
        argv.append(rest[i])
        i += 1
    _add(commands, arm, argv)
    if len(commands) > 1 and None in commands:
        raise UsageError(f"name the first command's arm too: {_ARM_HINT}")
    if len(commands) == 1 and None not in commands:
        raise UsageError(f"a study of arms needs at least two commands: {_ARM_HINT}")
    return commands


def _add(commands: dict[str | None, list[str]], arm: str | None, argv: list[str]) -> None:
    where = "the command after --" if arm is None else f"the command of arm {arm!r}"
    if not argv:
        raise UsageError(
            f"{where} is empty: give the program and its arguments, e.g. -- python train.py --seed {{seed}}"
        )
    if arm in commands:
        raise UsageError(f"arm {arm!r} is given twice")
    commands[arm] = argv


def read_arms(path: str) -> dict[str | None, list[str]]:
    """``--arms FILE.json``: ``{"arm": ["prog", "arg", ...] or "prog arg ...", ...}``."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"--arms {path}: no such file")
    try:
        data: Any = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"--arms {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or len(data) < 2:
        raise UsageError(f'--arms {path} must hold an object of two or more arms, e.g. {{"A": "python train.py", ...}}')
    commands: dict[str | None, list[str]] = {}
    for arm, command in data.items():
        if isinstance(command, str):
            command = shlex.split(command)
        if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
            raise UsageError(f"--arms {path}: arm {arm!r} must be a command line (a string or a list of strings)")
        _add(commands, arm, command)
    return commands


def parse_timeout(text: str | None) -> float | None:
    """``--timeout SECONDS``: a positive number, or None when not given."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {text!r}")
    return value
