"""seedwise.integrations.mlflow against a real MLflow SQLite tracking store (nothing leaves the machine)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import tracker_study

import seedwise as sw
from seedwise.cli import main
from seedwise.errors import InvalidArgumentError, MissingDependencyError, TrackerError
from seedwise.integrations import mlflow as swml
from seedwise.study import Results, Store

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory):
    """One SQLite tracking store for the module (creating one runs MLflow's migrations: seconds).

    MLflow puts artifacts in ./mlruns of the directory an experiment is created in: here, and
    in each test's own folder (``in_tmp_path``), never in the checkout.
    """
    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    uri = f"sqlite:///{path}"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(path.parent)
        MlflowClient(tracking_uri=uri)
    return uri


@pytest.fixture(autouse=True)
def in_tmp_path(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def client(tracking_uri):
    return MlflowClient(tracking_uri=tracking_uri)


@pytest.fixture
def experiment(request):
    """An experiment name of the test's own, so tests share the store but not their runs."""
    return request.node.name.replace("[", "-").replace("]", "")


def study_runs(client, experiment_name):
    experiment = client.get_experiment_by_name(experiment_name)
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("seedwise.role") == "study"]
    children = {r.data.tags["seedwise.run"]: r for r in runs if r.data.tags.get("seedwise.role") == "run"}
    return parents, children, runs


# -- log_run --------------------------------------------------------------------------------


def test_log_run_logs_seeds_tree_report_and_fingerprint_into_the_active_run(tracking_uri, client, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    seeds = sw.Seeds(2026).override(init=7)
    report = sw.seed_everything(3, frameworks=("python", "numpy"))
    with mlflow.start_run() as active:
        record = swml.log_run(seeds, report)
    run = client.get_run(active.info.run_id)
    params, tags = run.data.params, run.data.tags
    assert sw.Seeds.from_json(params["seedwise.seeds"]) == seeds  # the tree comes back exactly, overrides too
    for name in ("init", "data_order", "augment", "dropout", "split"):
        assert params[f"seedwise.seeds.{name}"] == str(int(seeds[name]))
    assert tags["seedwise.seed_everything"] == report.title
    assert tags["seedwise.seed_everything.ok"] == str(report.ok)
    for setting in report.settings:
        assert tags[f"seedwise.seed_everything.{setting.framework}.{setting.name}"].startswith(setting.value)
    assert tags["seedwise.fingerprint.versions.seedwise"] == sw.__version__
    assert tags["seedwise.fingerprint.python.version"] == record.document["fingerprint"]["python"]["version"]
    assert record.params.items() <= params.items()
    path = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="seedwise/run.json",
                                               tracking_uri=tracking_uri)  # fmt: skip
    assert json.loads(Path(path).read_text()) == json.loads(json.dumps(record.document))


def test_log_run_takes_a_run_id_and_streams(tracking_uri, client, experiment):
    experiment_id = client.create_experiment(experiment)
    run_id = client.create_run(experiment_id).info.run_id
    seeds = sw.Seeds(5)["fold"][2]
    record = swml.log_run(seeds, run_id=run_id, tracking_uri=tracking_uri, fingerprint=False, streams=("init", "mine"))
    params = client.get_run(run_id).data.params
    assert params == record.params
    assert params["seedwise.seeds.mine"] == str(int(seeds["mine"]))
    assert not any(k.startswith("seedwise.fingerprint") for k in client.get_run(run_id).data.tags)
    # Params cannot change in MLflow: other seeds in the same run are refused loudly.
    with pytest.raises(TrackerError, match="MLflow"):
        swml.log_run(sw.Seeds(6), run_id=run_id, tracking_uri=tracking_uri, fingerprint=False)


def test_log_run_without_an_active_run_says_how_to_fix_it(tracking_uri):
    assert mlflow.active_run() is None
    with pytest.raises(InvalidArgumentError, match=r"start_run\(\)|run_id="):
        swml.log_run(sw.Seeds(0), tracking_uri=tracking_uri)
    with pytest.raises(TypeError, match="SeedReport"):
        swml.log_run(sw.Seeds(0), {"torch": 0}, run_id="x", tracking_uri=tracking_uri)


