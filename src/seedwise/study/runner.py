"""Runners: claim pending runs from the store, execute them, record each outcome.

One loop (:func:`run_pending`) drives every backend; a backend only knows how to start
a run and report the ones that finished:

* ``workers=0``: in this process, one run at a time (for debugging; a breakpoint in
  ``train`` works);
* ``backend="local"``: a pool of ``workers`` processes started with ``forkserver``
  (``spawn`` where that is missing), never ``fork``: forking a process whose PyTorch
  has started its thread pool can deadlock;
* ``backend="ray"``: one Ray task per run with ``num_cpus``/``num_gpus`` each,
  connected to ``ray_address`` or ``RAY_ADDRESS`` or, failing both, a local Ray started
  (and stopped) here.

The driver alone writes to the store: it claims a run only when a worker is free (so
two runners on one store share the work), keeps its claims alive with a heartbeat
thread, and records each outcome in its own transaction. Ctrl-C stops the workers, puts
the runs in flight back to ``pending`` and keeps every finished run. Workers are given
the run's seeds and config and nothing else, so the results are the same whatever the
backend and the number of workers. A command study runs its commands the same way: a
worker starts each run's command and waits for it, and a worker that is stopped or whose
driver dies stops its command first.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from types import FrameType
from typing import Any, Literal, Protocol

from seedwise._validate import check_choice, check_int
from seedwise.errors import InvalidArgumentError, MissingDependencyError
from seedwise.study import launch
from seedwise.study._rich import import_rich
from seedwise.study.command import CommandTask
from seedwise.study.spec import TrainSpec
from seedwise.study.store import LEASE_S, MAX_ATTEMPTS, RUN_BUSY_TIMEOUT_S, Claim, Store
from seedwise.study.worker import THREAD_ENV, Cleanup, RunRequest, Task, pin_threads, run_task

__all__ = ["BACKENDS", "Backend", "run_pending"]

BACKENDS: tuple[str, ...] = ("local", "ray")
Backend = Literal["local", "ray"]
_POLL_S = 0.25
_MAIN_HINT = (
    "; if the script that starts the study is run again by each worker, put the study under if __name__ == '__main__':"
)
_RECLAIM_EVERY_S = 5.0


class _Executor(Protocol):
    capacity: int

    def submit(self, claim: Claim) -> Any: ...
    def wait(self, timeout: float) -> list[tuple[Any, dict[str, Any]]]: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class _Requests:
    """Turns claims of study ``name`` into what a worker receives."""

    def __init__(self, name: str, cleanup: Cleanup):
        self.name, self.cleanup = name, cleanup

    def __call__(self, claim: Claim) -> RunRequest:
        return RunRequest(self.name, claim.cell, claim.index, claim.arm, claim.seeds, claim.config, self.cleanup)


def _lost(reason: str) -> dict[str, Any]:
    """The outcome of a run whose worker died: retried, up to MAX_ATTEMPTS times."""
    return {"status": "lost", "error": reason}


class _InProcess:
    """``workers=0``: run each claim right here."""

    capacity = 1

    def __init__(self, task: Task, requests: _Requests):
        self.task, self.requests = task, requests
        self.done: list[tuple[Any, dict[str, Any]]] = []

    def submit(self, claim: Claim) -> Any:
        self.done.append((claim.rowid, run_task(self.task, self.requests(claim))))
        return claim.rowid

    def wait(self, timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        out, self.done = self.done, []
        return out

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def _init_worker(driver_pid: int) -> None:
    # The driver handles Ctrl-C; one thread per worker (set before torch is imported).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminated)
    pin_threads()
    launch.watch_driver(driver_pid)
    threading.Thread(target=_watch_driver, args=(driver_pid,), name="seedwise-watchdog", daemon=True).start()


def _terminated(signum: int, frame: FrameType | None) -> None:
    """The driver stops this worker (Ctrl-C, an error): stop the command it runs, then exit."""
    launch.kill_all()
    os._exit(128 + signum)


def _watch_driver(driver_pid: int) -> None:
    """Exit when the driver is gone (SIGKILL): an orphaned worker would run on, holding the pool's pipes."""
    while True:
        time.sleep(0.5)
        try:
            os.kill(driver_pid, 0)
        except ProcessLookupError:
            launch.kill_all()
            os._exit(1)
        except OSError:  # pragma: no cover - alive, another user's
            pass


#: Heavy modules a worker needs anyway when the driver has them loaded: the forkserver
#: imports them once and every worker forks with them ready (importing them starts no threads).
_PRELOADABLE = ("numpy", "torch")


def _mp_context() -> mp.context.BaseContext:
    if "forkserver" in mp.get_all_start_methods():
        context = mp.get_context("forkserver")
        # Takes effect when the forkserver starts (the first pool of this process).
        context.set_forkserver_preload(["seedwise.study.worker", *(m for m in _PRELOADABLE if m in sys.modules)])
        return context
    return mp.get_context("spawn")


