"""Command studies: any script as a study, each run a process; results equal the function study's."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
import study_fns

from seedwise import Seeds
from seedwise.errors import InvalidArgumentError, InvalidTypeError, StoreError
from seedwise.study import Command, Study, command_seed, source_seed

SCRIPTS = Path(__file__).parent / "scripts"
PY = sys.executable
SOURCES = ("init", "data_order")


def _script(name: str, *args: str) -> list[str]:
    return [PY, str(SCRIPTS / name), *args]


def _metrics(results) -> dict[str, dict[str, float]]:
    return {r["cell"]: r["metrics"] for r in results.runs()}


def test_from_env_script_equals_the_function_study(tmp_path):
    kwargs = {"sources": SOURCES, "n_seeds": 2, "seeds": Seeds(11)}
    command = Study(_script("from_env.py"), name="cmd", store=tmp_path / "runs.sqlite", **kwargs)
    function = Study(study_fns.synthetic_with_curve, name="fn", store=None, **kwargs)
    by_command = command.run(workers=2, progress=False)
    by_function = function.run(workers=0, progress=False)
    assert by_command.counts()["done"] == 6, by_command.table()["error"].tolist()
    assert _metrics(by_command) == _metrics(by_function)  # exact: the same floats
    assert by_command.curves().equals(by_function.curves())
    # each run got its own output directory beside the store, holding what it reported
    assert (tmp_path / "runs.out" / "cmd" / "init" / "1" / "metrics.jsonl").is_file()


def test_seed_only_script_in_an_all_design_equals_the_function_study(tmp_path):
    kwargs = {"sources": SOURCES, "design": "all", "n_seeds": 3, "config": {"epochs": 2}}
    command = Study(_script("seed_only.py", "--seed", "{seed}", "--epochs", "{config.epochs}"), name="cmd",
                    store=None, **kwargs)  # fmt: skip
    results = command.run(workers=0, progress=False)
    expected = Study(study_fns.seed_only, name="fn", store=None, **kwargs).run(workers=0, progress=False)
    assert _metrics(results) == _metrics(expected)
    assert "epoch 1: |w|" in results.logs("all/0")["stdout"]


def test_seed_only_script_cannot_be_studied_one_source_at_a_time():
    with pytest.raises(InvalidArgumentError, match=r"one seed \(\{seed\}\), so its runs vary every source at once"):
        Study(_script("seed_only.py", "--seed", "{seed}"), name="x", sources=SOURCES, n_seeds=2, store=None)
    with pytest.raises(InvalidArgumentError, match=r"no seed for \['data_order'\]"):
        Study(_script("seed_only.py", "--seed", "{seed.init}"), name="x", sources=SOURCES, n_seeds=2, store=None)
    # one seed per source is enough for a per-source design
    Study(_script("seed_only.py", "--seed", "{seed.init}", "{seed.data_order}"), name="x", sources=SOURCES,
          n_seeds=2, store=None)  # fmt: skip


def test_placeholders_are_filled_per_run(tmp_path):
    echo = [PY, "-c", "import json, sys; print(json.dumps({'n': len(sys.argv)})); print(sys.argv[1:], file=sys.stderr)"]
    args = [
        "{seed}",
        "{seed.init}",
        "{run}",
        "{cell}",
        "{study}",
        "{out}",
        "{config.lr}",
        "{{literal}}",
        '{"json": {"kept": 1}}',
    ]
    study = Study(echo + args, name="ph", sources=("init",), design="all", n_seeds=2, config={"lr": 0.5},
                  store=tmp_path / "runs.sqlite")  # fmt: skip
    results = study.run(workers=0, progress=False)
    cell = study.cells[1]
    out = tmp_path / "runs.out" / "ph" / "all" / "1"
    expected = [str(command_seed(cell.seeds)), str(source_seed(cell.seeds, "init")), "1", "all/1", "ph", str(out),
                "0.5", "{literal}", '{"json": {"kept": 1}}']  # fmt: skip
    assert results.logs("all/1")["stderr"].strip() == str(expected)
    assert source_seed(cell.seeds, "init") == int(cell.seeds["init"]) % 2**32 < 2**32


def test_noise_around_the_json_metrics_is_ignored():
    results = Study(_script("noisy.py"), name="n", sources=("init",), design="all", n_seeds=2, store=None).run(
        workers=0, progress=False
    )
    for cell in Study(_script("noisy.py"), name="n", sources=("init",), design="all", n_seeds=2, store=None).cells:
        x = float(cell.seeds["init"].numpy().random())
        assert _metrics(results)[cell.key] == {"score": x, "twice": 2 * x}
    assert results.logs("all/0")["stderr"] == "done.\n"


def test_crashing_runs_fail_with_their_stderr_and_the_rest_finish():
    study = Study(_script("crash.py"), name="c", sources=("init",), design="all", n_seeds=6, store=None)
    culprits = {c.key for c in study.cells if int(c.seeds["init"]) % 3 == 0}
    assert 0 < len(culprits) < 6
    results = study.run(workers=2, progress=False)
    for run in results.runs():
        if run["cell"] in culprits:
            assert run["status"] == "failed" and run["attempts"] == 1
            assert "exited with status 3" in run["error"] and "RuntimeError: loss is NaN at step 7" in run["error"]
        else:
            assert run["status"] == "done"


def test_a_run_past_its_timeout_is_stopped_and_fails(tmp_path):
    study = Study(Command(tuple(_script("hang.py", "{out}")), timeout=1.0), name="h", sources=("init",),
                  design="all", n_seeds=2, store=tmp_path / "runs.sqlite")  # fmt: skip
    start = time.monotonic()
    results = study.run(workers=2, progress=False)
    assert time.monotonic() - start < 30
    for run in results.runs():
        assert run["status"] == "failed" and "timeout of 1 s" in run["error"] and "now stuck" in run["error"]
        pid = int((tmp_path / "runs.out" / "h" / "all" / run["cell"][-1] / "pid").read_text())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # stopped and reaped, not left running


def test_killed_by_a_signal_and_no_metrics_are_failures():
    kill = [PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    silent = [PY, "-c", "print('no metrics here')"]
    for argv, match in ((kill, "killed by signal SIGKILL"), (silent, "reported no metrics")):
        results = Study(argv, name="k", sources=("init",), design="all", n_seeds=1, store=None).run(
            workers=0, progress=False
        )
        assert results.runs()[0]["status"] == "failed" and match in results.runs()[0]["error"]


def test_bad_metrics_lines_name_the_file_and_line(tmp_path):
    bad = [PY, "-c", "import os; open(os.environ['SEEDWISE_METRICS'], 'w').write('{\"a\": 1}\\n{\"a\": \"high\"}\\n')"]
    results = Study(bad, name="b", sources=("init",), design="all", n_seeds=1, store=tmp_path / "r.sqlite").run(
        workers=0, progress=False
    )
    error = results.runs()[0]["error"]
    assert "metrics.jsonl line 2" in error and "'a' is str" in error


def test_logs_are_capped(tmp_path):
    loud = Command(
        (PY, "-c", "import sys; sys.stdout.write('x' * 3_000_000 + '\\n'); print('{\"v\": 1}')"), log_limit=4096
    )
    results = Study(loud, name="l", sources=("init",), design="all", n_seeds=1, store=None).run(
        workers=0, progress=False
    )
    stdout = results.logs("all/0")["stdout"]
    assert results.runs()[0]["metrics"] == {"v": 1.0}
    assert len(stdout) < 4096 + 100 and stdout.startswith("[seedwise: 2995") and stdout.endswith('{"v": 1}\n')


def test_arms_run_the_same_seeds():
    arms = {"a": _script("from_env.py", "1.0"), "b": _script("from_env.py", "3.0")}
    # 6 seeds: with 5 pairs or fewer no exact paired test reaches p < 0.05, and compare refuses "A better"
    study = Study(arms, name="ab", sources=SOURCES, design="all", n_seeds=6, store=None)
    results = study.run(workers=2, progress=False)
    metrics = _metrics(results)
    for i in range(6):
        assert metrics[f"b:all/{i}"]["score"] - metrics[f"a:all/{i}"]["score"] == pytest.approx(2.0, abs=1e-12)
    comparison = results.for_arm("b").compare(results.for_arm("a"), "score")
    assert comparison.paired and comparison.decision.startswith("A")


@pytest.mark.parametrize(
    ("train", "kwargs", "error", "match"),
    [
        ([], {}, InvalidArgumentError, "empty"),
        ("python train.py", {}, InvalidArgumentError, "FILE.py:FUNCTION"),
        ([PY, "x.py", "{sed}"], {}, InvalidArgumentError, r"unknown placeholder \{sed\}"),
        ([PY, "x.py", "{seed.weights}"], {}, InvalidArgumentError, "'weights' is not a source"),
        ([PY, "x.py", "{config.lr}"], {}, InvalidArgumentError, "no key 'lr'"),
        ([PY, "x.py", "{arm}"], {}, InvalidArgumentError, "no arms"),
        (["no-such-program-3141"], {}, InvalidArgumentError, "not found on PATH"),
        ([PY, 3], {}, InvalidTypeError, "every argument must be a str"),
        ({"a": [PY, "x.py"]}, {}, InvalidArgumentError, "at least two"),
        ({"a": [PY], "b": [PY]}, {"paired": {"x": {}, "y": {}}}, InvalidArgumentError, "already pair"),
    ],
)
def test_bad_commands_are_clear_errors(train, kwargs, error, match):
    with pytest.raises(error, match=match):
        Study(train, name="x", sources=("init",), design="all", n_seeds=1, store=None, **kwargs)


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), True, "5"])
def test_bad_timeouts(timeout):
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        Command((PY,), timeout=timeout)


def test_a_study_keeps_its_command(tmp_path):
    store = tmp_path / "runs.sqlite"
    Study(_script("from_env.py"), name="s", sources=("init",), design="all", n_seeds=1, store=store)
    Study(_script("from_env.py"), name="s", sources=("init",), design="all", n_seeds=1, store=store)  # the same
    with pytest.raises(StoreError, match="ran other commands"):
        Study(_script("noisy.py"), name="s", sources=("init",), design="all", n_seeds=1, store=store)


def test_a_metric_the_runs_never_report_stops_the_study():
    study = Study(_script("from_env.py"), name="m", sources=SOURCES, n_seeds=2, store=None, metric="accuracy")
    with pytest.raises(InvalidArgumentError, match=r"metric 'accuracy' is not among the metrics the runs report"):
        study.run(workers=0, progress=False)
    assert study.status()["done"] == 1 and study.status()["running"] == 0  # the finished run is kept


# -- real scripts in several frameworks ---------------------------------------------------


@pytest.mark.slow
def test_plain_torch_script_equals_its_function_study(tmp_path):
    kwargs = {"sources": ("init", "data_order", "dropout"), "design": "all", "n_seeds": 2}
    command = Study(_script("torch_mlp.py"), name="cmd", store=tmp_path / "runs.sqlite", **kwargs)
    function = Study(f"{SCRIPTS / 'torch_mlp.py'}:train", name="fn", store=tmp_path / "runs.sqlite", **kwargs)
    by_command, by_function = command.run(workers=2, progress=False), function.run(workers=2, progress=False)
    assert by_command.counts()["done"] == 2, by_command.table()["error"].tolist()
    assert _metrics(by_command) == _metrics(by_function)  # bit for bit: same seeds, one thread each
    assert by_command.curves().equals(by_function.curves())
    accuracy = [m["accuracy"] for m in _metrics(by_command).values()]
    assert len(set(accuracy)) == 2 and all(a > 0.6 for a in accuracy)


@pytest.mark.slow
def test_keras_script_is_studied_and_reproduces():
    arms = {"a": _script("keras_script.py", "{out}"), "b": _script("keras_script.py", "{out}")}
    results = Study(arms, name="keras", sources=("init", "data_order"), design="all", n_seeds=1, store=None).run(
        workers=2, progress=False
    )
    metrics = _metrics(results)
    assert results.counts()["done"] == 2, results.table()["error"].tolist()
    assert metrics["a:all/0"] == metrics["b:all/0"] and set(metrics["a:all/0"]) == {"loss", "accuracy"}
    assert sorted(set(results.curves()["step"])) == [0, 1]


@pytest.mark.slow
def test_jax_script_is_studied_and_reproduces():
    arms = {"a": _script("jax_script.py"), "b": _script("jax_script.py")}
    results = Study(arms, name="jax", sources=("init",), design="all", n_seeds=2, store=None).run(
        workers=2, progress=False
    )
    metrics = _metrics(results)
    assert results.counts()["done"] == 4, results.table()["error"].tolist()
    assert metrics["a:all/0"] == metrics["b:all/0"] and metrics["a:all/1"] == metrics["b:all/1"]
    assert metrics["a:all/0"] != metrics["a:all/1"]


def test_runs_that_ignore_their_seeds_are_pointed_out():
    blind = [PY, "-c", "import random; print('{\"v\": 1.5}')"]
    results = Study(blind, name="b", sources=SOURCES, design="all", n_seeds=3, store=None).run(
        workers=0, progress=False
    )
    (note,) = [n for n in results.variance("v").notes if "exactly the same metrics" in n]
    assert "all 3 finished runs" in note and "Seeds.from_env()" in note
    seeded = Study(_script("from_env.py"), name="s", sources=SOURCES, design="all", n_seeds=3, store=None)
    assert not any("exactly the same" in n for n in seeded.run(workers=0, progress=False).variance("score").notes)
