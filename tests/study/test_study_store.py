"""The SQLite store: schema, claims, leases, stale runs, and errors that touch nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from seedwise.errors import StoreError
from seedwise.study import Design, Store
from seedwise.study import store as store_module

DESIGN = Design.create(sources=("init", "data_order"), design="all", n_seeds=3)
OUTCOME = {"status": "done", "metrics": {"score": 1.5}, "duration": 0.01, "worker": {"host": "h"}}


def _make(path) -> Store:
    store = Store(path)
    store.register("s", DESIGN, {"python": "3"})
    return store


def test_new_store_has_schema_wal_and_pending_runs(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = _make(path)
    assert store.counts("s") == {"pending": 3, "running": 0, "done": 0, "failed": 0}
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        store_module.SCHEMA_VERSION
    )
    runs = conn.execute("SELECT cell, status, attempts, seeds FROM runs ORDER BY ordinal").fetchall()
    assert [r[:3] for r in runs] == [("all/0", "pending", 0), ("all/1", "pending", 0), ("all/2", "pending", 0)]
    assert json.loads(runs[0][3])["seedwise_seeds"] == 1
    conn.close()
    store.close()


def test_claim_finish_and_reopen(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = _make(path)
    token = store.new_token()
    claims = [store.claim("s", token) for _ in range(3)]
    assert [c.cell for c in claims] == ["all/0", "all/1", "all/2"]
    assert store.claim("s", token) is None
    assert store.counts("s")["running"] == 3
    assert store.finish(claims[0], token, OUTCOME)
    assert store.finish(claims[1], token, {"status": "failed", "error": "Traceback...\nRuntimeError: boom"})
    assert not store.finish(claims[1], token, OUTCOME)  # already finished: written once
    assert not store.finish(claims[2], "another-runner", OUTCOME)  # not the owner
    store.close()
    # Registering the same design again changes nothing.
    again = Store(path)
    assert again.register("s", DESIGN, {}) is False
    runs = {r["cell"]: r for r in again.runs("s")}
    assert runs["all/0"]["status"] == "done" and runs["all/0"]["metrics"] == {"score": 1.5}
    assert runs["all/0"]["worker"] == {"host": "h"} and runs["all/0"]["attempts"] == 1
    assert runs["all/1"]["status"] == "failed" and runs["all/1"]["error"].endswith("boom")
    assert runs["all/2"]["status"] == "running"
    assert again.studies() == ["s"] and again.design("s") == DESIGN.to_dict()
    again.close()


def test_release_puts_runs_back_without_counting_the_attempt():
    store = _make(None)
    token = store.new_token()
    claim = store.claim("s", token)
    assert store.release(token) == 1
    run = store.runs("s")[0]
    assert (run["cell"], run["status"], run["attempts"]) == (claim.cell, "pending", 0)


def test_run_of_a_dead_runner_is_reclaimed(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = _make(path)
    # A runner process claims a run and dies (SIGKILL) without finishing it.
    code = (
        "import sys, os, signal; from seedwise.study import Store; s = Store(sys.argv[1]); "
        "t = s.new_token(); print(s.claim('s', t).cell, flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "all/0"
    assert store.counts("s")["running"] == 1
    assert store.reclaim_stale("s") == 1
    assert store.counts("s") == {"pending": 3, "running": 0, "done": 0, "failed": 0}
    assert store.runs("s")[0]["attempts"] == 1  # the attempt that died still counts


def test_live_runner_keeps_its_runs_and_expired_lease_is_reclaimed(tmp_path, monkeypatch):
    store = _make(tmp_path / "runs.sqlite")
    token = store.new_token()
    store.claim("s", token)
    assert store.reclaim_stale("s") == 0  # this runner is alive
    # A runner on another host: only its lease can tell.
    with store._lock:
        store._conn.execute("UPDATE runs SET owner_host = 'elsewhere', owner_pid = 1 WHERE status = 'running'")
    assert store.reclaim_stale("s") == 0
    store.heartbeat(token)
    monkeypatch.setattr(store_module.time, "time", lambda: 1e12)  # far past any lease
    assert store.reclaim_stale("s") == 1


def test_run_that_kills_its_runner_repeatedly_is_failed():
    store = _make(None)
    for _ in range(store_module.MAX_ATTEMPTS):
        token = store.new_token()
        store.claim("s", token)
        store.retire_token(token)  # the runner "died"
        store.reclaim_stale("s")
    run = store.runs("s")[0]
    assert run["status"] == "failed" and "died 3 times" in run["error"]


def _bytes(path):
    return path.read_bytes()


def test_not_sqlite_is_an_error_and_untouched(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"these are my notes, not a database\n" * 10)
    before = _bytes(path)
    with pytest.raises(StoreError, match="not a SQLite database"):
        Store(path)
    assert _bytes(path) == before


def test_sqlite_without_our_tables_is_an_error_and_untouched(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    conn.execute("INSERT INTO customers VALUES (1, 'ada')")
    conn.commit()
    conn.close()
    before = _bytes(path)
    with pytest.raises(StoreError, match="not a seedwise study store"):
        Store(path)
    assert _bytes(path) == before
    assert sorted(os.listdir(tmp_path)) == ["other.sqlite"]


def test_newer_schema_is_an_error_and_untouched(tmp_path):
    path = tmp_path / "runs.sqlite"
    _make(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = _bytes(path)
    with pytest.raises(StoreError, match="newer seedwise"):
        Store(path)
    assert _bytes(path) == before


def test_corrupt_database_is_an_error_and_untouched(tmp_path):
    path = tmp_path / "runs.sqlite"
    _make(path).close()
    data = bytearray(_bytes(path))
    data[100:4096] = b"\xff" * (4096 - 100)  # smash the first page after the header
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError):
        Store(path)
    assert _bytes(path) == bytes(data)


def test_same_name_different_design_is_an_error_and_untouched(tmp_path):
    path = tmp_path / "runs.sqlite"
    _make(path).close()
    before = _bytes(path)
    store = Store(path)
    other = Design.create(sources=("init", "data_order"), design="all", n_seeds=4)
    with pytest.raises(StoreError, match="different design.*seeds"):
        store.register("s", other, {})
    assert store.counts("s")["pending"] == 3
    store.close()
    assert _bytes(path) == before


def test_unknown_study_and_directory_are_errors(tmp_path):
    store = _make(None)
    with pytest.raises(StoreError, match="no study named 'x'.*'s'"):
        store.runs("x")
    with pytest.raises(StoreError, match="directory"):
        Store(tmp_path)


def test_concurrent_claims_never_hand_out_a_run_twice(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = Store(path)
    store.register("big", Design.create(sources=("init",), design="all", n_seeds=60), {})
    code = (
        "import sys; from seedwise.study import Store; s = Store(sys.argv[1]); t = s.new_token(); out = []\n"
        "while (c := s.claim('big', t)) is not None: out.append(c.cell)\n"
        "print(' '.join(out))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    token = store.new_token()
    mine = []
    while (claim := store.claim("big", token)) is not None:
        mine.append(claim.cell)
        time.sleep(0.001)
    theirs = [p.communicate(timeout=120)[0].split() for p in procs]
    everything = mine + theirs[0] + theirs[1]
    assert sorted(everything) == sorted(f"all/{i}" for i in range(60))
    assert len(set(everything)) == 60
