"""Runners: same results whatever the workers; crashes, kills, Ctrl-C and concurrent runners."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
import study_fns

from kit.runner import finish as _finish
from kit.runner import wait_done as _wait_done
from seedwise.errors import InvalidArgumentError
from seedwise.study import Store, Study

HERE = Path(__file__).parent
SOURCES = ("init", "data_order")


def _metrics(results) -> dict[str, dict[str, float]]:
    return {r["cell"]: r["metrics"] for r in results.runs()}


@pytest.mark.slow
def test_digits_mlp_identical_in_process_and_on_2_workers(tmp_path):
    data = study_fns.digits_npz(tmp_path / "digits.npz")
    kwargs = {"name": "mlp", "sources": ("init", "data_order", "dropout"), "design": "all", "n_seeds": 3,
              "config": {"epochs": 2, "data": data}}  # fmt: skip
    outcomes = {}
    for workers in (0, 2):
        study = Study(study_fns.digits_mlp, store=tmp_path / f"w{workers}.sqlite", **kwargs)
        results = study.run(workers=workers, progress=False)
        assert results.counts()["done"] == 3, results.table()["error"].tolist()
        outcomes[workers] = (_metrics(results), results.curves()["value"].tolist())
    assert outcomes[0] == outcomes[2]  # exact: same floats, bit for bit
    accuracy = [m["accuracy"] for m in outcomes[0][0].values()]
    assert all(0.5 < a <= 1.0 for a in accuracy) and len(set(accuracy)) > 1  # it learns; seeds matter


def test_synthetic_identical_with_0_1_2_workers(tmp_path):
    outcomes = []
    for workers in (0, 1, 2):
        study = Study(study_fns.synthetic, name="syn", sources=SOURCES, n_seeds=3, store=tmp_path / f"{workers}.sqlite")
        outcomes.append(_metrics(study.run(workers=workers, progress=False)))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert len(outcomes[0]) == 9


def test_in_process_runs_match_the_known_function():
    study = Study(study_fns.synthetic, name="syn", sources=SOURCES, n_seeds=3, store=None)
    results = study.run(workers=0, progress=False)
    for cell in study.cells:
        assert _metrics(results)[cell.key] == study_fns.synthetic(cell.seeds, {})


def test_failing_train_is_recorded_and_the_rest_finish():
    study = Study(study_fns.flaky, name="flaky", sources=SOURCES, design="all", n_seeds=8, store=None)
    results = study.run(workers=2, progress=False)
    table = results.table()
    failed = table[table["status"] == "failed"]
    done = table[table["status"] == "done"]
    assert len(failed) + len(done) == 8 and len(failed) >= 1 and len(done) >= 1
    assert all("RuntimeError: diverged" in e for e in failed["error"])
    assert all("Traceback" in e for e in failed["error"])
    assert failed["score"].isna().all() and done["score"].notna().all()
    # Retrying failed runs runs them again (and they fail again: same seeds).
    again = study.run(workers=0, retry_failed=True, progress=False)
    assert again.counts()["failed"] == len(failed)


def test_run_that_kills_its_worker_fails_alone():
    study = Study(study_fns.crashing, name="crash", sources=("init",), design="all", n_seeds=6, store=None)
    culprits = {c.key for c in study.cells if int(c.seeds["init"]) % 3 == 0}
    assert 0 < len(culprits) < 6
    runs = {r["cell"]: r for r in study.run(workers=2, progress=False).runs()}
    for cell, run in runs.items():
        if cell in culprits:
            assert run["status"] == "failed" and "worker process died" in run["error"] and run["attempts"] == 3
        else:  # innocent runs that shared the pool with a culprit are retried and finish
            assert run["status"] == "done" and run["metrics"] == study_fns.synthetic(
                next(c.seeds for c in study.cells if c.key == cell), {}
            )


def test_bad_return_value_is_a_failed_run():
    results = Study(study_fns.bad_return, name="bad", sources=SOURCES, design="all", n_seeds=2, store=None).run(
        workers=0, progress=False
    )
    assert results.counts()["failed"] == 2
    assert "must return a non-empty dict" in results.runs()[0]["error"]


def test_curves_are_stored():
    results = Study(study_fns.with_curves, name="c", sources=SOURCES, design="all", n_seeds=2, store=None,
                    config={"epochs": 3}).run(workers=0, progress=False)  # fmt: skip
    curves = results.curves()
    assert len(curves) == 6 and set(curves["curve"]) == {"loss"}
    assert curves[curves["cell"] == "all/0"]["step"].tolist() == [0, 1, 2]
    last = curves[curves["step"] == 2].set_index("cell")["value"]
    assert last["all/1"] == results.values("loss")["all/1"]


def test_train_from_a_file_path(tmp_path):
    script = tmp_path / "my_train.py"
    script.write_text(
        textwrap.dedent("""
        from seedwise import Seeds

        def train(seeds, config):
            return {"x": float(seeds["init"].numpy().random()) + config["shift"]}

        if __name__ == "__main__":
            raise SystemExit("workers must not run the script's main block")
    """)
    )
    study = Study(f"{script}:train", name="file", sources=("init",), design="all", n_seeds=3, store=None,
                  config={"shift": 10})  # fmt: skip
    results = study.run(workers=2, progress=False)
    assert results.counts()["done"] == 3
    for cell in study.cells:
        assert results.values("x")[cell.key] == float(cell.seeds["init"].numpy().random()) + 10


def test_unimportable_train_needs_workers_0():
    study = Study(
        lambda seeds, config: {"one": 1.0}, name="lam", sources=("init",), design="all", n_seeds=2, store=None
    )
    with pytest.raises(InvalidArgumentError, match="workers=0"):
        study.run(workers=2, progress=False)
    assert study.run(workers=0, progress=False).counts()["done"] == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"backend": "slurm"}, "local"), ({"workers": -1}, "workers"), ({"workers": 0, "backend": "ray"}, "workers=0"),
     ({"num_cpus": -1}, "num_cpus")],
)  # fmt: skip
def test_bad_run_arguments(kwargs, match):
    study = Study(study_fns.synthetic, name="s", sources=SOURCES, design="all", n_seeds=1, store=None)
    with pytest.raises(ValueError, match=match):
        study.run(progress=False, **kwargs)


def test_bad_train_specs(tmp_path):
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        Study(str(tmp_path / "nope.py") + ":train", name="x", store=None)
    (tmp_path / "t.py").write_text("def train(seeds, config):\n    return {}\n")
    with pytest.raises(InvalidArgumentError, match="no function 'nope'"):
        Study(f"{tmp_path / 't.py'}:nope", name="x", store=None)
    with pytest.raises(InvalidArgumentError, match="FILE.py:FUNCTION"):
        Study("train.py", name="x", store=None)


# -- processes that die, get interrupted, or race -------------------------------------

RUNNER = textwrap.dedent(f"""
    import signal
    import sys
    sys.path.insert(0, {str(HERE)!r})
    import study_fns
    from seedwise.study import Study

    # Ctrl-C as in a terminal, even when the test run itself was started in the background
    # (a shell starts background jobs with SIGINT ignored, and Python keeps it ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    if __name__ == "__main__":
        store, name, workers, log = sys.argv[1:]
        study = Study(study_fns.counted, name=name, sources=("init", "data_order"), n_seeds=4, store=store,
                      config={{"log": log}})
        study.run(workers=int(workers), progress=False)
