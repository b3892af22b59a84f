"""What a study store file must be: its schema, and the checks made before anything changes.

Opening checks the file read-only first: a file that is not SQLite, a SQLite database
without the tables of a study store, a newer schema or a damaged database raise
:class:`~seedwise.errors.StoreError`, and the file is left byte for byte as it was.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from seedwise.errors import InvalidArgumentError, StoreError

__all__ = ["SCHEMA_VERSION", "STATUSES", "SCHEMA", "EXTRA_SCHEMA", "inspect", "tables", "existing_store"]

SCHEMA_VERSION = 1
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
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=60.0)
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
