"""The study store as a SQLite file: its schema, the checks made before anything changes, a safe connection.

Opening checks the file read-only first: a file that is not SQLite, a SQLite database
without the tables of a study store, a newer schema or a damaged database raise
:class:`~seedwise.errors.StoreError`, and the file is left byte for byte as it was.

:class:`StoreFile` is the connection every :class:`~seedwise.study.store.Store` holds: WAL
mode, one transaction per write, and every write SQLite refuses (a read-only file, a lock
another process holds past :data:`BUSY_TIMEOUT_S`, a full disk) a one-line
:class:`~seedwise.errors.StoreError` naming the file and the cause, with nothing changed. A
damaged JSON column is a :class:`~seedwise.errors.StoreError` naming the run. A store
nobody can write is read as it is (SQLite's ``immutable`` mode), and a look at a file that
is then rejected leaves no WAL files beside it. A finished or interrupted study
is checkpointed (:meth:`StoreFile.checkpoint`), so the store file alone holds every run.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

from seedwise.errors import InvalidArgumentError, InvalidTypeError, StoreError

__all__ = [
    "SCHEMA_VERSION", "STATUSES", "SCHEMA", "EXTRA_SCHEMA", "BUSY_TIMEOUT_S", "StoreFile", "inspect", "tables",
    "existing_store",
]  # fmt: skip

SCHEMA_VERSION = 1
#: Seconds a write waits for another process's write lock before the store is reported locked.
BUSY_TIMEOUT_S = 5.0
_SIDECARS = ("-wal", "-shm")
STATUSES = ("pending", "running", "done", "failed")
_SQLITE_HEADER = b"SQLite format 3\x00"
TABLES = ("meta", "studies", "runs")
EXTRA_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS run_logs (study TEXT NOT NULL, cell TEXT NOT NULL, stdout TEXT, stderr TEXT, "
    "PRIMARY KEY (study, cell))",
    "CREATE TABLE IF NOT EXISTS study_info (study TEXT PRIMARY KEY, info TEXT NOT NULL)",
)

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE studies (
    name TEXT PRIMARY KEY,
    design TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE runs (
    study TEXT NOT NULL REFERENCES studies(name),
    cell TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    grp TEXT NOT NULL,
    level INTEGER NOT NULL,
    levels TEXT NOT NULL,
    arm TEXT,
    seeds TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    metrics TEXT,
    curves TEXT,
    started REAL,
    finished REAL,
    duration REAL,
    worker TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner_host TEXT,
    owner_pid INTEGER,
    owner_token TEXT,
    lease_until REAL,
    PRIMARY KEY (study, cell)
);
CREATE INDEX runs_by_status ON runs (study, status, ordinal);
"""


def _uri(path: Path, *, read_only: bool) -> str:
    """The SQLite URI to open ``path``: read-write, read-only, or for a store nobody can write, immutable.

    A WAL-mode store in a folder where its ``-shm`` file cannot be created opens only as
    ``immutable`` (SQLite then reads no WAL: used only when there is no WAL to read).
    """
    uri = f"file:{quote(str(path.resolve()))}"
    wal = Path(f"{path}-wal")
    unwritable = not os.access(path, os.W_OK) or not os.access(path.resolve().parent, os.W_OK)
    if unwritable and not (wal.exists() and wal.stat().st_size):
        return uri + "?mode=ro&immutable=1"
    return uri + ("?mode=ro" if read_only else "")


def _sidecar_paths(path: Path) -> list[Path]:
    return [Path(f"{path}{suffix}") for suffix in _SIDECARS]


def _let_sqlite_tidy(path: Path, created: list[Path]) -> None:
    """A read-only connection leaves the WAL files it created; a read-write one, closing last, removes them.

    SQLite removes them only when no other connection (of any process) has the database
    open, so this never pulls them from under another runner.
    """
    if not any(p.exists() for p in created) or not os.access(path, os.W_OK):
        return
    with closing(sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S)) as conn:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()


