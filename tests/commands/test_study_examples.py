"""The worked examples of docs/study.md, run as the docs show them (fewer runs and epochs: each run is a process)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from seedwise.cli import main
from seedwise.study import Store

EXAMPLES = Path(__file__).parent.parent.parent / "examples"

pytestmark = pytest.mark.slow


def test_an_unmodified_seed_script_and_a_from_env_script(tmp_path, capsys):
    store = str(tmp_path / "runs.sqlite")
    seed_script = [sys.executable, str(EXAMPLES / "study_seed_script.py"), "--seed", "{seed}", "--epochs", "1"]
    assert main(["study", "run", "--name", "seed-script", "--design", "all", "--seeds", "2", "--store", store,
                 "--workers", "2", "--no-progress", "--", *seed_script]) == 0  # fmt: skip
    from_env = [sys.executable, str(EXAMPLES / "study_from_env.py"), "--epochs", "1"]
    assert main(["study", "run", "--name", "from-env", "--sources", "init,dropout", "--design", "all", "--seeds",
                 "2", "--store", store, "--metric", "accuracy", "--workers", "2", "--no-progress", "--",
                 *from_env]) == 0  # fmt: skip
    out = " ".join(capsys.readouterr().out.split())
    assert "metric shown: accuracy (named by the study)" in out
    assert main(["study", "status", store]) == 0
    assert main(["report", store, "--out", str(tmp_path / "report")]) == 0
    with Store(store) as s:
        seed_runs, env_runs = s.runs("seed-script"), s.runs("from-env")
    assert [r["status"] for r in seed_runs + env_runs] == ["done"] * 4
    assert all(0.5 < r["metrics"]["accuracy"] <= 1 for r in seed_runs + env_runs)
    assert len({r["metrics"]["accuracy"] for r in seed_runs}) == 2  # the seed matters
    assert all(r["curves"] and len(r["curves"]["loss"]["step"]) == 1 for r in env_runs)
