"""One run, as a worker executes it: a training function or a command, given the run's seeds.

:func:`run_task` is what every backend runs for one cell. For a function study it calls
:func:`execute`: builds the run's :class:`~seedwise.Seeds` from JSON, calls
``train(seeds, config)`` (or ``train(seeds, config, report)`` when the function takes a
third argument), with PyTorch limited to one thread (results then do not depend on how
many runs share the machine, and runs do not oversubscribe the cores). For a command
study it calls :func:`execute_command`: empties the run's output directory, fills in the
placeholders, starts the command with the run's seeds in ``SEEDWISE_SEEDS`` and one
thread per numeric library, and reads back its metrics. Either way the outcome is plain
JSON-ready data; a run that fails is an outcome with the reason, not an error.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import platform
import shutil
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedwise.seeds import Seeds
from seedwise.study.collect import METRICS_FILE, collect
from seedwise.study.command import CommandTask
from seedwise.study.launch import Finished, launch
from seedwise.study.reporter import METRICS_ENV, Reporter, active, check_metrics, takes_report
from seedwise.study.spec import TrainSpec

__all__ = [
    "RunRequest", "Task", "Cleanup", "run_task", "execute", "execute_command", "worker_fingerprint", "pin_threads",
    "THREAD_ENV",
]  # fmt: skip

#: What a study runs: a function (by spec, or the object itself in this process) or commands.
Task = TrainSpec | CommandTask | Callable[..., Any]

#: Environment of every worker and every command run: one thread per numeric library, so
#: results do not depend on the machine's core count or on how many runs share it.
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
}
#: After each function run in a worker: ``"auto"`` (clear the Keras session when Keras is loaded),
#: a function to call (by its :class:`TrainSpec`), or None.
Cleanup = TrainSpec | str | None
#: Lines of stderr quoted in a failed command run's error (the whole log is kept beside it).
ERROR_TAIL_LINES = 20


@dataclass(frozen=True)
class RunRequest:
    """One claimed run, as a worker receives it."""

    study: str
    cell: str
    index: int
    arm: str | None
    seeds: str
    config: Mapping[str, Any]
    cleanup: Cleanup = None


def pin_threads() -> None:
    """One thread per numeric library in this process (a worker, before it imports any of them).

    Forced, not defaulted: a worker must not inherit the thread settings of the process
    that started the study, or results would depend on them (and on the machine's cores).
    """
    os.environ.update(THREAD_ENV)


def clean_up(cleanup: Cleanup) -> None:
    """The per-run cleanup: ``"auto"`` clears Keras' global session (its layer-name counters, its graphs)."""
    if cleanup is None:
        return
    if isinstance(cleanup, TrainSpec):
        cleanup.resolve()()
        return
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.utils.clear_session()
        gc.collect()


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
            from seedwise.process.fingerprint import fingerprint

            data = dict(fingerprint())
        else:
            data = _light_fingerprint()
        _FINGERPRINT = {**data, "host": socket.gethostname(), "pid": os.getpid()}
    return _FINGERPRINT


def _light_fingerprint() -> dict[str, Any]:
    from seedwise._optional import distribution_version
    from seedwise._version import __version__
    from seedwise.process.fingerprint import NUMERIC_ENV_VARS

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
        with _one_torch_thread(), active(reporter):
            metrics = check_metrics(fn(*args))
        outcome: dict[str, Any] = {"status": "done", "metrics": metrics, "error": None}
    except Exception:  # a crash in train is recorded on its run; the study goes on
        outcome = {"status": "failed", "metrics": None, "error": traceback.format_exc()}
    outcome["curves"] = reporter.curves or None
    outcome["duration"] = time.perf_counter() - start
    outcome["worker"] = worker_fingerprint()
    return outcome


def _tail(text: str) -> str:
    lines = text.rstrip().splitlines()[-ERROR_TAIL_LINES:]
    return "\n".join(lines)[-4000:]


def _failure(finished: Finished, timeout: float | None) -> str | None:
    """Why a finished command run failed (None: it exited with status 0)."""
    if finished.timed_out:
        reason = f"the command ran past its timeout of {timeout:g} s and was stopped"
    elif finished.returncode < 0:
        try:
            name = signal.Signals(-finished.returncode).name
        except ValueError:
            name = str(-finished.returncode)
        reason = f"the command was killed by signal {name}"
    elif finished.returncode > 0:
        reason = f"the command exited with status {finished.returncode}"
    else:
        return None
    tail = _tail(finished.stderr)
    return f"{reason}; the end of its stderr:\n{tail}" if tail else f"{reason} (its stderr is empty)"


def execute_command(task: CommandTask, request: RunRequest) -> dict[str, Any]:
    """Run one cell of a command study; return its outcome as JSON-ready data (with its logs)."""
    start = time.perf_counter()
    command = task.command(request.arm)
    out = task.out_dir(request.study, request.cell)
    outcome: dict[str, Any] = {"status": "failed", "metrics": None, "curves": None, "stdout": None, "stderr": None}
    try:
        shutil.rmtree(out, ignore_errors=True)  # every attempt starts from an empty output directory
        Path(out).mkdir(parents=True)
        seeds = Seeds.from_json(request.seeds)
        values = task.values(seeds, study=request.study, cell=request.cell, index=request.index, arm=request.arm,
                             out=out, config=request.config, fields=command.fields)  # fmt: skip
        argv = command.render(values)
        env = {
            **os.environ, **THREAD_ENV, "PYTHONUNBUFFERED": "1",
            "SEEDWISE_SEEDS": request.seeds, METRICS_ENV: str(Path(out) / METRICS_FILE), "SEEDWISE_OUT": out,
            "SEEDWISE_STUDY": request.study, "SEEDWISE_CELL": request.cell, "SEEDWISE_RUN": str(request.index),
            "SEEDWISE_ARM": request.arm or "", "SEEDWISE_CONFIG": json.dumps(dict(request.config), sort_keys=True),
            **command.env,
        }  # fmt: skip
        finished = launch(argv, env=env, cwd=command.cwd, timeout=command.timeout, log_limit=command.log_limit)
    except OSError as exc:  # the program cannot be started (or the output directory not made)
        outcome["error"] = f"cannot start the command {command.argv[0]!r}: {exc}"
    else:
        outcome["stdout"], outcome["stderr"] = finished.stdout, finished.stderr
        outcome["error"] = _failure(finished, command.timeout)
        if outcome["error"] is None:
            try:
                outcome["metrics"], curves = collect(out, finished.stdout)
                outcome["curves"] = curves or None
                outcome["status"] = "done"
            except ValueError as exc:  # reported nothing usable: say what, with the end of stderr
                tail = _tail(finished.stderr)
                outcome["error"] = str(exc) + (f"; the end of its stderr:\n{tail}" if tail else "")
    outcome["duration"] = time.perf_counter() - start
    outcome["worker"] = worker_fingerprint()
    return outcome


def run_task(task: Task, request: RunRequest) -> dict[str, Any]:
    """Run one claimed run of a study (what every backend calls), then the cleanup of a function run."""
    if isinstance(task, CommandTask):
        return execute_command(task, request)
    outcome = execute(task, request.seeds, request.config)
    try:
        clean_up(request.cleanup)
    except Exception:  # the user's hook failed: say so on the run rather than hide it
        outcome.update(status="failed", metrics=None, error="the cleanup hook failed:\n" + traceback.format_exc())
    return outcome
