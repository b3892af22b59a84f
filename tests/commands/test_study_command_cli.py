"""`seedwise study run ... -- COMMAND`: command studies from the shell, resumes after kill -9 and Ctrl-C, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from kit.runner import finish as _finish
from kit.runner import wait_done as _wait_done
from seedwise import Seeds
from seedwise.cli import main
from seedwise.study import Store, Study

SCRIPTS = Path(__file__).parent.parent / "study" / "scripts"
sys.path.insert(0, str(SCRIPTS.parent))
import study_fns

PY = sys.executable


def _one_line_error(capsys, code: int, match: str) -> None:
    out = capsys.readouterr()
    assert code == 2, out
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.err, out.err
    assert match in lines[0], lines[0]


def _flat(capsys) -> str:
    return " ".join(capsys.readouterr().out.split())


def test_run_status_report_compare_logs_on_a_command_study(tmp_path, capsys):
    store = str(tmp_path / "runs.sqlite")
    common = ["--sources", "init,data_order", "--seeds", "3", "--store", store, "--workers", "2", "--no-progress"]
    code = main(["study", "run", "--name", "env", *common, "--metric", "score", "--", PY, str(SCRIPTS / "from_env.py")])
    assert code == 0
    out = _flat(capsys)
    assert "9 done" in out and "metric shown: score (named by the study)" in out
    # arms: two versions of the script on the same seeds
    # 6 seeds: with 5 pairs or fewer no exact paired test reaches p < 0.05, and compare refuses "A is better"
    code = main(["study", "run", "--name", "ab", *common, "--seeds", "6", "--design", "all", "--arm", "base", "--",
                 PY, str(SCRIPTS / "from_env.py"), "1.0", "--arm", "shifted", "--",
                 PY, str(SCRIPTS / "from_env.py"), "2.0"])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert main(["study", "status", store]) == 0
    out = _flat(capsys)
    assert "score (named)" in out and "score (first reported)" in out
    assert main(["report", store, "--out", str(tmp_path / "rep"), "--study", "env"]) == 0
    assert (tmp_path / "rep" / "report.html").is_file()
    capsys.readouterr()
    assert main(["compare", store, "ab:shifted", "ab:base", "--metric", "score"]) == 0
    out = _flat(capsys)
    assert "A = ab:shifted, B = ab:base" in out and "paired" in out and "A is better" in out
    assert main(["study", "logs", store, "env", "all/0"]) == 0
    assert "== stdout of env all/0" in capsys.readouterr().out
    with Store(store) as s:
        assert {r["metrics"]["score"] for r in s.runs("env")} == {
            study_fns.synthetic(c.seeds, {})["score"]
            for c in Study(study_fns.synthetic, name="x", sources=("init", "data_order"), n_seeds=3, store=None).cells
        }


def test_arms_from_a_file(tmp_path, capsys):
    arms = tmp_path / "arms.json"
    arms.write_text(json.dumps({"a": f"{PY} {SCRIPTS / 'from_env.py'} 1.0", "b": [PY, str(SCRIPTS / "from_env.py")]}))
    store = str(tmp_path / "runs.sqlite")
    code = main(["study", "run", "--name", "f", "--sources", "init", "--design", "all", "--seeds", "2", "--store",
                 store, "--workers", "0", "--arms", str(arms)])  # fmt: skip
    assert code == 0
    with Store(store) as s:
        assert sorted(r["cell"] for r in s.runs("f")) == ["a:all/0", "a:all/1", "b:all/0", "b:all/1"]


def test_failed_command_runs_give_exit_code_1_and_their_stderr(tmp_path, capsys):
    code = main(["study", "run", "--name", "c", "--sources", "init", "--design", "all", "--seeds", "6", "--store",
                 str(tmp_path / "runs.sqlite"), "--workers", "0", "--", PY, str(SCRIPTS / "crash.py")])  # fmt: skip
    assert code == 1
    out = capsys.readouterr().out
    assert "RuntimeError: loss is NaN at step 7" in out and "seedwise study logs" in out


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--"], "the command after -- is empty"),
        ([], "give the training function as FILE.py:FUNCTION, or the command to study after --"),
        (["--", "no-such-program-3141", "--seed", "{seed}"], "'no-such-program-3141' is not found on PATH"),
        (["--", PY, "train.py", "--seed", "{sede}"], "unknown placeholder {sede}"),
        (["--timeout", "0", "--", PY, "t.py"], "--timeout must be a positive number of seconds, got '0'"),
        (["--timeout", "soon", "--", PY, "t.py"], "--timeout must be a positive number of seconds, got 'soon'"),
        (["--timeout", "-3", "--", PY, "t.py"], "--timeout must be a positive number"),
        (["--arm", "a", "--", PY, "t.py"], "a study of arms needs at least two commands"),
        (["--", PY, "t.py", "--arm", "b", "--", PY, "u.py"], "name the first command's arm too"),
        (["--arm", "a"], "--arm names the command that follows --"),
        (["x.py:train", "--", PY, "t.py"], "not both"),
        (["--design", "one-at-a-time", "--", PY, "t.py", "--seed", "{seed}"], "vary every source at once"),
        (["--metric", "accuracy", "--", PY, str(SCRIPTS / "from_env.py")], "metric 'accuracy' is not among"),
    ],
)
def test_bad_command_study_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, args, match):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "runs.sqlite"
    base = ["study", "run", "--name", "x", "--sources", "init,data_order", "--seeds", "2", "--store", str(store),
            "--workers", "0", "--no-progress"]  # fmt: skip
    split = args.index("--") if "--" in args else len(args)
    positional = [a for a in args[:split] if a.endswith(":train")]
    options = [a for a in args[:split] if a not in positional]
    _one_line_error(capsys, main(base[:2] + positional + base[2:] + options + args[split:]), match)
    if "metric" not in match:
        assert not store.exists()  # rejected before the store was created


def test_double_dash_after_another_command_is_an_error(capsys):
    _one_line_error(capsys, main(["env", "--", "x"]), "unexpected arguments after --")


# -- kill -9 and Ctrl-C of a runner of a command study ----------------------------------


def _ctrl_c_as_in_a_terminal() -> None:
    """Ctrl-C reaches the runner even when the test run was started in the background: a shell
    starts background jobs with SIGINT ignored, the runner would inherit that, and Python keeps it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _runner(tmp_path: Path, store: Path, log: Path, sleep: float) -> subprocess.Popen:
    err = open(tmp_path / f"runner-{time.monotonic_ns()}.err", "w+")
    env = {**os.environ, "STUDY_TEST_SLEEP": str(sleep)}
    proc = subprocess.Popen(
        [PY, "-m", "seedwise", "study", "run", "--name", "st", "--sources", "init,data_order", "--seeds", "4",
         "--store", str(store), "--workers", "2", "--no-progress", "--", PY, str(SCRIPTS / "counted.py"), str(log)],
        stdout=subprocess.DEVNULL, stderr=err, env=env, preexec_fn=_ctrl_c_as_in_a_terminal,
    )  # fmt: skip
    proc.err_file = err  # type: ignore[attr-defined]
    return proc


