"""A store that cannot be used says why, in one line, and changes nothing (issue 18, items 8, 9, 12)."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import study_fns

from seedwise.cli import main
from seedwise.errors import InvalidArgumentError, StoreError
from seedwise.study import Store, Study, load_results


def _study(store, name: str = "s") -> Study:
    return Study(study_fns.synthetic, name=name, sources=("init",), design="all", n_seeds=2, store=store)


def _one_line_error(capsys, code: int, *matches: str) -> str:
    out = capsys.readouterr()
    assert code == 2, out
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.err, out.err
    for match in matches:
        assert match in lines[0], lines[0]
    return lines[0]


def _sidecars(store: Path) -> list[str]:
    return sorted(p.name for p in store.parent.iterdir() if p.name.startswith(store.name + "-"))


@contextlib.contextmanager
def _read_only(folder: Path):
    """The folder and its files read-only: by permissions, or (as root, whom permissions do not stop) immutable."""
    files = [folder, *folder.iterdir()]
    if os.geteuid() != 0:
        for f in files:
            f.chmod(0o555 if f.is_dir() else 0o444)
        undo = lambda: [f.chmod(0o755 if f.is_dir() else 0o644) for f in files]  # noqa: E731
    else:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", *map(str, files)], capture_output=True).returncode:
            pytest.skip("running as root on a file system without chattr +i: cannot make a file read-only")
        undo = lambda: subprocess.run([chattr, "-i", *map(str, files)], check=True)  # noqa: E731
    try:
        yield
    finally:
        undo()


@pytest.fixture
def finished_store(tmp_path) -> Path:
    folder = tmp_path / "ro"
    folder.mkdir()
    store = folder / "runs.sqlite"
    study = _study(store)
    study.run(workers=0, progress=False)
    study.store.close()
    assert _sidecars(store) == []
    return store


def test_read_only_store_is_a_store_error_and_changes_nothing(finished_store, capsys):
    before = finished_store.read_bytes()
    with _read_only(finished_store.parent):
        with pytest.raises(StoreError, match=rf"cannot write the study store {finished_store}: it is read-only"):
            _study(finished_store, "another")
        args = ["study", "run", f"{study_fns.__file__}:synthetic", "--name", "other", "--store", str(finished_store)]
        _one_line_error(capsys, main([*args, "--workers", "0"]), "read-only", str(finished_store))
        # reading still works, and leaves nothing beside the store
        assert main(["study", "status", str(finished_store)]) == 0
        assert load_results(finished_store, "s").counts()["done"] == 2
    assert finished_store.read_bytes() == before
    assert _sidecars(finished_store) == []


def test_locked_store_is_a_store_error_after_a_short_wait(finished_store, capsys):
    holder = sqlite3.connect(finished_store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        start = time.monotonic()
        with pytest.raises(StoreError, match="another process holds its write lock"):
            _study(finished_store, "another")
        assert time.monotonic() - start < 30  # seconds, not the minute it used to wait
        _one_line_error(capsys, main(["study", "run", f"{study_fns.__file__}:synthetic", "--name", "other",
                                      "--store", str(finished_store), "--workers", "0"]), "write lock")  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Store(finished_store) as store:
        assert store.studies() == ["s"]  # nothing changed


def test_damaged_metrics_name_the_store_and_the_run(finished_store, capsys, tmp_path):
    with sqlite3.connect(finished_store) as conn:
        conn.execute("UPDATE runs SET metrics = '{\"score\": ' WHERE cell = 'all/1'")
    conn.close()
    with pytest.raises(StoreError, match=rf"{finished_store} is damaged: the metrics of run all/1 of study 's'"):
        load_results(finished_store, "s").table()
    for args in (["report", str(finished_store), "--out", str(tmp_path / "r")],
                 ["compare", str(finished_store), "s", "s"],
                 ["study", "status", str(finished_store)],
                 ["study", "run", f"{study_fns.__file__}:synthetic", "--name", "s", "--sources", "init", "--design",
                  "all", "--seeds", "2", "--store", str(finished_store), "--workers", "0"]):  # fmt: skip
        _one_line_error(capsys, main(args), "damaged", "all/1", str(finished_store))


def test_a_directory_is_named_a_directory(tmp_path, capsys):
    for args in (["study", "status", str(tmp_path)], ["report", str(tmp_path), "--out", str(tmp_path / "r")],
                 ["compare", str(tmp_path), "a", "b"]):  # fmt: skip
        _one_line_error(capsys, main(args), "is a directory")
    with pytest.raises(StoreError, match="is a directory"):
        _study(tmp_path)
    with pytest.raises(InvalidArgumentError, match="is a directory"):
        load_results(tmp_path, "s")


def test_a_rejected_store_leaves_no_wal_files(tmp_path):
    other = tmp_path / "other.sqlite"
    with contextlib.closing(sqlite3.connect(other)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
    assert _sidecars(other) == []
    with pytest.raises(StoreError, match="not a seedwise study store"):
        _study(other)
    store = tmp_path / "runs.sqlite"
    _study(store).store.close()
    with pytest.raises(StoreError, match="different design"):
        Study(study_fns.synthetic, name="s", sources=("init",), design="all", n_seeds=3, store=store)
    assert _sidecars(other) == [] and _sidecars(store) == []


def test_a_finished_study_is_checkpointed_and_a_backup_is_complete(tmp_path):
    store = tmp_path / "runs.sqlite"
    study = _study(store)
    study.run(workers=0, progress=False)
    # the study still holds the store open; the file alone (copied without its WAL) has every run
    shutil.copy(store, tmp_path / "copy.sqlite")
    assert load_results(tmp_path / "copy.sqlite", "s").counts()["done"] == 2
    study.store.backup(tmp_path / "backup.sqlite")
    assert load_results(tmp_path / "backup.sqlite", "s").counts()["done"] == 2
    with pytest.raises(InvalidArgumentError, match="exists already"):
        study.store.backup(tmp_path / "backup.sqlite")


def test_backup_from_the_command_line(finished_store, tmp_path, capsys):
    assert main(["study", "backup", str(finished_store), str(tmp_path / "copy.sqlite")]) == 0
    assert load_results(tmp_path / "copy.sqlite", "s").counts()["done"] == 2
    _one_line_error(capsys, main(["study", "backup", str(finished_store), str(tmp_path / "copy.sqlite")]), "exists")