def tables(conn: sqlite3.Connection) -> set[str]:
    """The names of the tables in a database."""
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def inspect(path: Path) -> bool:
    """Check an existing file read-only; True when it is new or an empty database."""
    if path.is_dir():
        raise StoreError(f"the study store {path} is a directory; give a file path such as runs.sqlite")
    if not path.exists() or path.stat().st_size == 0:
        return True
    with open(path, "rb") as f:
        header = f.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        raise StoreError(
            f"{path} is not a seedwise study store (not a SQLite database); give a new file name "
            "or the store a study wrote"
        )
    created = [p for p in _sidecar_paths(path) if not p.exists()]
    try:
        conn = sqlite3.connect(_uri(path, read_only=True), uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise StoreError(f"the study store {path} is damaged (SQLite quick_check: {check})")
            present = tables(conn)
            if not present:
                return True
            missing = [t for t in TABLES if t not in present]
            if missing:
                raise StoreError(
                    f"{path} is a SQLite database but not a seedwise study store (no table(s) "
                    f"{', '.join(missing)}); give a new file name"
                )
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        finally:
            conn.close()
            _let_sqlite_tidy(path, created)  # a look at the file leaves nothing beside it
    except sqlite3.Error as exc:
        raise StoreError(f"the study store {path} is damaged or unreadable: {exc}") from None
    try:
        version = int(row[0]) if row else None
    except ValueError:
        version = None
    if version is None:
        raise StoreError(f"{path} has no valid schema_version; it was not written by seedwise")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer seedwise (store schema {version}, this one reads <= "
            f"{SCHEMA_VERSION}); upgrade seedwise to read it"
        )
    return False


def existing_store(path: str | os.PathLike[str]) -> str:
    """``path`` if it is an existing file; an :class:`InvalidArgumentError` that says what it is otherwise."""
    file = Path(path)
    if file.is_dir():
        raise InvalidArgumentError(
            f"the study store {os.fspath(path)!r} is a directory; give the store's file, e.g. {file / 'runs.sqlite'}"
        )
    if not file.is_file():
        raise InvalidArgumentError(f"the study store {os.fspath(path)!r} does not exist")
    return os.fspath(path)


class StoreFile:
    """A SQLite study store (``path``) or an in-memory one (``None``): the connection and its safe use.

    Thread-safe: one connection guarded by a lock (a runner's heartbeat thread shares it).
    """

    def __init__(self, path: str | os.PathLike[str] | None):
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise InvalidTypeError(f"store must be a file path or None (in memory), got {type(path).__name__}")
        self.path = None if path is None else Path(path)
        self._lock = threading.RLock()
        if self.path is None:
            self._conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            self._conn.executescript(SCHEMA)
            self._set_version()
            return
        fresh = inspect(self.path)
        uri = _uri(self.path, read_only=False) if self.path.exists() else f"file:{quote(str(self.path.resolve()))}"
        self._conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False
        )
        try:
            if "mode=ro" not in uri:  # a store nobody can write is read as it is
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            if fresh:
                with self._write():
                    if not tables(self._conn):  # another process may have created it meanwhile
                        for statement in SCHEMA.split(";"):
                            if statement.strip():
                                self._conn.execute(statement)
                        self._set_version()
        except (sqlite3.Error, StoreError) as exc:
            self.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot open the study store {self.path}: {exc}") from None

    # -- opening --------------------------------------------------------------------

    def _set_version(self) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    def _write_error(self, exc: sqlite3.Error) -> StoreError:
        """The :class:`StoreError` for a write SQLite refused: one line naming the file and the cause."""
        text = str(exc)
        if "readonly" in text or "read-only" in text:
            why = (
                f"it is read-only ({text}); check the permissions of the file and its folder, or copy the store "
                "to a writable place"
            )
        elif "locked" in text or "busy" in text:
            waited = self._conn.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
            why = (
                f"another process holds its write lock ({text} after {waited:g} s): another runner, or a tool "
                "with it open; wait for it to finish or close it"
            )
        else:
            why = text
        return StoreError(f"cannot write the study store {self.path or ':memory:'}: {why}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: takes the write lock up front).

        A write SQLite refuses (read-only file, a lock held by another process, a full disk)
        raises :class:`StoreError` and changes nothing.
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._write_error(exc) from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._write_error(exc) from None
                raise

    @contextmanager
    def busy_timeout(self, seconds: float) -> Iterator[None]:
        """Let writes wait up to ``seconds`` for another process's lock while in the block."""
        with self._lock:
            self._conn.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")
        try:
            yield
        finally:
            with self._lock:
                self._conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")

    def checkpoint(self) -> bool:
        """Move every finished write from ``STORE-wal`` into the store file; True when it all moved.

        After a checkpoint the store file alone holds every run (a copy of it is complete).
        Best effort: a reader or writer in another process may keep part of the WAL.
        """
        if self.path is None:
            return True
        with self._lock:
            try:
                busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error:
                return False
        return bool(busy == 0)

    def backup(self, dest: str | os.PathLike[str]) -> Path:
        """Copy the store, with every finished run (its WAL included), to ``dest``; return the path.

        Uses SQLite's online backup, so it is safe while a study runs.
        """
        target = Path(dest)
        if target.exists():
            raise InvalidArgumentError(f"backup target {os.fspath(dest)!r} exists already; give a new file name")
        with self._lock, closing(sqlite3.connect(str(target))) as copy:
            self._conn.backup(copy)
        return target

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cursor = self._conn.execute(sql, params)
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the study store {self.path or ':memory:'}: {exc}") from None

    def _decode(self, text: str, what: str) -> Any:
        """A JSON column, decoded; a damaged one is a :class:`StoreError` naming the store and what is damaged."""
        try:
            return json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise StoreError(
                f"the study store {self.path or ':memory:'} is damaged: {what} is not valid JSON ({exc}); restore "
                "the store from a backup, or start the study in a new store"
            ) from None

    def close(self) -> None:
        """Close the connection (SQLite removes the WAL files when the last connection to the store closes)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
