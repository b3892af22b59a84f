"""One run, as a worker executes it: the training function called with the run's seeds.

:func:`execute` is what every backend runs for one cell: it builds the run's
:class:`~seedwise.Seeds` from JSON, calls ``train(seeds, config)`` (or
``train(seeds, config, report)`` when the function takes a third argument), with
PyTorch limited to one thread (results then do not depend on how many runs share the
machine, and runs do not oversubscribe the cores), and returns the outcome as plain
JSON-ready data. A failing ``train`` is an outcome with its traceback, not an error.
"""

from __future__ import annotations

import copy
import os
import platform
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from seedwise.seeds import Seeds
from seedwise.study.reporter import Reporter, check_metrics, takes_report
from seedwise.study.spec import TrainSpec

__all__ = ["execute", "worker_fingerprint"]

_FINGERPRINT: dict[str, Any] | None = None


def worker_fingerprint() -> dict[str, Any]:
    """The environment of this process (computed once per process, after its first run).

    :func:`seedwise.fingerprint` in full when PyTorch is loaded already (``train`` uses
    it); otherwise the same fields without importing PyTorch, which would cost seconds
    per worker for nothing.
    """
    global _FINGERPRINT
    if _FINGERPRINT is None:
        if "torch" in sys.modules:
            from seedwise.fingerprint import fingerprint

            data = dict(fingerprint())
        else:
            data = _light_fingerprint()
        _FINGERPRINT = {**data, "host": socket.gethostname(), "pid": os.getpid()}
    return _FINGERPRINT


def _light_fingerprint() -> dict[str, Any]:
    from seedwise._version import __version__
    from seedwise.fingerprint import NUMERIC_ENV_VARS
    from seedwise.frameworks._base import distribution_version

    versions: dict[str, str | None] = {"seedwise": __version__}
    for name in ("numpy", "torch", "scipy", "ray"):
        versions[name] = distribution_version(name)
    return {
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "os": {"system": platform.system(), "release": platform.release(), "machine": platform.machine(),
               "node": platform.node()},
        "cpu": {"count": os.cpu_count()},
        "versions": versions,
        "env": {name: os.environ.get(name) for name in NUMERIC_ENV_VARS},
        "torch_loaded": False,
    }  # fmt: skip


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)


def execute(spec: TrainSpec | Callable[..., Any], seeds_json: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Run one cell: ``train(seeds, config[, report])``; return its outcome as JSON-ready data.

    The outcome's ``status`` is ``"done"`` with ``metrics`` (and ``curves`` when the
    function reported any), or ``"failed"`` with ``error`` (the traceback). A
    ``KeyboardInterrupt`` is not caught.
    """
    start = time.perf_counter()
    reporter = Reporter()
    try:
        fn = spec.resolve() if isinstance(spec, TrainSpec) else spec
        # The same seeds and a private copy of the config: nothing else reaches train.
        args: tuple[Any, ...] = (Seeds.from_json(seeds_json), copy.deepcopy(dict(config)))
        if takes_report(fn):
            args += (reporter,)
        with _one_torch_thread():
            metrics = check_metrics(fn(*args))
        outcome: dict[str, Any] = {"status": "done", "metrics": metrics, "error": None}
    except Exception:  # a crash in train is recorded on its run; the study goes on
        outcome = {"status": "failed", "metrics": None, "error": traceback.format_exc()}
    outcome["curves"] = reporter.curves or None
    outcome["duration"] = time.perf_counter() - start
    outcome["worker"] = worker_fingerprint()
    return outcome