def _commands_alive(tmp_path: Path) -> list[int]:
    alive = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any(str(tmp_path) in part for part in p.info["cmdline"] or []) and "counted.py" in " ".join(
                p.info["cmdline"]
            ):
                alive.append(p.info["pid"])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return alive


def _no_command_left(tmp_path: Path) -> None:
    deadline = time.monotonic() + 10
    while _commands_alive(tmp_path):
        assert time.monotonic() < deadline, f"commands left running: {_commands_alive(tmp_path)}"
        time.sleep(0.1)


def _reference() -> dict[str, float]:
    study = Study(study_fns.synthetic, name="ref", sources=("init", "data_order"), n_seeds=4, store=None)
    return {r["cell"]: r["metrics"]["score"] for r in study.run(workers=0, progress=False).runs()}


@pytest.mark.slow
def test_kill_9_of_the_runner_twice_then_a_rerun_runs_every_run_exactly_once(tmp_path):
    store, log = tmp_path / "runs.sqlite", tmp_path / "completed.log"
    interrupted: set[str] = set()
    for at_least in (3, 6):
        # Runs long enough that a loaded machine still finds runs in flight when the kill comes.
        proc = _runner(tmp_path, store, log, sleep=1.5)
        _wait_done(store, at_least, proc)
        proc.send_signal(signal.SIGKILL)
        _finish(proc, 60)
        _no_command_left(tmp_path)  # the runner's commands died with it
        with Store(store) as s:
            running = [r["cell"] for r in s.runs("st") if r["status"] == "running"]
            assert running and s.counts("st")["done"] < 12  # killed mid-study, runs in flight
        interrupted.update(running)
    proc = _runner(tmp_path, store, log, sleep=0.0)
    assert proc.wait(timeout=300) == 0, _finish(proc)
    _finish(proc)
    with Store(store) as s:
        runs = s.runs("st")
    assert [r["status"] for r in runs] == ["done"] * 12
    assert {r["cell"]: r["metrics"]["score"] for r in runs} == _reference()  # identical to an uninterrupted study
    completed = Counter(line.split()[0] for line in log.read_text().splitlines())
    assert set(completed) == {r["cell"] for r in runs}
    # A run is completed twice only if a kill interrupted it after its command finished.
    assert {cell for cell, n in completed.items() if n > 1} <= interrupted


