"""What a run reports: learning curves while it trains, metrics when it ends.

A training function reports per-step values with the ``report`` callback it is handed
(``train(seeds, config, report)``) or with :func:`report` from anywhere inside the run,
and returns its final metrics, checked here. A command run (a script studied as a
command line) calls the same :func:`report`, which appends one JSON line to the file
named by the ``SEEDWISE_METRICS`` environment variable (``{out}/metrics.jsonl``).
"""

from __future__ import annotations

import inspect
import json
import numbers
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.study.spec import TrainFn

__all__ = ["Reporter", "report", "check_metrics", "as_float", "takes_report", "METRICS_ENV", "STEP_KEYS"]

#: The environment variable naming the JSON-lines file a command run's :func:`report` appends to.
METRICS_ENV = "SEEDWISE_METRICS"
#: Keys that give a reported value's step (the first present wins).
STEP_KEYS = ("step", "epoch")

#: The reporters of the function runs in progress in this process (the worker sets one around ``train``).
_ACTIVE: list[Reporter] = []


def as_float(what: str, value: object) -> float:
    """``value`` as a float: a real number, a 0-d numpy array or a one-element tensor; never a bool."""
    if hasattr(value, "item") and not isinstance(value, numbers.Number):
        value = value.item()  # 0-d numpy arrays and torch tensors
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def _pop_step(step: int | None, values: dict[str, Any]) -> int | None:
    if step is None:  # report(epoch=3, loss=0.2) works too
        for key in STEP_KEYS:
            if key in values:
                step = values.pop(key)
                break
    if step is not None and (isinstance(step, bool) or not isinstance(step, numbers.Integral)):
        raise InvalidTypeError(f"report(step, **values): step must be an int, got {type(step).__name__}")
    return None if step is None else int(step)


class Reporter:
    """The ``report`` callback handed to ``train``: ``report(step, loss=0.3, accuracy=0.9)``.

    Records learning curves: for each name, the steps and values reported. The step may
    also be given as ``epoch=`` or ``step=``; it defaults to the number of values already
    reported for that name.
    """

    def __init__(self) -> None:
        self.curves: dict[str, dict[str, list[float]]] = {}

    def __call__(self, step: int | None = None, /, **values: Any) -> None:
        step = _pop_step(step, values)
        if not values:
            raise InvalidArgumentError("report() needs at least one named value, e.g. report(epoch, loss=0.3)")
        for name, value in values.items():
            curve = self.curves.setdefault(name, {"step": [], "value": []})
            curve["step"].append(step if step is not None else len(curve["step"]))
            curve["value"].append(as_float(f"report({name}=...)", value))

    def __repr__(self) -> str:
        return f"Reporter({sorted(self.curves)})"


@contextmanager
def active(reporter: Reporter) -> Iterator[Reporter]:
    """Make ``reporter`` the one :func:`report` records to while a function run executes."""
    _ACTIVE.append(reporter)
    try:
        yield reporter
    finally:
        _ACTIVE.remove(reporter)


def report(step: int | None = None, /, **values: Any) -> bool:
    """Record values of the run in progress: ``sw.study.report(step=epoch, loss=0.3)``.

    In a function run: the same as the ``report`` callback ``train`` is handed (a value
    without a step gets the next step of its curve). In a command run (``SEEDWISE_METRICS``
    set by the study): appends the values as one JSON line to that file; a line with a step
    is a point of each learning curve it names, a line without one gives final metrics
    (what a training function returns). Outside a study it records nothing and returns
    False, so a script also runs on its own; True when the values were recorded.
    """
    if _ACTIVE:
        _ACTIVE[-1](step, **values)
        return True
    path = os.environ.get(METRICS_ENV)
    if not path:
        return False
    values = dict(values)
    step = _pop_step(step, values)
    if not values:
        raise InvalidArgumentError("report() needs at least one named value, e.g. report(step=3, loss=0.3)")
    record: dict[str, float] = {name: as_float(f"report({name}=...)", value) for name, value in values.items()}
    line = json.dumps(record if step is None else {"step": step, **record})  # NaN and inf as JSON's NaN, Infinity
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
    return True


def check_metrics(out: object) -> dict[str, float]:
    """Validate what ``train`` returned: a non-empty dict of metric name -> number."""
    if not isinstance(out, Mapping) or not out:
        raise InvalidTypeError(
            f"train must return a non-empty dict of metric name -> number, e.g. {{'accuracy': 0.93}}; "
            f"got {type(out).__name__} {out!r:.80}"
        )
    metrics = {}
    for key, value in out.items():
        if not isinstance(key, str) or not key:
            raise InvalidTypeError(f"train returned a metric name {key!r}; metric names must be non-empty str")
        metrics[key] = as_float(f"metric {key!r}", value)
    return metrics


def takes_report(fn: TrainFn) -> bool:
    """True when ``fn`` accepts a third positional argument (the per-epoch ``report`` callback)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)
