"""The study store: every run of every study in one SQLite file.

SQLite in WAL mode, one transaction per state change, nothing pickled (JSON columns).

Tables:

* ``meta(key, value)``: ``schema_version``;
* ``studies(name, design, fingerprint, created)``: the design as JSON (the study's
  identity) and the :func:`seedwise.fingerprint` of the process that created it;
* ``runs``: one row per design cell: the cell key and its parts, the seeds and config
  as JSON, ``status`` (pending / running / done / failed), metrics and curves as JSON,
  started / finished / duration, the worker's fingerprint, the error text of a failed
  run, the number of attempts, and the claim (owner host, pid, token, lease);
* ``run_logs(study, cell, stdout, stderr)``: the end of each command run's output (size-capped);
* ``study_info(study, info)``: what the study runs (its function or commands) and the
  metric it names, as JSON; not part of its identity.

The last two tables are created when first needed, so stores written before them open
and read as they are.

Claiming (why a run is written exactly once, even with two runners on one store):
a runner claims a pending run with ``UPDATE ... WHERE status = 'pending'`` inside a
``BEGIN IMMEDIATE`` transaction (SQLite's write lock makes select-then-update atomic),
renews the lease of the runs it holds every few seconds, and finishes a run with
``UPDATE ... WHERE status = 'running' AND owner_token = ?``, so a runner that lost its
claim cannot overwrite anything. A ``running`` row is *stale*, and goes back to
``pending``, when its lease has expired, or when its owner ran on this host and its
process is gone (a SIGKILLed runner is noticed at once). A run whose runner died
:data:`MAX_ATTEMPTS` times is marked failed instead (it probably kills its runner).

Opening checks the file before changing anything (:mod:`~seedwise.study.store_file`).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seedwise.errors import StoreError
from seedwise.study.store_file import EXTRA_SCHEMA, SCHEMA_VERSION, STATUSES, StoreFile, existing_store

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.study.design import Design

__all__ = ["Store", "StoreLike", "Claim", "open_store", "existing_store", "SCHEMA_VERSION", "STATUSES", "StoreFile"]

#: Seconds a claim stays valid without a heartbeat (runners renew it every LEASE_S / 4).
LEASE_S = 120.0
#: A run whose runner died this many times is marked failed rather than retried.
MAX_ATTEMPTS = 3
#: Seconds writes wait for another process's lock while a runner works through a study.
RUN_BUSY_TIMEOUT_S = 60.0
#: Tokens of the runners alive in this process (a row owned by this pid with another token is stale).
_LIVE_TOKENS: set[str] = set()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Claim:
    """A run this runner has claimed: what a worker needs to execute it."""

    rowid: int
    cell: str
    seeds: str
    config: dict[str, Any]
    attempt: int
    arm: str | None = None
    index: int = 0


class Store(StoreFile):
    """A SQLite file (or an in-memory database, ``path=None``) holding studies and their runs.

    Thread-safe: one connection guarded by a lock (the runner's heartbeat thread shares it).
    """

    def __init__(self, path: str | os.PathLike[str] | None):
        self.host = socket.gethostname()
        super().__init__(path)

    def __repr__(self) -> str:
        return f"Store({str(self.path) if self.path else None!r}, studies={self.studies()})"

    # -- studies --------------------------------------------------------------------

    def studies(self) -> list[str]:
        """Names of the studies in the store, oldest first."""
        return [r[0] for r in self._read("SELECT name FROM studies ORDER BY created, name")]

    def design(self, name: str) -> dict[str, Any]:
        """The stored design of study ``name`` (its JSON, decoded)."""
        rows = self._read("SELECT design FROM studies WHERE name = ?", (name,))
        if not rows:
            known = ", ".join(repr(s) for s in self.studies()) or "none"
            raise StoreError(f"no study named {name!r} in {self.path or 'the in-memory store'} (studies: {known})")
        design: dict[str, Any] = self._decode(rows[0][0], f"the design of study {name!r}")
        return design

    def fingerprint(self, name: str) -> dict[str, Any]:
        rows = self._read("SELECT fingerprint FROM studies WHERE name = ?", (name,))
        fingerprint: dict[str, Any] = self._decode(rows[0][0], f"the fingerprint of study {name!r}") if rows else {}
        return fingerprint

    def register(self, name: str, design: Design, fingerprint: Mapping[str, Any]) -> bool:
        """Add study ``name`` with all its runs pending; True if new, False if already there.

        Reusing a name with a different design raises :class:`StoreError` and changes nothing.
        """
        wanted = design.to_dict()
        with self._write() as conn:
            row = conn.execute("SELECT design FROM studies WHERE name = ?", (name,)).fetchone()
            if row is not None:
                stored = self._decode(row[0], f"the design of study {name!r}")
                if stored != wanted:
                    diff = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
                    raise StoreError(
                        f"a study named {name!r} with a different design is already in "
                        f"{self.path or 'the store'} (differs in: {', '.join(diff)}); choose another name or store"
                    )
                return False
            conn.execute(
                "INSERT INTO studies (name, design, fingerprint, created) VALUES (?, ?, ?, ?)",
                (
                    name,
                    json.dumps(wanted, sort_keys=True),
                    json.dumps(fingerprint, sort_keys=True, default=str),
                    time.time(),
                ),
            )
            conn.executemany(
                "INSERT INTO runs (study, cell, ordinal, grp, level, levels, arm, seeds, config, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                [
                    (
                        name,
                        cell.key,
                        i,
                        cell.group,
                        cell.level,
                        json.dumps(dict(cell.levels)),
                        cell.arm,
                        cell.seeds.to_json(),
                        json.dumps(dict(cell.config), sort_keys=True),
                    )
                    for i, cell in enumerate(design.cells())
                ],
            )
        return True

    # -- claims ---------------------------------------------------------------------

    def new_token(self) -> str:
        """A fresh runner identity, registered as alive in this process."""
        token = uuid.uuid4().hex
        _LIVE_TOKENS.add(token)
        return token

    def retire_token(self, token: str) -> None:
        _LIVE_TOKENS.discard(token)

    def claim(self, name: str, token: str) -> Claim | None:
        """Atomically take the next pending run of ``name`` for runner ``token`` (None: none left)."""
        now = time.time()
        with self._write() as conn:
            row = conn.execute(
                "SELECT rowid, cell, seeds, config, attempts, arm, ordinal FROM runs "
                "WHERE study = ? AND status = 'pending' ORDER BY ordinal LIMIT 1",
                (name,),
            ).fetchone()
            if row is None:
                return None
            changed = conn.execute(
                "UPDATE runs SET status = 'running', owner_host = ?, owner_pid = ?, owner_token = ?, "
                "lease_until = ?, started = ?, attempts = attempts + 1 WHERE rowid = ? AND status = 'pending'",
                (self.host, os.getpid(), token, now + LEASE_S, now, row[0]),
            ).rowcount
            if changed != 1:  # pragma: no cover - impossible under the write lock
                return None
        config = self._decode(row[3], f"the config of run {row[1]} of study {name!r}")
        return Claim(row[0], row[1], row[2], config, row[4] + 1, row[5], row[6])

    def heartbeat(self, token: str) -> None:
        """Renew the lease of every run runner ``token`` holds."""
        with self._lock:
            self._conn.execute(
                "UPDATE runs SET lease_until = ? WHERE owner_token = ? AND status = 'running'",
                (time.time() + LEASE_S, token),
            )

    def finish(self, claim: Claim, token: str, outcome: Mapping[str, Any]) -> bool:
        """Record the outcome of a claimed run; False if this runner no longer holds it."""
        status = outcome["status"]
        if status not in ("done", "failed"):  # pragma: no cover - runner bug
            raise ValueError(f"finish() takes a done or failed outcome, got {status!r}")
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE runs SET status = ?, metrics = ?, curves = ?, finished = ?, duration = ?, worker = ?, "
                "error = ?, owner_host = NULL, owner_pid = NULL, owner_token = NULL, lease_until = NULL "
                "WHERE rowid = ? AND status = 'running' AND owner_token = ?",
                (
                    status,
                    json.dumps(outcome.get("metrics")) if outcome.get("metrics") is not None else None,
                    json.dumps(outcome.get("curves")) if outcome.get("curves") else None,
                    time.time(),
                    outcome.get("duration"),
                    json.dumps(outcome.get("worker"), sort_keys=True, default=str) if outcome.get("worker") else None,
                    outcome.get("error"),
                    claim.rowid,
                    token,
                ),
            ).rowcount
            if changed == 1 and (outcome.get("stdout") is not None or outcome.get("stderr") is not None):
                self._create_extras(conn)
                conn.execute(
                    "INSERT OR REPLACE INTO run_logs (study, cell, stdout, stderr) "
                    "SELECT study, cell, ?, ? FROM runs WHERE rowid = ?",
                    (outcome.get("stdout"), outcome.get("stderr"), claim.rowid),
                )
        return changed == 1

    def release(self, token: str, rowids: list[int] | None = None) -> int:
        """Put runs held by ``token`` back to pending (an interrupted attempt does not count)."""
        with self._write() as conn:
            sql = (
                "UPDATE runs SET status = 'pending', owner_host = NULL, owner_pid = NULL, owner_token = NULL, "
                "lease_until = NULL, started = NULL, attempts = MAX(attempts - 1, 0) "
                "WHERE owner_token = ? AND status = 'running'"
            )
            if rowids is None:
                return conn.execute(sql, (token,)).rowcount
            return sum(conn.execute(sql + " AND rowid = ?", (token, r)).rowcount for r in rowids)

    def requeue(self, claim: Claim, token: str) -> bool:
        """Put a claimed run whose worker died back to pending (the attempt still counts)."""
        with self._write() as conn:
            return (
                conn.execute(
                    "UPDATE runs SET status = 'pending', owner_host = NULL, owner_pid = NULL, owner_token = NULL, "
                    "lease_until = NULL, started = NULL WHERE rowid = ? AND owner_token = ? AND status = 'running'",
                    (claim.rowid, token),
                ).rowcount
                == 1
            )

    def reclaim_stale(self, name: str) -> int:
        """Send runs of ``name`` whose runner is gone back to pending; return how many."""
        now = time.time()
        me = os.getpid()
        count = 0
        with self._write() as conn:
            rows = conn.execute(
                "SELECT rowid, owner_host, owner_pid, owner_token, lease_until, attempts FROM runs "
                "WHERE study = ? AND status = 'running'",
                (name,),
            ).fetchall()
            for rowid, host, pid, token, lease, attempts in rows:
                if lease is not None and lease >= now:
                    if host != self.host or pid is None:
                        continue
                    if pid == me:
                        if token in _LIVE_TOKENS:
                            continue
                    elif _pid_alive(pid):
                        continue
                if attempts >= MAX_ATTEMPTS:
                    conn.execute(
                        "UPDATE runs SET status = 'failed', finished = ?, owner_host = NULL, owner_pid = NULL, "
                        "owner_token = NULL, lease_until = NULL, error = ? WHERE rowid = ?",
                        (
                            now,
                            f"the runner died {attempts} times while running this run (killed, out of memory?)",
                            rowid,
                        ),
                    )
                else:
                    conn.execute(
                        "UPDATE runs SET status = 'pending', owner_host = NULL, owner_pid = NULL, owner_token = NULL, "
                        "lease_until = NULL, started = NULL WHERE rowid = ?",
                        (rowid,),
                    )
                count += 1
        return count

    def reset_failed(self, name: str) -> int:
        """Send the failed runs of ``name`` back to pending (to retry them); return how many."""
        with self._write() as conn:
            return conn.execute(
                "UPDATE runs SET status = 'pending', error = NULL, metrics = NULL, curves = NULL, attempts = 0 "
                "WHERE study = ? AND status = 'failed'",
                (name,),
            ).rowcount

    # -- what a study runs, its metric, its logs ---------------------------------------

    @staticmethod
    def _create_extras(conn: sqlite3.Connection) -> None:
        for statement in EXTRA_SCHEMA:
            conn.execute(statement)

    def _has_table(self, table: str) -> bool:
        return bool(self._read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)))

    def info(self, name: str) -> dict[str, Any]:
        """What study ``name`` runs and the metric it names (``{}`` for a study recorded without them)."""
        if not self._has_table("study_info"):
            return {}
        rows = self._read("SELECT info FROM study_info WHERE study = ?", (name,))
        if not rows:
            return {}
        info: dict[str, Any] = self._decode(rows[0][0], f"the description of study {name!r}")
        return info

    def set_info(self, name: str, info: Mapping[str, Any]) -> None:
        """Record what study ``name`` runs and its metric (replacing what was recorded)."""
        with self._write() as conn:
            self._create_extras(conn)
            conn.execute(
                "INSERT OR REPLACE INTO study_info (study, info) VALUES (?, ?)",
                (name, json.dumps(dict(info), sort_keys=True)),
            )

    def logs(self, name: str, cell: str) -> dict[str, str | None]:
        """The end of the stdout and stderr of run ``cell`` of study ``name`` (None when not kept)."""
        if not self._has_table("run_logs"):
            return {"stdout": None, "stderr": None}
        rows = self._read("SELECT stdout, stderr FROM run_logs WHERE study = ? AND cell = ?", (name, cell))
        return {"stdout": rows[0][0], "stderr": rows[0][1]} if rows else {"stdout": None, "stderr": None}

    # -- reading runs ---------------------------------------------------------------

    def counts(self, name: str) -> dict[str, int]:
        """Number of runs of ``name`` in each status."""
        out = dict.fromkeys(STATUSES, 0)
        for status, n in self._read("SELECT status, COUNT(*) FROM runs WHERE study = ? GROUP BY status", (name,)):
            out[status] = n
        return out

    def runs(self, name: str) -> list[dict[str, Any]]:
        """Every run of ``name`` in design order, JSON columns decoded."""
        self.design(name)  # a clear error for an unknown study
        columns = (
            "cell", "grp", "level", "levels", "arm", "seeds", "config", "status", "metrics", "curves",
            "started", "finished", "duration", "worker", "error", "attempts",
        )  # fmt: skip
        rows = self._read(f"SELECT {', '.join(columns)} FROM runs WHERE study = ? ORDER BY ordinal", (name,))
        out = []
        for row in rows:
            record = dict(zip(columns, row))
            for key in ("levels", "config", "metrics", "curves", "worker"):
                if record[key] is not None:
                    record[key] = self._decode(record[key], f"the {key} of run {record['cell']} of study {name!r}")
            record["group"] = record.pop("grp")
            out.append(record)
        return out


StoreLike = str | os.PathLike[str] | Store | None


def open_store(store: StoreLike) -> Store:
    """A :class:`Store` from a path, ``None`` (in memory) or an open store."""
    if isinstance(store, Store):
        return store
    return Store(store)
