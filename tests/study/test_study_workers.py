"""Workers: one thread per numeric library whatever the parent's settings, a per-run cleanup, bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import study_fns

from seedwise.study import Study

HERE = Path(__file__).parent


def _study(fn, n: int, **kwargs) -> Study:
    return Study(fn, name="w", sources=("init", "data_order"), design="all", n_seeds=n, store=None, **kwargs)


@pytest.mark.slow
def test_tensorflow_results_do_not_depend_on_the_parents_thread_settings(tmp_path):
    pytest.importorskip("tensorflow")
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(HERE)!r})
        import study_fns
        from seedwise.study import Study

        if __name__ == "__main__":
            study = Study(study_fns.tf_reductions, name="tf", sources=("init",), design="all", n_seeds=2, store=None)
            print(json.dumps({{r["cell"]: r["metrics"] for r in study.run(workers=1, progress=False).runs()}}))
    """)
    )
    outcomes = []
    for threads in ("1", "8"):  # a parent that asks for 8 threads (a bigger machine, or a user's setting)
        env = {**os.environ, "TF_NUM_INTRAOP_THREADS": threads, "OMP_NUM_THREADS": threads}
        out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        outcomes.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert outcomes[0] == outcomes[1]  # bit for bit: the workers pin TensorFlow to one thread


def test_commands_get_one_thread_per_library_whatever_the_parent_has(monkeypatch):
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "8")
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    show = ("import json, os; print(json.dumps({k: float(os.environ[k]) for k in ('TF_NUM_INTRAOP_THREADS', "
            "'TF_NUM_INTEROP_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS')}))")  # fmt: skip
    results = _study([sys.executable, "-c", show], 1).run(workers=0, progress=False)
    assert set(results.runs()[0]["metrics"].values()) == {1.0}


@pytest.mark.slow
def test_keras_session_is_cleared_after_each_run_in_a_worker():
    pytest.importorskip("keras")
    results = _study(study_fns.keras_layer_index, 4).run(workers=1, progress=False)
    runs = results.runs()
    assert [r["status"] for r in runs] == ["done"] * 4, [r["error"] for r in runs]
    assert len({r["worker"]["pid"] for r in runs}) == 1  # one worker ran them all...
    assert [r["metrics"]["index"] for r in runs] == [0.0] * 4  # ...and each run started from a fresh Keras session


def test_a_cleanup_hook_runs_after_every_run_and_its_failure_is_reported():
    runs = _study(study_fns.cleanups_so_far, 3, cleanup=study_fns.count_cleanup).run(workers=1, progress=False).runs()
    assert len({r["worker"]["pid"] for r in runs}) == 1
    assert [r["metrics"]["cleanups"] for r in runs] == [0.0, 1.0, 2.0]
    results = _study(study_fns.synthetic, 1, cleanup=study_fns.failing_cleanup).run(workers=1, progress=False)
    run = results.runs()[0]
    assert run["status"] == "failed" and "the cleanup hook failed" in run["error"] and "cleanup broke" in run["error"]
    with pytest.raises(ValueError, match="cleanup must be"):
        _study(study_fns.synthetic, 1, cleanup="sometimes")


def test_runs_per_worker_bounds_a_workers_memory():
    grown = _study(study_fns.leaky, 5).run(workers=1, progress=False).runs()
    assert len({r["metrics"]["pid"] for r in grown}) == 1
    assert grown[-1]["metrics"]["rss_mb"] - grown[0]["metrics"]["rss_mb"] > 120  # 4 x 40 MB kept by one worker
    bounded = _study(study_fns.leaky, 5).run(workers=1, progress=False, runs_per_worker=1).runs()
    assert len({r["metrics"]["pid"] for r in bounded}) == 5  # a fresh worker per run
    first = bounded[0]["metrics"]["rss_mb"]
    assert all(r["metrics"]["rss_mb"] < first + 30 for r in bounded)
    with pytest.raises(ValueError, match="runs_per_worker must be >= 1"):
        _study(study_fns.synthetic, 1).run(workers=1, progress=False, runs_per_worker=0)