class _LocalPool:
    """A process pool; a worker that dies takes its runs back to pending, and the pool restarts."""

    def __init__(self, task: TrainSpec | CommandTask, requests: _Requests, workers: int, runs_per_worker: int | None):
        self.task, self.requests, self.capacity, self.runs_per_worker = task, requests, workers, runs_per_worker
        self.pending: dict[cf.Future[dict[str, Any]], int] = {}
        self.lost: list[tuple[Any, dict[str, Any]]] = []
        self.pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            self.capacity, mp_context=_mp_context(), initializer=_init_worker, initargs=(os.getpid(),),
            max_tasks_per_child=self.runs_per_worker,
        )  # fmt: skip

    def _restart(self, reason: str) -> None:
        """The pool broke: every run in flight is lost with it; start a new pool."""
        for rowid in self.pending.values():
            self.lost.append((rowid, _lost(reason)))
        self.pending.clear()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new_pool()

    def submit(self, claim: Claim) -> Any:
        request = self.requests(claim)
        try:
            future = self.pool.submit(run_task, self.task, request)
        except BrokenProcessPool as exc:  # a worker died after the last wait, before this claim
            self._restart(f"a worker process died ({exc}){_MAIN_HINT}")
            future = self.pool.submit(run_task, self.task, request)
        self.pending[future] = claim.rowid
        return claim.rowid

    def wait(self, timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        out, self.lost = self.lost, []
        if out:  # runs lost at a submit: report them before waiting for more
            return out
        done, _ = cf.wait(list(self.pending), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        broken = False
        for future in done:
            rowid = self.pending.pop(future)
            try:
                out.append((rowid, future.result()))
            except BrokenProcessPool as exc:
                broken = True
                out.append((rowid, _lost(f"a worker process died ({exc}){_MAIN_HINT}")))
        if broken:  # every run in flight was lost with the pool
            self._restart(f"a worker process died{_MAIN_HINT}")
            out, self.lost = out + self.lost, []
        return out

    def stop(self) -> None:
        processes = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # runs in flight go back to pending: do not wait for them
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)
        self.pending.clear()

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class _Ray:
    """One Ray task per run."""

    def __init__(
        self, task: TrainSpec | CommandTask, requests: _Requests, workers: int | None, address: str | None,
        num_cpus: float, num_gpus: float, runs_per_worker: int | None,
    ):  # fmt: skip
        try:
            import ray
        except ImportError:
            raise MissingDependencyError("ray", "ray", "the Ray backend of seedwise studies") from None
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS") or None
            ray.init(address=address, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=True)
            self.started = True  # ours to close: stops a local Ray, disconnects from a cluster
        self.task, self.requests = task, requests
        options: dict[str, Any] = {"num_cpus": num_cpus, "num_gpus": num_gpus, "max_retries": 0}
        options["runtime_env"] = {"env_vars": dict(THREAD_ENV)}  # set before the task's worker imports anything
        if runs_per_worker is not None:
            options["max_calls"] = runs_per_worker
        self.remote = ray.remote(**options)(run_task)
        if workers is None:
            resources = ray.cluster_resources()  # type: ignore[no-untyped-call]  # ray leaves it unannotated
            cpus = float(resources.get("CPU", 1))
            workers = max(1, int(cpus // num_cpus)) if num_cpus > 0 else int(cpus)
        self.capacity = workers
        self.pending: dict[Any, int] = {}

    def submit(self, claim: Claim) -> Any:
        ref = self.remote.remote(self.task, self.requests(claim))
        self.pending[ref] = claim.rowid
        return claim.rowid

    def wait(self, timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=timeout)
        out = []
        for ref in ready:
            rowid = self.pending.pop(ref)
            try:
                out.append((rowid, self.ray.get(ref)))
            except Exception as exc:  # the task's worker died or the cluster failed it
                out.append((rowid, _lost(f"the Ray task failed: {type(exc).__name__}: {exc}")))
        return out

    def stop(self) -> None:
        for ref in self.pending:
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # pragma: no cover - already finished
                pass
        self.pending.clear()

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


class _Heartbeat(threading.Thread):
    """Renews the lease of this runner's claims while it runs."""

    def __init__(self, store: Store, token: str):
        super().__init__(name="seedwise-heartbeat", daemon=True)
        self.store, self.token = store, token
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(LEASE_S / 4):
            try:
                self.store.heartbeat(self.token)
            except Exception:  # pragma: no cover - the store is busy; the next beat retries
                pass


def _progress(enabled: bool, total: int, done: int, failed: int, name: str) -> tuple[Any, Any]:
    import_rich()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not (enabled and console.is_terminal),
    )
    task = progress.add_task(name, total=total, completed=done + failed, failed=failed)
    return progress, task


def run_pending(
    store: Store,
    name: str,
    train: Task,
    *,
    workers: int | None = None,
    backend: str = "local",
    ray_address: str | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    progress: bool = True,
    metric: str | None = None,
    cleanup: Cleanup = "auto",
    runs_per_worker: int | None = None,
) -> dict[str, int]:
    """Run every pending run of study ``name`` in ``store``; return the run counts by status.

    ``train`` is a :class:`TrainSpec` or a :class:`CommandTask` (any backend), or a plain
    function (``workers=0``). With ``metric``, the first finished run that does not report
    it stops the study with an error (the runs finished so far are kept). ``cleanup`` runs
    in the worker after each function run (``"auto"``: clear the Keras session; not with
    ``workers=0``, where the runs share the caller's process); ``runs_per_worker`` replaces
    each worker process after that many runs (whatever a framework keeps, a worker then
    cannot grow without bound).
    """
    backend = check_choice("backend", backend, BACKENDS)
    if workers is not None:
        workers = check_int("workers", workers, low=0)
    for what, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise InvalidArgumentError(f"{what} must be a number >= 0, got {value!r}")
    if workers == 0 and backend == "ray":
        raise InvalidArgumentError(
            "workers=0 runs in this process; use it with backend='local', or workers >= 1 with Ray"
        )
    if runs_per_worker is not None:
        runs_per_worker = check_int("runs_per_worker", runs_per_worker, low=1)
    executor: _Executor
    if workers == 0:
        executor = _InProcess(train, _Requests(name, None if cleanup == "auto" else cleanup))
    elif not isinstance(train, (TrainSpec, CommandTask)):
        raise InvalidArgumentError("worker processes need a TrainSpec (a function they can import); use workers=0")
    elif backend == "local":
        executor = _LocalPool(train, _Requests(name, cleanup), workers or os.cpu_count() or 1, runs_per_worker)
    else:
        executor = _Ray(train, _Requests(name, cleanup), workers, ray_address, num_cpus, num_gpus, runs_per_worker)

    token = store.new_token()
    heartbeat = _Heartbeat(store, token)
    heartbeat.start()
    counts = store.counts(name)
    bar, task = _progress(progress, sum(counts.values()), counts["done"], counts["failed"], name)
    inflight: dict[Any, Claim] = {}
    last_reclaim = 0.0
    failed = counts["failed"]
    # After a worker died with several runs in flight, nobody knows which run killed it: those
    # runs are retried one at a time (attempt not counted), so only the culprit fails.
    isolate = 0
    try:
        with bar, store.busy_timeout(RUN_BUSY_TIMEOUT_S):
            store.reclaim_stale(name)
            while True:
                while len(inflight) < (1 if isolate else executor.capacity):
                    claim = store.claim(name, token)
                    if claim is None and time.monotonic() - last_reclaim > (_RECLAIM_EVERY_S if inflight else 0):
                        last_reclaim = time.monotonic()
                        if store.reclaim_stale(name):
                            claim = store.claim(name, token)
                    if claim is None:
                        break
                    inflight[executor.submit(claim)] = claim
                if not inflight:
                    break
                outcomes = executor.wait(_POLL_S)
                n_lost = sum(outcome["status"] == "lost" for _, outcome in outcomes)
                for handle, outcome in outcomes:
                    claim = inflight.pop(handle)
                    if outcome["status"] == "lost":
                        if n_lost > 1:
                            store.release(token, [claim.rowid])
                            isolate = max(isolate, n_lost)
                            continue
                        if claim.attempt < MAX_ATTEMPTS:  # the attempt counts: this run may kill its workers
                            store.requeue(claim, token)
                            isolate = max(0, isolate - 1)
                            continue
                        outcome = {
                            **outcome,
                            "status": "failed",
                            "error": f"{outcome['error']} ({claim.attempt} times)",
                        }
                    isolate = max(0, isolate - 1)
                    if store.finish(claim, token, outcome) and outcome["status"] == "failed":
                        failed += 1
                    bar.update(task, advance=1, failed=failed)
                    if metric is not None and outcome["status"] == "done" and metric not in outcome["metrics"]:
                        reported = ", ".join(repr(m) for m in outcome["metrics"])
                        raise InvalidArgumentError(
                            f"metric {metric!r} is not among the metrics the runs report ({reported}; run "
                            f"{claim.cell}); name one of those (the finished runs are kept)"
                        )
    except BaseException:
        executor.stop()
        store.release(token)
        raise
    finally:
        heartbeat.halt.set()
        store.retire_token(token)
        executor.close()
        store.checkpoint()  # finished or interrupted: the store file alone now holds every finished run
    return store.counts(name)
