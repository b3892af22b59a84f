"""A study runner started as a separate process, for the tests that stop it (Ctrl-C, kill -9).

The runner writes its stderr to a file (``proc.err_file``), not a pipe: a pipe would also
wait for any process the runner left behind.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from seedwise.study.store import Store


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    """Wait for the runner (killing it after ``timeout`` seconds); return its stderr."""
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.err_file.seek(0)
        err = proc.err_file.read()
        proc.err_file.close()
    return err


def wait_done(store: Path, at_least: int, proc: subprocess.Popen, study: str = "st", timeout: float = 120) -> None:
    """Return once ``study`` in ``store`` has ``at_least`` finished runs; fail if the runner exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.exists() and store.stat().st_size:
            with Store(store) as s:
                if study in s.studies() and s.counts(study)["done"] >= at_least:
                    return
        assert proc.poll() is None, finish(proc)
        time.sleep(0.1)
    raise AssertionError("the runner did not get far enough in time")