""")


def _runner(tmp_path: Path, store: Path, workers: int, sleep: float) -> subprocess.Popen:
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    log = tmp_path / "executions.log"
    # Output to a file, not a pipe: a pipe would also wait for any process the runner left behind.
    out = open(tmp_path / f"runner-{time.monotonic_ns()}.err", "w+")
    env = {**os.environ, "STUDY_TEST_SLEEP": str(sleep)}
    proc = subprocess.Popen([sys.executable, str(script), str(store), "st", str(workers), str(log)],
                            stdout=subprocess.DEVNULL, stderr=out, text=True, env=env)  # fmt: skip
    proc.err_file = out  # type: ignore[attr-defined]
    return proc


def _reference() -> dict[str, float]:
    results = Study(study_fns.synthetic, name="ref", sources=SOURCES, n_seeds=4, store=None).run(
        workers=0, progress=False
    )
    return {cell: m["score"] for cell, m in _metrics(results).items()}


def _same_study(store: Path, tmp_path: Path) -> Study:
    return Study(study_fns.counted, name="st", sources=SOURCES, n_seeds=4, store=store,
                 config={"log": str(tmp_path / "executions.log")})  # fmt: skip


def test_sigkill_mid_study_then_resume(tmp_path):
    store_path = tmp_path / "runs.sqlite"
    proc = _runner(tmp_path, store_path, workers=2, sleep=0.5)
    _wait_done(store_path, 3, proc)
    proc.send_signal(signal.SIGKILL)
    _finish(proc, 60)
    with Store(store_path) as store:
        counts = store.counts("st")
    assert 3 <= counts["done"] < 12 and counts["running"] >= 1  # killed mid-study, with runs in flight
    # The same study again: the runs of the dead runner are retried, finished ones skipped.
    study = _same_study(store_path, tmp_path)
    results = study.run(workers=0, progress=False)
    runs = results.runs()
    assert results.counts() == {"pending": 0, "running": 0, "done": 12, "failed": 0}
    assert sorted(r["cell"] for r in runs) == sorted(c.key for c in study.cells)  # every run exactly once
    assert {r["cell"]: r["metrics"]["score"] for r in runs} == _reference()  # as if never interrupted
    assert sum(r["attempts"] for r in runs) == 12 + counts["running"]


def test_two_concurrent_runners_never_duplicate_a_run(tmp_path):
    store_path = tmp_path / "runs.sqlite"
    Store(store_path).close()  # both runners open an existing, empty store
    procs = [_runner(tmp_path, store_path, workers=1, sleep=0.15) for _ in range(2)]
    for proc in procs:
        err = _finish(proc)
        assert proc.returncode == 0, err
    lines = (tmp_path / "executions.log").read_text().splitlines()
    executions = Counter(line.split(" ", 1)[1] for line in lines)
    assert len(executions) == 12 and set(executions.values()) == {1}  # each run executed exactly once
    with Store(store_path) as store:
        runs = store.runs("st")
    assert all(r["status"] == "done" and r["attempts"] == 1 for r in runs)
    assert {r["cell"]: r["metrics"]["score"] for r in runs} == _reference()


def test_ctrl_c_keeps_finished_runs_and_requeues_the_rest(tmp_path):
    store_path = tmp_path / "runs.sqlite"
    proc = _runner(tmp_path, store_path, workers=2, sleep=0.5)
    _wait_done(store_path, 2, proc)
    proc.send_signal(signal.SIGINT)
    err = _finish(proc, 60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    with Store(store_path) as store:
        counts = store.counts("st")
        runs = store.runs("st")
    assert counts["running"] == 0 and counts["done"] >= 2 and counts["pending"] >= 1
    assert all(r["attempts"] == 0 for r in runs if r["status"] == "pending")
    results = _same_study(store_path, tmp_path).run(workers=0, progress=False)
    assert {c: m["score"] for c, m in _metrics(results).items()} == _reference()
    assert not math.isnan(results.table()["score"].sum())
    assert os.path.exists(store_path)


def test_reporter_steps():
    from seedwise.study.reporter import Reporter

    report = Reporter()
    report(0, loss=1.0)
    report(epoch=1, loss=0.5, acc=0.7)
    report(loss=0.25)
    assert report.curves == {"loss": {"step": [0, 1, 2], "value": [1.0, 0.5, 0.25]},
                             "acc": {"step": [1], "value": [0.7]}}  # fmt: skip
    with pytest.raises(TypeError, match="number"):
        report(3, loss="low")
    with pytest.raises(ValueError, match="at least one"):
        report(4)


def test_study_started_from_a_script_with_its_own_train(tmp_path):
    """The usual script: train defined in __main__, the study under the main guard, 2 workers."""
    script = tmp_path / "experiment.py"
    script.write_text(
        textwrap.dedent("""
        import sys
        from seedwise.study import Study

        def train(seeds, config):
            # The worker reuses the script it re-imported as __mp_main__: no second copy of this file.
            copies = [name for name in sys.modules if name.startswith("_seedwise_train_")]
            return {"x": float(int(seeds["init"]) % 1000), "same": float(not copies)}

        if __name__ == "__main__":
            results = Study(train, name="s", sources=("init",), design="all", n_seeds=4, store=sys.argv[1]).run(
                workers=2, progress=False)
            print(results.counts()["done"])
    """)
    )
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "runs.sqlite")], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "4", out.stderr
    with Store(tmp_path / "runs.sqlite") as store:
        runs = store.runs("s")
    assert all(r["metrics"]["same"] == 1.0 for r in runs)
    assert [r["metrics"]["x"] for r in runs] == [
        float(int(c.seeds["init"]) % 1000) for c in Study(study_fns.synthetic, name="s", sources=("init",),
                                                          design="all", n_seeds=4, store=None).cells
    ]  # fmt: skip


def test_a_pool_that_broke_between_two_claims_loses_its_runs_instead_of_crashing():
    """A worker that dies after the runner's last wait breaks the pool before the next submit."""
    from seedwise.study.runner import _LocalPool, _Requests
    from seedwise.study.spec import TrainSpec
    from seedwise.study.store import Claim

    cells = Study(study_fns.crashing, name="c", sources=("init",), design="all", n_seeds=8, store=None).cells
    culprit = next(c for c in cells if int(c.seeds["init"]) % 3 == 0)
    innocent = next(c for c in cells if int(c.seeds["init"]) % 3 != 0)
    pool = _LocalPool(TrainSpec.of(study_fns.crashing), _Requests("c", None), 1, None)
    try:
        pool.submit(Claim(1, culprit.key, culprit.seeds.to_json(), {}, 1))
        (future,) = pool.pending
        deadline = time.monotonic() + 60
        while not future.done():  # the worker is dead and the pool broken; the runner has not looked yet
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pool.submit(Claim(2, innocent.key, innocent.seeds.to_json(), {}, 1))  # used to raise BrokenProcessPool
        lost = pool.wait(0)
        assert [(rowid, outcome["status"]) for rowid, outcome in lost] == [(1, "lost")]
        outcomes = []
        while not outcomes:
            assert time.monotonic() < deadline
            outcomes = pool.wait(1.0)
        assert [(rowid, outcome["status"]) for rowid, outcome in outcomes] == [(2, "done")]
        assert outcomes[0][1]["metrics"] == study_fns.synthetic(innocent.seeds, {})
    finally:
        pool.close()
