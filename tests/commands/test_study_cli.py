"""`seedwise study run|status`, `seedwise report`, `seedwise compare`: results and one-line errors."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from seedwise.cli import main
from seedwise.study import Store

HERE = Path(__file__).parent


@pytest.fixture
def train_file(tmp_path) -> str:
    shutil.copy(HERE.parent / "study" / "study_fns.py", tmp_path / "train.py")
    return str(tmp_path / "train.py")


def _one_line_error(capsys, code: int, match: str) -> None:
    out = capsys.readouterr()
    assert code == 2
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.err, out.err
    assert match in lines[0], lines[0]


def test_run_status_report_compare(tmp_path, train_file, capsys):
    store = str(tmp_path / "runs.sqlite")
    # 6 seeds: with 5 pairs no exact paired test reaches p < 0.05 (the sign test's smallest p is 0.0625)
    common = ["--sources", "init,data_order", "--design", "all", "--seeds", "6", "--store", store, "--workers", "0"]
    assert main(["study", "run", f"{train_file}:synthetic", "--name", "a", *common, "--config", "offset=2.5"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps lines
    assert "6 done" in out and "score" in out
    assert main(["study", "run", f"{train_file}:synthetic", "--name", "b", *common, "--no-progress"]) == 0
    with Store(store) as s:
        assert s.design("a")["config"] == {"offset": 2.5}
        assert s.counts("b")["done"] == 6
    capsys.readouterr()
    assert main(["study", "status", store]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "a" in out and "b" in out and "all: init,data_order x 6" in out
    assert main(["report", store, "--out", str(tmp_path / "rep"), "--study", "a"]) == 0
    assert (tmp_path / "rep" / "report.html").is_file() and (tmp_path / "rep" / "a-score-distribution.png").is_file()
    capsys.readouterr()
    assert main(["compare", store, "a", "b", "--metric", "score", "--out", str(tmp_path / "cmp")]) == 0  # A better
    out = " ".join(capsys.readouterr().out.split())
    assert "paired" in out and "A is better" in out and "A = a, B = b" in out
    assert (tmp_path / "cmp" / "compare.html").is_file()
    assert main(["compare", store, "b", "b", "--metric", "score"]) == 1  # no difference: a negative answer
    capsys.readouterr()
    # the same runs read as a loss: now B is the better study
    assert main(["compare", store, "a", "b", "--metric", "score", "--lower-is-better"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "B is better" in out and "lower is better" in out


def test_failed_runs_give_exit_code_1(tmp_path, train_file, capsys):
    store = str(tmp_path / "runs.sqlite")
    code = main(["study", "run", f"{train_file}:flaky", "--name", "f", "--sources", "init", "--design", "all",
                 "--seeds", "6", "--store", store, "--workers", "0"])  # fmt: skip
    assert code == 1
    out = capsys.readouterr().out
    assert "failed" in out
    assert "RuntimeError: diverged: loss is NaN" in out  # the first failure's reason, not only a count


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["study", "run", "{train}:nope", "--name", "x"], "no function 'nope'"),
        (["study", "run", "missing.py:train", "--name", "x"], "does not exist"),
        (["study", "run", "{tmp}/broken.py:train", "--name", "x"], "SyntaxError"),
        (["study", "run", "{tmp}/raising.py:train", "--name", "x"], "RuntimeError: at import"),
        (
            ["study", "run", "{train}:synthetic", "--name", "x", "--design", "grid"],
            "'one-at-a-time', 'all', 'factorial'",
        ),
        (["study", "run", "{train}:synthetic", "--name", "x", "--sources", "init,init"], "repeat"),
        (["study", "run", "{train}:synthetic", "--name", "x", "--backend", "mpi"], "'local', 'ray'"),
        (["study", "run", "{train}:synthetic", "--name", "x", "--config", "novalue"], "KEY=VALUE"),
        (["study", "status", "{tmp}/missing.sqlite"], "does not exist"),
        (["study", "status", "{tmp}/notes.sqlite"], "not a SQLite database"),
        (["report", "{tmp}/missing.sqlite", "--out", "{tmp}/o"], "does not exist"),
        (["compare", "{tmp}/other.sqlite", "a", "b"], "not a seedwise study store"),
    ],
)
def test_bad_usage_is_one_line_exit_2(tmp_path, train_file, capsys, monkeypatch, args, match):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.sqlite").write_text("not a database")
    (tmp_path / "broken.py").write_text("def train(:\n")
    (tmp_path / "raising.py").write_text("raise RuntimeError('at import')\n")
    conn = sqlite3.connect(tmp_path / "other.sqlite")
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    args = [a.format(train=train_file, tmp=tmp_path) for a in args]
    if args[:2] == ["study", "run"]:
        args += ["--store", str(tmp_path / "runs.sqlite"), "--workers", "0"]
    _one_line_error(capsys, main(args), match)
    if "--backend" in args or "--design" in args:
        assert not (tmp_path / "runs.sqlite").exists()  # rejected before the store was created


def test_repeated_config_flags_add_up(tmp_path, train_file):
    store = str(tmp_path / "runs.sqlite")
    code = main(["study", "run", f"{train_file}:synthetic", "--name", "c", "--sources", "init", "--design", "all",
                 "--seeds", "2", "--store", store, "--workers", "0", "--no-progress",
                 "--config", "offset=2.5", "--config", "tag=x"])  # fmt: skip
    assert code == 0
    with Store(store) as s:
        assert s.design("c")["config"] == {"offset": 2.5, "tag": "x"}  # the first --config is not dropped