def test_importing_the_integrations_loads_neither_tracker():
    code = (
        "import sys, seedwise.integrations.mlflow, seedwise.integrations.wandb, seedwise.cli; "
        "seedwise.cli.build_parser(); print(sorted(m for m in ('mlflow', 'wandb') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_the_package_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(MissingDependencyError, match=r"seedwise\[mlflow\]"):
        swml.log_run(sw.Seeds(0), run_id="x")


# -- study export ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("study") / "runs.sqlite"
    tracker_study.run_study(path, n=2, config={"epochs": 3})
    return path


def test_export_writes_a_parent_per_study_and_a_child_per_seed_run(store, tracking_uri, client, experiment):
    out = swml.export_study(store, tracking_uri=tracking_uri, experiment=experiment)
    runs = Store(store).runs("mlp")
    assert out.count("created") == len(runs) == 6 and out.count("unfinished") == 0
    (parent,), children, _ = study_runs(client, experiment)
    assert parent.info.run_name == "mlp" and parent.info.status == "FINISHED"
    assert parent.data.params["seedwise.design.design"] == "one-at-a-time"
    assert parent.data.tags["seedwise.runs.done"] == "6"
    artifacts = [a.path for a in client.list_artifacts(parent.info.run_id)]
    assert artifacts == ["report.html"]
    page = mlflow.artifacts.download_artifacts(run_id=parent.info.run_id, artifact_path="report.html",
                                               tracking_uri=tracking_uri)  # fmt: skip
    assert "Study mlp" in Path(page).read_text(encoding="utf-8")
    results = Results(Store(store), "mlp")
    mean = sum(results.values("accuracy", group="all").values()) / 2
    assert parent.data.metrics["accuracy.all.mean"] == pytest.approx(mean, rel=1e-12)

    assert sorted(children) == sorted(r["cell"] for r in runs)
    for stored in runs:
        child = children[stored["cell"]]
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == "FINISHED" and child.data.tags["seedwise.status"] == "done"
        assert sw.Seeds.from_json(child.data.params["seedwise.seeds"]) == sw.Seeds.from_json(stored["seeds"])
        assert child.data.params["epochs"] == "3" and child.data.params["seedwise.group"] == stored["group"]
        assert child.data.metrics["accuracy"] == stored["metrics"]["accuracy"]  # exact: the last value logged
        assert child.data.metrics["loss"] == stored["metrics"]["loss"]
        history = client.get_metric_history(child.info.run_id, "loss")
        curve = stored["curves"]["loss"]
        logged = sorted((m.timestamp, m.step, m.value) for m in history)
        assert [(s, v) for _, s, v in logged[:-1]] == list(zip(curve["step"], curve["value"]))
        assert logged[-1][1:] == (curve["step"][-1], stored["metrics"]["loss"])  # the final value ends the curve
        assert child.info.start_time == round(stored["started"] * 1000)


def test_export_again_duplicates_nothing(store, tracking_uri, client, experiment):
    swml.export_study(store, tracking_uri=tracking_uri, experiment=experiment, report=False)
    _, before, all_before = study_runs(client, experiment)
    histories = {c: len(client.get_metric_history(r.info.run_id, "loss")) for c, r in before.items()}
    again = swml.export_study(store, tracking_uri=tracking_uri, experiment=experiment)
    assert again.count("unchanged") == 6 and again.count("created") == 0
    _, after, all_after = study_runs(client, experiment)
    assert len(all_after) == len(all_before) == 7
    assert {c: r.info.run_id for c, r in after.items()} == {c: r.info.run_id for c, r in before.items()}
    assert {c: len(client.get_metric_history(r.info.run_id, "loss")) for c, r in after.items()} == histories


def test_export_adds_what_finished_since_and_updates_retried_runs(tmp_path, tracking_uri, client, experiment):
    path, fail = tmp_path / "runs.sqlite", tmp_path / "fail.txt"
    config = {"epochs": 2, "fail": str(fail)}
    study = tracker_study.make_study(path, tracker_study.fails_when, config=config)
    first = swml.export_study(path, tracking_uri=tracking_uri, experiment=experiment, report=False)
    assert first.count("unfinished") == 6 and first.count("created") == 0
    (parent,), children, _ = study_runs(client, experiment)
    assert parent.info.status == "RUNNING" and not children

    failing = [int(c.seeds["init"]) for c in study.cells if c.group == "init"]
    fail.write_text(" ".join(map(str, failing)))
    study.run(workers=0, progress=False)
    second = swml.export_study(path, tracking_uri=tracking_uri, experiment=experiment, report=False)
    assert second.count("created") == 6
    _, children, _ = study_runs(client, experiment)
    failed = {c for c, r in children.items() if r.info.status == "FAILED"}
    assert failed == {"init/0", "init/1"}
    assert children["init/0"].data.tags["seedwise.error"] == "RuntimeError: diverged: loss is NaN"
    assert "accuracy" not in children["init/0"].data.metrics

    fail.write_text("")
    study.run(workers=0, progress=False, retry_failed=True)
    third = swml.export_study(path, tracking_uri=tracking_uri, experiment=experiment, report=False)
    assert third.count("updated") == 2 and third.count("unchanged") == 4 and third.count("created") == 0
    (parent,), after, all_runs = study_runs(client, experiment)
    assert len(all_runs) == 7 and parent.info.status == "FINISHED"
    assert {c: r.info.run_id for c, r in after.items()} == {c: r.info.run_id for c, r in children.items()}
    assert after["init/0"].info.status == "FINISHED" and "seedwise.error" not in after["init/0"].data.tags
    stored = {r["cell"]: r for r in Store(path).runs("mlp")}
    assert after["init/0"].data.metrics["accuracy"] == stored["init/0"]["metrics"]["accuracy"]


def test_an_interrupted_export_is_replaced(store, tracking_uri, client, experiment):
    swml.export_study(store, tracking_uri=tracking_uri, experiment=experiment, report=False)
    _, children, _ = study_runs(client, experiment)
    partial = children["all/1"].info.run_id
    client.delete_tag(partial, "seedwise.digest")  # as if the export had died before its last write
    again = swml.export_study(store, tracking_uri=tracking_uri, experiment=experiment, report=False)
    assert again.count("replaced") == 1 and again.count("unchanged") == 5
    _, after, all_runs = study_runs(client, experiment)
    assert len(all_runs) == 7 and after["all/1"].info.run_id != partial
    assert client.get_run(partial).info.lifecycle_stage == "deleted"


def test_changed_results_are_refused_before_anything_is_written(tmp_path, store, tracking_uri, client, experiment):
    swml.export_study(store, tracking_uri=tracking_uri, experiment=experiment, report=False)
    _, before, _ = study_runs(client, experiment)
    # The same study (same name, cells, seeds and config) whose runs produced other numbers.
    other = tmp_path / "other.sqlite"
    tracker_study.run_study(other, tracker_study.train_shifted, n=2, config={"epochs": 3})
    with pytest.raises(TrackerError, match=r"6 run\(s\) of study 'mlp' conflict.*nothing was written"):
        swml.export_study(other, tracking_uri=tracking_uri, experiment=experiment, report=False)
    _, after, all_runs = study_runs(client, experiment)
    assert len(all_runs) == 7
    assert {c: r.data.metrics for c, r in after.items()} == {c: r.data.metrics for c, r in before.items()}


def test_export_arguments_are_checked(store, tracking_uri, tmp_path):
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        swml.export_study(tmp_path / "missing.sqlite", tracking_uri=tracking_uri)
    with pytest.raises(InvalidArgumentError, match="study must be one of 'mlp'"):
        swml.export_study(store, tracking_uri=tracking_uri, study="nope")
    with pytest.raises(TypeError, match="tracking_uri must be a str"):
        swml.export_study(store, tracking_uri=tmp_path)
    with pytest.raises(TypeError, match="report must be True or False"):
        swml.export_study(store, tracking_uri=tracking_uri, report="yes")


# -- seedwise export --to mlflow -------------------------------------------------------------


def seedwise(*args):
    return subprocess.run([sys.executable, "-m", "seedwise", *map(str, args)], capture_output=True, text=True,
                          timeout=300)  # fmt: skip


@pytest.mark.slow
def test_cli_exports_and_a_rerun_changes_nothing(store, tracking_uri, client, experiment, capsys):
    done = seedwise("export", store, "--to", "mlflow", "--tracking-uri", tracking_uri, "--experiment", experiment)
    assert done.returncode == 0, done.stderr
    assert f"seedwise export to MLflow: {tracking_uri}, experiment {experiment!r}" in done.stdout
    assert done.stdout.splitlines()[2].split()[:6] == ["mlp", "6", "0", "0", "0", "0"]
    (parent,), children, _ = study_runs(client, experiment)
    assert len(children) == 6 and [a.path for a in client.list_artifacts(parent.info.run_id)] == ["report.html"]

    argv = ["export", str(store), "--to", "mlflow", "--tracking-uri", tracking_uri, "--experiment", experiment]
    assert main([*argv, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [s["unchanged"] for s in again["studies"]] == [6] and len(again["runs"]) == 6
    assert len(study_runs(client, experiment)[2]) == 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "mlflow", "--project", "p"], "--project apply to --to wandb, not --to mlflow"),
        (["--to", "wandb"], "--to wandb needs --project NAME"),
        (["--to", "wandb", "--project", "p", "--experiment", "e"], "--experiment apply to --to mlflow"),
    ],
)
def test_cli_bad_options_are_one_line_and_exit_2(store, args, message, capsys):
    assert main(["export", str(store), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("seedwise export: error: ") and message in err


def test_cli_errors_are_one_line_and_exit_2(tmp_path, store, tracking_uri, experiment, capsys):
    assert main(["export", str(tmp_path / "missing.sqlite"), "--to", "mlflow", "--tracking-uri", tracking_uri]) == 2
    assert "does not exist" in capsys.readouterr().err
    argv = ["export", "--to", "mlflow", "--tracking-uri", tracking_uri, "--experiment", experiment, "--no-report"]
    assert main([*argv, str(store)]) == 0
    capsys.readouterr()
    other = tmp_path / "other.sqlite"
    tracker_study.run_study(other, tracker_study.train_shifted, n=2, config={"epochs": 3})
    assert main([*argv, str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "conflict with an earlier export" in err and "Traceback" not in err


# -- the docs and the example ---------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def test_the_trackers_section_of_the_docs_runs(tmp_path, tracking_uri, monkeypatch, capsys):
    """Every Python block of docs/integrations.md#trackers, in order, in a folder holding runs.sqlite."""
    pytest.importorskip("wandb")
    text = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
    section = text.split("\n## Trackers\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    tracker_study.run_study(tmp_path / "runs.sqlite", n=2, config={"epochs": 2})
    # The docs' sqlite:///mlflow.db, already migrated (creating one takes MLflow seconds).
    source = sqlite3.connect(tracking_uri.removeprefix("sqlite:///"))
    with sqlite3.connect(tmp_path / "mlflow.db") as target:
        source.backup(target)
    source.close()
    for block in blocks:
        exec(compile(block, "docs/integrations.md", "exec"), {})
    out = capsys.readouterr().out
    assert "seedwise export to MLflow: sqlite:///mlflow.db, experiment 'digits'" in out
    assert "seedwise export to W&B: project digits" in out


@pytest.mark.slow
def test_the_example_runs(tmp_path, tracking_uri):
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "mlflow_tracking.py"), "--out", tmp_path, "--tracking-uri",
         tracking_uri], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "logreg  8 " in done.stdout
