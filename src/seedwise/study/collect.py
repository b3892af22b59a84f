"""The metrics of a command run, read from what it wrote.

A command reports in any of three ways, read in this order:

1. JSON lines in ``{out}/metrics.jsonl`` (the file ``SEEDWISE_METRICS`` names, which
   ``sw.study.report(...)`` appends to): a line with a ``"step"`` (or ``"epoch"``) is one
   point of each learning curve it names; a line without one gives final metrics;
2. the last line of stdout that is a JSON object: final metrics;
3. without final metrics from 1 or 2, the last value of each curve.

Values must be numbers (NaN and infinities included); anything else is an error that
names the file and line, never silently dropped.
"""

from __future__ import annotations

import json
import numbers
from pathlib import Path
from typing import Any

from seedwise.errors import InvalidArgumentError
from seedwise.study.reporter import STEP_KEYS

__all__ = ["collect", "last_json_object", "METRICS_FILE"]

#: The file in a run's output directory that holds its reported values.
METRICS_FILE = "metrics.jsonl"

Curves = dict[str, dict[str, list[float]]]


def _number(where: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgumentError(
            f"{where}: the value of {name!r} is {type(value).__name__} {value!r:.60}; every metric must be a number"
        )
    return float(value)


def _step(where: str, record: dict[str, Any]) -> int | None:
    for key in STEP_KEYS:
        if key in record:
            step = record.pop(key)
            if isinstance(step, float) and step.is_integer():
                step = int(step)
            if isinstance(step, bool) or not isinstance(step, int):
                raise InvalidArgumentError(f"{where}: {key} must be an int, got {step!r:.40}")
            return step
    return None


def _read_lines(path: Path) -> tuple[dict[str, float], Curves]:
    final: dict[str, float] = {}
    curves: Curves = {}
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(f"{where} is not JSON ({exc}): {line!r:.80}") from None
        if not isinstance(record, dict):
            raise InvalidArgumentError(f"{where} is not a JSON object of metric name -> number: {line!r:.80}")
        step = _step(where, record)
        if not record:
            raise InvalidArgumentError(f"{where} names no metric: {line!r:.80}")
        for name, value in record.items():
            number_value = _number(where, name, value)
            if step is None:
                final[name] = number_value
            else:
                curve = curves.setdefault(name, {"step": [], "value": []})
                curve["step"].append(step)
                curve["value"].append(number_value)
    return final, curves


def last_json_object(stdout: str) -> dict[str, Any] | None:
    """The last line of ``stdout`` that is a JSON object, decoded (None if there is none)."""
    for line in reversed(stdout.splitlines()):
        text = line.strip()
        if not (text.startswith("{") and text.endswith("}")):
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            continue  # noise that looks like an object (a printed Python dict, a log line)
        if isinstance(record, dict):
            return record
    return None


def collect(out_dir: str | Path, stdout: str) -> tuple[dict[str, float], Curves]:
    """The final metrics and the learning curves a command run reported (see the module docs).

    Raises :class:`~seedwise.errors.InvalidArgumentError` when it reported nothing usable.
    """
    path = Path(out_dir) / METRICS_FILE
    final: dict[str, float] = {}
    curves: Curves = {}
    if path.is_file():
        final, curves = _read_lines(path)
    if not final:
        record = last_json_object(stdout)
        if record is not None:
            where = "the last JSON object on stdout"
            _step(where, record)
            final = {name: _number(where, name, value) for name, value in record.items()}
    if not final:
        final = {name: curve["value"][-1] for name, curve in curves.items()}
    if not final:
        raise InvalidArgumentError(
            "the command exited with status 0 but reported no metrics: call seedwise.study.report(accuracy=...) "
            f"in the script, write JSON lines to {path}, or print a JSON object such as "
            '{"accuracy": 0.93} as the last line of stdout'
        )
    return final, curves
