"""seedwise.integrations.wandb with the real wandb in offline mode, checked through W&B's own run records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import tracker_study
from wandb_offline import offline_runs

import seedwise as sw
from seedwise.cli import main
from seedwise.errors import InvalidArgumentError, MissingDependencyError, TrackerError
from seedwise.integrations import wandb as swwb
from seedwise.study import Store

wandb = pytest.importorskip("wandb")


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Nothing leaves the machine: offline mode (also passed explicitly: W&B reads its environment once per
    process, when it is first set up), and W&B's files under the test's folder."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "cache"))


def export(store, tmp_path, **kwargs):
    return swwb.export_study(store, **{"project": "p", "dir": tmp_path, "mode": "offline", **kwargs})


def as_json(value):
    return json.loads(json.dumps(value))


# -- log_run --------------------------------------------------------------------------------


def test_log_run_puts_seeds_tree_report_and_fingerprint_in_the_run_config(tmp_path):
    seeds = sw.Seeds(2026).override(dropout=11)
    report = sw.seed_everything(3, frameworks=("python", "numpy"))
    run = wandb.init(
        project="p", dir=tmp_path, mode="offline", settings=wandb.Settings(console="off", x_disable_stats=True)
    )
    record = swwb.log_run(seeds, report)
    with pytest.raises(TrackerError, match="W&B"):  # W&B refuses to change a config value: other seeds, loudly
        swwb.log_run(sw.Seeds(1), fingerprint=False)
    run.finish()
    (offline_run,) = offline_runs(tmp_path / "wandb")
    logged = offline_run.config["seedwise"]
    assert logged == as_json(record.document)
    assert sw.Seeds.from_json(logged["seeds"]["root"]) == seeds
    assert logged["seeds"]["streams"]["dropout"] == str(int(seeds["dropout"]))  # 64 bits kept: a string
    assert logged["seed_everything"]["title"] == report.title
    assert [s["name"] for s in logged["seed_everything"]["settings"]] == [s.name for s in report.settings]
    assert logged["fingerprint"]["versions"]["seedwise"] == sw.__version__


def test_log_run_needs_a_run():
    assert wandb.run is None
    with pytest.raises(InvalidArgumentError, match=r"wandb.init\(\)"):
        swwb.log_run(sw.Seeds(0))
    with pytest.raises(TypeError, match="W&B run"):
        swwb.log_run(sw.Seeds(0), run=object())


def test_without_the_package_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(MissingDependencyError, match=r"seedwise\[wandb\]"):
        swwb.log_run(sw.Seeds(0))


# -- study export ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("study") / "runs.sqlite"
    tracker_study.run_study(path, n=2, config={"epochs": 3})
    return path


def test_export_writes_a_group_per_study_and_a_run_per_seed_run(store, tmp_path):
    out = swwb.export_study(store, project="digits", dir=tmp_path / "w", mode="offline")
    stored = Store(store).runs("mlp")
    assert out.count("created") == 6 and out.count("unfinished") == 0
    runs = {r.run_id: r for r in offline_runs(tmp_path / "w" / "wandb")}
    assert len(runs) == 6
    study_id = out.studies[0]["study_id"]
    for record in stored:
        run = runs[swwb.run_id(study_id, record["cell"])]
        assert (run.project, run.group, run.display_name) == ("digits", "mlp", record["cell"])
        assert run.job_type == record["group"] and run.tags == ["seedwise", "done"]
        assert run.config["epochs"] == 3
        ours = run.config["seedwise"]
        assert (ours["study"], ours["study_id"], ours["run"]) == ("mlp", study_id, record["cell"])
        assert sw.Seeds.from_json(ours["seeds"]["root"]) == sw.Seeds.from_json(record["seeds"])
        curve = record["curves"]["loss"]
        assert [(h["_step"], h["loss"]) for h in run.history] == list(zip(curve["step"], curve["value"]))  # exact
        assert run.summary["accuracy"] == record["metrics"]["accuracy"]
        assert run.summary["loss"] == record["metrics"]["loss"]
        assert run.summary["seedwise/status"] == "done" and run.exit_code == 0
        assert run.export["digest"] and run.export["status"] == "done"


def test_export_again_duplicates_nothing(store):
    wandb_dir = Path(wandb.setup().settings.wandb_dir)  # no dir=: W&B's own, as wandb.init uses it
    first = swwb.export_study(store, project="again", mode="offline")
    assert first.count("created") == 6 and str(wandb_dir) in first.target
    before = sorted(p.name for p in wandb_dir.iterdir())
    again = swwb.export_study(store, project="again", mode="offline")
    assert again.count("unchanged") == 6 and again.count("created") == 0
    assert sorted(p.name for p in wandb_dir.iterdir()) == before


def test_export_adds_what_finished_since_and_updates_retried_runs(tmp_path):
    path, fail = tmp_path / "runs.sqlite", tmp_path / "fail.txt"
    study = tracker_study.make_study(path, tracker_study.fails_when, config={"epochs": 2, "fail": str(fail)})
    first = export(path, tmp_path)
    assert first.count("unfinished") == 6 and not (tmp_path / "wandb").exists()

    fail.write_text(" ".join(str(int(c.seeds["init"])) for c in study.cells if c.group == "init"))
    study.run(workers=0, progress=False)
    second = export(path, tmp_path)
    assert second.count("created") == 6
    runs = offline_runs(tmp_path / "wandb")
    failed = {r.display_name: r for r in runs if r.exit_code == 1}
    assert sorted(failed) == ["init/0", "init/1"]
    assert failed["init/0"].summary["seedwise/error"] == "RuntimeError: diverged: loss is NaN"
    assert "accuracy" not in failed["init/0"].summary and failed["init/0"].tags == ["seedwise", "failed"]

    fail.write_text("")
    study.run(workers=0, progress=False, retry_failed=True)
    third = export(path, tmp_path)
    assert third.count("updated") == 2 and third.count("unchanged") == 4
    after = offline_runs(tmp_path / "wandb")
    assert len({r.run_id for r in after}) == 6  # the retried runs resumed their own ids: no new W&B run
    retried = [r for r in after if r.display_name == "init/0"]
    assert [r.exit_code for r in retried] == [1, 0] and retried[0].run_id == retried[1].run_id
    stored = {r["cell"]: r for r in Store(path).runs("mlp")}
    assert retried[1].summary["accuracy"] == stored["init/0"]["metrics"]["accuracy"]
    assert export(path, tmp_path).count("unchanged") == 6


def test_an_interrupted_export_is_written_again(store, tmp_path):
    export(store, tmp_path)
    (victim,) = [r for r in offline_runs(tmp_path / "wandb") if r.display_name == "all/1"]
    (victim.directory / "files" / swwb.EXPORT_FILE).unlink()  # as if the export had died before its last write
    again = export(store, tmp_path)
    assert again.count("replaced") == 1 and again.count("unchanged") == 5
    runs = offline_runs(tmp_path / "wandb")
    assert len(runs) == 7 and len({r.run_id for r in runs}) == 6


def test_changed_results_are_refused_before_anything_is_written(store, tmp_path):
    export(store, tmp_path)
    before = sorted(p.name for p in (tmp_path / "wandb").iterdir())
    other = tmp_path / "other.sqlite"
    tracker_study.run_study(other, tracker_study.train_shifted, n=2, config={"epochs": 3})
    with pytest.raises(TrackerError, match=r"W&B: 6 run\(s\) of study 'mlp' conflict.*nothing was written"):
        export(other, tmp_path)
    assert sorted(p.name for p in (tmp_path / "wandb").iterdir()) == before


def test_export_arguments_are_checked(store, tmp_path):
    with pytest.raises(InvalidArgumentError, match="project must be a non-empty str"):
        export(store, tmp_path, project="")
    with pytest.raises(InvalidArgumentError, match="mode must be one of 'online', 'offline'"):
        export(store, tmp_path, mode="disabled")
    with pytest.raises(InvalidArgumentError, match="study must be one of 'mlp'"):
        export(store, tmp_path, study="nope")


# -- seedwise export --to wandb --------------------------------------------------------------


def test_cli_exports_offline_and_a_rerun_changes_nothing(store, tmp_path, capsys):
    argv = ["export", str(store), "--to", "wandb", "--project", "cli", "--dir", str(tmp_path), "--offline"]
    done = subprocess.run([sys.executable, "-m", "seedwise", *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "seedwise export to W&B: project cli" in done.stdout
    runs = offline_runs(tmp_path / "wandb")
    assert len(runs) == 6 and {r.group for r in runs} == {"mlp"} and {r.project for r in runs} == {"cli"}
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[2].split()[:6] == ["mlp", "0", "0", "0", "6", "0"]
    assert len(offline_runs(tmp_path / "wandb")) == 6


@pytest.mark.slow
def test_the_example_runs(tmp_path):
    example = Path(__file__).resolve().parents[2] / "examples" / "wandb_tracking.py"
    done = subprocess.run([sys.executable, str(example), "--out", tmp_path], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "logreg  0        0        0         8 " in done.stdout
    assert len(offline_runs(tmp_path / "wandb")) == 9  # the recorded run and the 8 seed runs
