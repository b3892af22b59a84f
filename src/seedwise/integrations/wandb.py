"""Weights & Biases: log a training run's seeds, ``seed_everything`` report and fingerprint; export a study's runs.

Needs the extra ``wandb``::

    import wandb
    import seedwise as sw
    from seedwise.integrations import wandb as swwb

    run = wandb.init(project="digits")
    swwb.log_run(sw.Seeds(0), sw.seed_everything(0))  # run.config["seedwise"]: seeds tree, report, fingerprint
    run.finish()

    swwb.export_study("runs.sqlite", project="digits")  # with WANDB_MODE=offline: local run directories

**Export layout.** A group per study (the study's name) and in it a run per finished seed
run: its name is the cell (``init/3``), its job type the group of runs (the source it
varies, ``all``, ...), its tags ``seedwise`` and the status; its config is the run's
config plus ``seedwise``: study, study id, cell, group, level, levels, arm, the seeds
tree (64-bit values as strings) and the worker's fingerprint; its history holds the
curves at their steps, its summary the final metrics (``seedwise/error``, the last line
of the traceback, for a failed run, which exits with code 1). The run's files hold
``seedwise-export.json``: what was exported, and its digest.

**Exporting again.** A seed run's W&B id is derived from the study's identity and the
cell (``sw-`` and 20 hex digits), so every export of it writes the same run: W&B
resumes it (``resume="allow"``) instead of creating another. Before writing, the export
reads ``seedwise-export.json`` in the local run directories (``DIR/wandb/*-<id>``, kept
offline and online): an unchanged run is skipped, a failed run that has since been
retried is updated, a run whose earlier export was interrupted is written again, and a
run exported as done whose results have changed is refused before anything is written
(:class:`~seedwise.errors.TrackerError`). Exported from another machine (no local
directory), the same ids are resumed and the same values sent again; a resumed run keeps
the history it has and gets only the steps after it. Offline runs are uploaded later
with ``wandb sync DIR/wandb/offline-run-*``.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from seedwise._validate import check_choice
from seedwise._version import __version__
from seedwise.errors import InvalidArgumentError, InvalidTypeError, MissingDependencyError, TrackerError
from seedwise.integrations._export import (
    Action,
    ExportReport,
    Previous,
    SeedRun,
    StudyRuns,
    decide,
    read_studies,
    refuse_conflicts,
)
from seedwise.integrations._record import PREFIX, RunRecord, run_record
from seedwise.seeds import Seeds
from seedwise.streams import WELL_KNOWN

__all__ = ["log_run", "export_study", "run_id", "EXPORT_FILE"]

#: The file in each exported run's files that records what was exported.
EXPORT_FILE = "seedwise-export.json"
#: W&B's own knobs for an export: no console capture, system metrics, code, git or host
#: details of the exporting process (the runs happened elsewhere, earlier).
_SETTINGS = {
    "console": "off",
    "silent": True,
    "save_code": False,
    "disable_code": True,
    "disable_git": True,
    "x_disable_stats": True,
    "x_disable_meta": True,
    "x_save_requirements": False,
}
_RUN_DIR = re.compile(r"^(?:offline-)?run-(\d{8}_\d{6})-(.+)$")


def _wandb() -> Any:
    try:
        import wandb
    except ImportError:
        raise MissingDependencyError("wandb", "wandb", "seedwise.integrations.wandb") from None
    return wandb


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """W&B's own exceptions as :class:`TrackerError`, with W&B's first line."""
    from wandb.errors import Error

    try:
        yield
    except Error as exc:
        lines = str(exc).strip().splitlines()
        raise TrackerError(f"W&B: {lines[0] if lines else type(exc).__name__}") from exc


def log_run(
    seeds: Seeds | int,
    report: object = None,
    *,
    run: Any = None,
    fingerprint: bool | Mapping[str, Any] = True,
    streams: Sequence[str] = WELL_KNOWN,
) -> RunRecord:
    """Log a training run's seeds tree, ``seed_everything`` report and fingerprint to its W&B config.

    Args:
        seeds: the run's root :class:`~seedwise.Seeds` (or an int seed).
        report: what :func:`seedwise.seed_everything` returned, or ``None``.
        run: the W&B run (default: the current one, ``wandb.run``).
        fingerprint: ``True`` (take :func:`seedwise.fingerprint` now), ``False``, or a
            fingerprint dict taken earlier.
        streams: the child streams whose values are logged (default: the well-known ones).

    Everything goes under ``run.config["seedwise"]``: ``seeds`` (``root``, the stream as
    ``Seeds.to_json()``, and ``streams``, each named child's ``int`` as a string),
    ``seed_everything`` (the report's ``to_dict()``) and ``fingerprint``. W&B refuses to
    change a config value: logging other seeds into the same run raises
    :class:`~seedwise.errors.TrackerError`.

    Returns the :class:`RunRecord` logged.
    """
    wandb = _wandb()
    record = run_record(seeds, report, fingerprint=fingerprint, streams=streams)
    target = wandb.run if run is None else run
    if target is None:
        raise InvalidArgumentError("run: no W&B run is active; call log_run after wandb.init(), or pass run=")
    if not hasattr(target, "config"):
        raise InvalidTypeError(f"run must be a W&B run (what wandb.init() returns), got {type(target).__name__}")
    with _errors():
        target.config.update({PREFIX: record.document})
    return record


# -- study export -------------------------------------------------------------------------


def run_id(study: StudyRuns | str, cell: str) -> str:
    """The W&B run id of seed run ``cell`` of a study (given as its ``study_id`` or read study)."""
    study_id = study if isinstance(study, str) else study.study_id
    return "sw-" + hashlib.sha256(f"{study_id}/{cell}".encode()).hexdigest()[:20]


def _wandb_dir(wandb: Any, root: str | os.PathLike[str] | None) -> Path:
    """Where ``wandb.init(dir=root)`` puts its run directories.

    With ``root=None`` that is W&B's process-wide setting (``WANDB_DIR`` or the current
    directory *when W&B was first set up in this process*), read from W&B itself.
    """
    if root is None:
        return Path(wandb.setup().settings.wandb_dir)
    base = Path(root).expanduser()
    return base / ".wandb" if (base / ".wandb").exists() else base / "wandb"


def _previous(wandb_dir: Path, identifier: str) -> Previous | None:
    """What the newest local run directory of ``identifier`` says was exported (None: never exported here)."""
    dirs = []
    if wandb_dir.is_dir():
        for path in wandb_dir.iterdir():
            match = _RUN_DIR.match(path.name)
            if match and match.group(2) == identifier and path.is_dir():
                dirs.append((match.group(1), path.stat().st_mtime, path))
    if not dirs:
        return None
    newest = max(dirs)[2]
    try:
        recorded = json.loads((newest / "files" / EXPORT_FILE).read_text(encoding="utf-8"))
        return Previous(str(newest), str(recorded["status"]), str(recorded["digest"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Previous(str(newest), None, None)  # an interrupted export: written again


def _after_previous_second(previous: Previous | None) -> None:
    """Wait, if need be, until the second in which ``previous`` was written has passed.

    W&B names a run directory after the start second and the run id, so writing the same
    run twice within one second would reuse (and clobber) the first directory.
    """
    match = _RUN_DIR.match(Path(previous.tracker_id).name) if previous is not None else None
    while match and datetime.datetime.now().strftime("%Y%m%d_%H%M%S") <= match.group(1):
        time.sleep(0.05)


def _history(run: SeedRun) -> list[tuple[int, dict[str, float]]]:
    """The curves as W&B history rows, one per step, in step order."""
    rows: dict[int, dict[str, float]] = {}
    for name, (steps, values) in run.curves.items():
        for step, value in zip(steps, values):
            rows.setdefault(step, {})[name] = value
    return sorted(rows.items())


def _config(study: StudyRuns, run: SeedRun) -> dict[str, Any]:
    if PREFIX in run.config:
        raise TrackerError(
            f"W&B: the config of study {study.name!r} has a key {PREFIX!r}, where the export puts its own record; "
            "rename that key"
        )
    record = run_record(run.seeds, fingerprint=run.worker or False).document
    ours = {
        "study": study.name,
        "study_id": study.study_id,
        "run": run.cell,
        "group": run.group,
        "level": run.level,
        "levels": run.levels,
        "arm": run.arm,
        "seeds": record["seeds"],
        "fingerprint": record["fingerprint"],
    }
    return {**run.config, PREFIX: ours}


def _write_run(wandb: Any, study: StudyRuns, run: SeedRun, options: Mapping[str, Any]) -> None:
    """Write one seed run: created, or resumed under its id."""
    settings = wandb.Settings(**{k: v for k, v in _SETTINGS.items() if k in wandb.Settings.model_fields})
    with _errors():
        target = wandb.init(
            **options,
            group=study.name,
            job_type=run.group,
            name=run.cell,
            id=run_id(study, run.cell),
            resume="allow",
            config=_config(study, run),
            tags=[PREFIX, run.status],
            reinit="create_new",
            settings=settings,
        )
    done = run.status == "done"
    try:
        with _errors():
            first = int(target.step) if target.resumed else 0  # a resumed run keeps the history it has
            if done:
                for step, row in _history(run):
                    if step >= first:
                        target.log(row, step=step)
                target.summary.update(run.metrics)
            else:
                target.summary.update({f"{PREFIX}/error": run.error_line or "failed"})
            target.summary.update({f"{PREFIX}/status": run.status, f"{PREFIX}/duration_s": run.duration})
            directory = Path(target.dir)
            exported = {"study": study.name, "study_id": study.study_id, "run": run.cell, "status": run.status,
                        "digest": run.digest, "seedwise": __version__}  # fmt: skip
            # Written last: a run directory without it is an interrupted export, written again next time.
            (directory / EXPORT_FILE).write_text(json.dumps(exported, indent=1), encoding="utf-8")
    except BaseException:
        target.finish(exit_code=1)
        raise
    with _errors():
        target.finish(exit_code=0 if done else 1)


def export_study(
    store: Any,
    *,
    project: str,
    entity: str | None = None,
    study: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    mode: str | None = None,
) -> ExportReport:
    """Export the runs of a study store to W&B (see the module docstring for the layout).

    Args:
        store: the study store (a path to ``RUNS.sqlite``, or a ``seedwise.study.Store``).
        project: the W&B project.
        entity: the W&B entity (user or team; default: W&B's default for the API key).
        study: one study's name (default: every study in the store).
        dir: where W&B writes its run directories (default: W&B's, ``WANDB_DIR`` or the
            current directory when W&B was first set up in this process); the export
            reads earlier exports from there, so export again with the same ``dir``.
        mode: ``"online"`` or ``"offline"`` (default: W&B's, ``WANDB_MODE``).

    Only finished runs (done or failed) are exported; export again later for the rest.

    Returns an :class:`~seedwise.integrations._export.ExportReport`: per study, how many
    runs were created, updated, replaced, left unchanged or are not finished.
    """
    if not isinstance(project, str) or not project:
        raise InvalidArgumentError(f"project must be a non-empty str (a W&B project name), got {project!r}")
    if entity is not None and not isinstance(entity, str):
        raise InvalidTypeError(f"entity must be a str (a W&B user or team) or None, got {entity!r}")
    if mode is not None:
        check_choice("mode", mode, ("online", "offline"))
    studies = read_studies(store, study)
    wandb = _wandb()
    wandb_dir = _wandb_dir(wandb, dir)
    options = {"project": project, "entity": entity, "dir": os.fspath(dir) if dir is not None else None, "mode": mode}
    out = ExportReport("W&B", f"project {entity + '/' if entity else ''}{project} ({wandb_dir})")
    for runs in studies:
        previous = {run.cell: _previous(wandb_dir, run_id(runs, run.cell)) for run in runs.runs}
        decisions = [decide(run, previous[run.cell]) for run in runs.runs]
        refuse_conflicts("W&B", runs, decisions)
        actions: list[tuple[SeedRun, Action, str]] = []
        for run, decision in zip(runs.runs, decisions):
            action = Action(decision)
            if action is not Action.UNCHANGED:
                _after_previous_second(previous[run.cell])
                _write_run(wandb, runs, run, options)
            actions.append((run, action, run_id(runs, run.cell)))
        out.add(runs, f"group {runs.name!r}", actions)
    return out
