"""Launch one command as a process: capped logs, a timeout, and no orphan left behind.

The command runs in its own session (process group), so a timeout or an interrupted
study stops it *and* everything it started. On Linux it is also killed by the kernel
if the process that launched it dies (``PR_SET_PDEATHSIG``), so a ``kill -9`` of the
runner leaves no command writing into a run's output directory while a rerun starts it
again. The death signal is set by ``setpriv --pdeathsig KILL`` (util-linux) in front of
the command where it is available, else in the child before ``exec`` (a ``preexec_fn``,
which makes Python fork instead of vfork: 20 ms or more per run from a large process).
stdout and stderr are read by two threads into buffers that keep the last ``log_limit``
bytes each (a noisy script cannot fill the memory or the disk).
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

__all__ = ["Finished", "launch", "kill_all", "watch_driver"]

#: Seconds a command is given to exit after SIGTERM (timeout, Ctrl-C) before SIGKILL.
GRACE_S = 3.0
_POLL_S = 0.25
_READ = 1 << 16

_active: set[subprocess.Popen[bytes]] = set()
_active_lock = threading.Lock()
_driver_pid: int | None = None


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        return None
    return fn


_PRCTL = _prctl()  # resolved here: the child only calls it
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> Callable[[], None]:
    def preexec() -> None:  # runs in the child between fork and exec: no imports, no locks
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


@functools.lru_cache(maxsize=1)
def _setpriv() -> str | None:
    """``setpriv`` if it can set the death signal (util-linux >= 2.33), else None."""
    if not sys.platform.startswith("linux"):
        return None
    path = shutil.which("setpriv")
    if path is None:
        return None
    try:
        ok = subprocess.run([path, "--pdeathsig", "KILL", "--", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if ok.returncode == 0 else None


def _spawn_options(argv: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """The argument list and Popen options that give the command the kernel's death signal."""
    setpriv = _setpriv()
    if setpriv is not None:
        return [setpriv, "--pdeathsig", "KILL", "--", *argv], {}
    if _PRCTL is not None:
        return list(argv), {"preexec_fn": _die_with_parent(os.getpid())}
    return list(argv), {}


def watch_driver(pid: int | None) -> None:
    """Stop the command and exit this process when the process ``pid`` (the study's runner) is gone."""
    global _driver_pid
    _driver_pid = pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # pragma: no cover - alive, another user's
        return True
    return True


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all() -> None:
    """SIGKILL every command this process started and has not reaped (the worker is going away)."""
    with _active_lock:
        procs = list(_active)
    for proc in procs:
        _signal_group(proc, signal.SIGKILL)


class _Tail:
    """Reads a pipe to the end, keeping its last ``limit`` bytes and counting the bytes dropped."""

    def __init__(self, pipe: IO[bytes], limit: int):
        self.pipe, self.limit = pipe, limit
        self.chunks: deque[bytes] = deque()
        self.size = self.dropped = 0
        self.thread = threading.Thread(target=self._read, name="seedwise-log", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        fd = self.pipe.fileno()
        while chunk := os.read(fd, _READ):
            self.chunks.append(chunk)
            self.size += len(chunk)
            while self.size - len(self.chunks[0]) >= self.limit:
                first = self.chunks.popleft()
                self.size -= len(first)
                self.dropped += len(first)

    def text(self) -> str:
        data = b"".join(self.chunks)
        if len(data) > self.limit:
            self.dropped += len(data) - self.limit
            data = data[-self.limit :]
        out = data.decode("utf-8", errors="replace")
        return f"[seedwise: {self.dropped} earlier bytes dropped]\n{out}" if self.dropped else out


@dataclass(frozen=True)
class Finished:
    """How a command ended: its exit status (negative: killed by that signal), its logs, whether it timed out."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    duration: float


def launch(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: str | None, timeout: float | None, log_limit: int
) -> Finished:
    """Run ``argv`` to its end (or its timeout) and return how it ended.

    Raises ``OSError`` when the program cannot be started. A ``KeyboardInterrupt`` (or
    any exception) while it runs stops the command's process group first.
    """
    start = time.monotonic()
    args, options = _spawn_options(argv)
    proc = subprocess.Popen(
        args, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True, **options,
    )  # fmt: skip
    with _active_lock:
        _active.add(proc)
    assert proc.stdout is not None and proc.stderr is not None  # PIPE given above
    out, err = _Tail(proc.stdout, log_limit), _Tail(proc.stderr, log_limit)
    exited = threading.Event()
    threading.Thread(target=_await_exit, args=(proc.pid, exited), name="seedwise-wait", daemon=True).start()
    timed_out = False
    try:
        while not exited.wait(_POLL_S):
            if _driver_pid is not None and not _alive(_driver_pid):
                _signal_group(proc, signal.SIGKILL)
                os._exit(1)  # the runner is gone: nobody will read this run's outcome
            if timeout is not None and time.monotonic() - start > timeout:
                timed_out = True
                _stop(proc, exited)
                break
    except BaseException:
        _stop(proc, exited)
        raise
    finally:
        with _active_lock:
            _active.discard(proc)
        if exited.is_set():  # what the command left running in its session (the leader is not reaped yet)
            _signal_group(proc, signal.SIGKILL)
        for tail in (out, err):
            tail.thread.join(timeout=5)
            tail.pipe.close()
    return Finished(proc.wait(), out.text(), err.text(), timed_out, time.monotonic() - start)


def _await_exit(pid: int, exited: threading.Event) -> None:
    """Set ``exited`` when the process ends, without reaping it: until it is reaped, its process
    group id cannot be reused, so signalling the group never reaches an unrelated process."""
    while True:
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        except InterruptedError:  # pragma: no cover - retried by Python already
            continue
        except ChildProcessError:  # already reaped
            pass
        break
    exited.set()


def _stop(proc: subprocess.Popen[bytes], exited: threading.Event) -> None:
    _signal_group(proc, signal.SIGTERM)
    if not exited.wait(GRACE_S):
        _signal_group(proc, signal.SIGKILL)
        exited.wait()