@pytest.mark.slow
def test_ctrl_c_stops_the_commands_and_keeps_finished_runs(tmp_path):
    store, log = tmp_path / "runs.sqlite", tmp_path / "completed.log"
    proc = _runner(tmp_path, store, log, sleep=1.5)  # the study is still running at the Ctrl-C, even under load
    _wait_done(store, 2, proc)
    proc.send_signal(signal.SIGINT)
    err = _finish(proc, 60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    _no_command_left(tmp_path)
    with Store(store) as s:
        counts = s.counts("st")
    assert counts["running"] == 0 and counts["done"] >= 2 and counts["pending"] >= 1
    proc = _runner(tmp_path, store, log, sleep=0.0)
    assert proc.wait(timeout=300) == 0, _finish(proc)
    _finish(proc)
    with Store(store) as s:
        assert {r["cell"]: r["metrics"]["score"] for r in s.runs("st")} == _reference()


def test_seeds_from_env_outside_a_study():
    code = "import seedwise as sw; print(sw.Seeds.from_env(default=7) == sw.Seeds(7)); sw.Seeds.from_env()"
    env = {k: v for k, v in os.environ.items() if k != "SEEDWISE_SEEDS"}
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip() == "True" and "SEEDWISE_SEEDS is not set" in out.stderr
    bad = subprocess.run([PY, "-c", "import seedwise as sw; sw.Seeds.from_env()"], capture_output=True, text=True,
                         env={**env, "SEEDWISE_SEEDS": "{not json"}, timeout=60)  # fmt: skip
    assert "SEEDWISE_SEEDS does not hold a Seeds" in bad.stderr
    assert Seeds.from_json(Seeds(3).override(init=1).to_json()) == Seeds(3).override(init=1)


_RAY_PROBE = """import argparse, json, os
p = argparse.ArgumentParser(); p.add_argument("--seed", type=int, required=True)
print(json.dumps({"seed": float(p.parse_args().seed), "in_ray_task": float("RAY_JOB_ID" in os.environ)}))
"""


@pytest.mark.ray
@pytest.mark.slow
def test_backend_ray_runs_a_command_study_from_the_shell(tmp_path):
    pytest.importorskip("ray")
    script, store = tmp_path / "probe.py", tmp_path / "runs.sqlite"
    script.write_text(_RAY_PROBE)
    command = [PY, str(script), "--seed", "{seed}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}  # a local Ray instance of its own
    out = subprocess.run(
        [PY, "-m", "seedwise", "study", "run", "--name", "r", "--sources", "init,data_order", "--design", "all",
         "--seeds", "3", "--store", str(store), "--backend", "ray", "--workers", "2", "--no-progress", "--",
         *command],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "3 done" in " ".join(out.stdout.split())
    with Store(store) as s:
        on_ray = {r["cell"]: r["metrics"] for r in s.runs("r")}
    assert {m["in_ray_task"] for m in on_ray.values()} == {1.0}  # each command ran in a Ray task
    local = Study(command, name="r", sources=("init", "data_order"), design="all", n_seeds=3, store=None)
    local_metrics = {r["cell"]: r["metrics"] for r in local.run(workers=0, progress=False).runs()}
    assert {m["in_ray_task"] for m in local_metrics.values()} == {0.0}
    assert {c: m["seed"] for c, m in on_ray.items()} == {c: m["seed"] for c, m in local_metrics.items()}
