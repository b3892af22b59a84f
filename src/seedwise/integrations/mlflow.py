"""MLflow: log a training run's seeds, ``seed_everything`` report and fingerprint; export a study's runs.

Needs the extra ``mlflow`` (``mlflow-skinny``, plus SQLAlchemy and Alembic for a local
``sqlite:///`` tracking store)::

    import mlflow
    import seedwise as sw
    from seedwise.integrations import mlflow as swml

    with mlflow.start_run():
        report = sw.seed_everything(0)
        swml.log_run(sw.Seeds(0), report)  # params: the seeds tree; tags: the report and the fingerprint

    swml.export_study("runs.sqlite", tracking_uri="sqlite:///mlflow.db", experiment="digits")

**Export layout.** One parent run per study (params: the design; tags: the fingerprint of
the process that created the study and the run counts; metrics: mean, std and n of each
metric per group of runs, at step = the number of finished runs; artifact:
``report.html``, the page of ``seedwise report``) and, nested under it, one child run per
finished seed run: its seeds tree, group, levels and config as params, the worker's
fingerprint as tags, its curves as metric histories (their steps), its final metrics
(logged after the curves, so a curve and a final metric of the same name end on the final
value), its start and end times, status ``FINISHED`` or ``FAILED`` (with the last line of
the traceback as the tag ``seedwise.error``), and ``seedwise/run.json`` with everything
the store holds for it.

**Exporting again** finds the runs by their tags (``seedwise.study_id``, ``seedwise.run``)
and adds only what is new: a run finished since is created, a failed run that has been
retried is updated in place, an unchanged run is left alone, and a run whose earlier
export was interrupted is replaced. A run exported as done whose results have changed
since is refused, before anything is written (:class:`~seedwise.errors.TrackerError`).
Two exports of one study into one experiment must not run at the same time.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

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
from seedwise.integrations._record import PREFIX, RunRecord, flatten, run_record, tracker_key
from seedwise.seeds import Seeds
from seedwise.streams import WELL_KNOWN

__all__ = ["log_run", "export_study", "DEFAULT_EXPERIMENT"]

#: The experiment :func:`export_study` writes to when none is named.
DEFAULT_EXPERIMENT = "seedwise"
#: MLflow's limits on one value (mlflow.utils.validation).
_PARAM_LIMIT, _TAG_LIMIT = 6000, 8000
_TRUNCATED = "... (truncated: the full value is in seedwise/run.json)"
_DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise MissingDependencyError("mlflow-skinny", "mlflow", "seedwise.integrations.mlflow") from None
    return mlflow


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """MLflow's own exceptions as :class:`TrackerError`, with MLflow's first line."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        message = str(exc.message if hasattr(exc, "message") else exc).strip().splitlines()
        raise TrackerError(f"MLflow: {message[0] if message else type(exc).__name__}") from exc


def _client(tracking_uri: str | None) -> Any:
    mlflow = _mlflow()
    if tracking_uri is not None and not isinstance(tracking_uri, str):
        raise InvalidTypeError(
            f"tracking_uri must be a str such as 'sqlite:///mlflow.db' or 'http://host:5000', got "
            f"{type(tracking_uri).__name__} {tracking_uri!r}"
        )
    uri = tracking_uri or mlflow.get_tracking_uri()
    if str(uri).split(":", 1)[0].split("+", 1)[0] in _DATABASE_SCHEMES:
        for package in ("sqlalchemy", "alembic"):
            try:
                __import__(package)
            except ImportError:
                raise MissingDependencyError(package, "mlflow", f"the MLflow tracking store {uri!r}") from None
    from mlflow.tracking import MlflowClient

    with _errors():
        return MlflowClient(tracking_uri=uri)


def _fit(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - len(_TRUNCATED)] + _TRUNCATED


def _log(
    client: Any,
    run_id: str,
    *,
    metrics: Sequence[tuple[str, float, int, int]] = (),
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Log ``(key, value, timestamp ms, step)`` metrics, params and tags in batches within MLflow's limits."""
    from mlflow.entities import Metric, Param, RunTag

    param_list = [Param(tracker_key(k), _fit(v, _PARAM_LIMIT)) for k, v in (params or {}).items()]
    tag_list = [RunTag(tracker_key(k), _fit(v, _TAG_LIMIT)) for k, v in (tags or {}).items()]
    metric_list = [Metric(tracker_key(k), v, ts, step) for k, v, ts, step in metrics]
    with _errors():
        for i in range(0, len(param_list), 100):
            client.log_batch(run_id, params=param_list[i : i + 100])
        for i in range(0, len(tag_list), 100):
            client.log_batch(run_id, tags=tag_list[i : i + 100])
        for i in range(0, len(metric_list), 1000):
            client.log_batch(run_id, metrics=metric_list[i : i + 1000])


def log_run(
    seeds: Seeds | int,
    report: object = None,
    *,
    run_id: str | None = None,
    tracking_uri: str | None = None,
    fingerprint: bool | Mapping[str, Any] = True,
    streams: Sequence[str] = WELL_KNOWN,
) -> RunRecord:
    """Log a training run's seeds tree (params), ``seed_everything`` report and fingerprint (tags) to MLflow.

    Args:
        seeds: the run's root :class:`~seedwise.Seeds` (or an int seed).
        report: what :func:`seedwise.seed_everything` returned, or ``None``.
        run_id: the MLflow run (default: the active one, ``mlflow.active_run()``).
        tracking_uri: the tracking store (default: MLflow's, as ``mlflow.start_run`` uses).
        fingerprint: ``True`` (take :func:`seedwise.fingerprint` now), ``False``, or a
            fingerprint dict taken earlier.
        streams: the child streams whose values are logged (default: the well-known ones).

    The keys are those of :mod:`seedwise.integrations._record` (``seedwise.seeds``,
    ``seedwise.seeds.init``, ``seedwise.seed_everything.torch.torch.manual_seed``,
    ``seedwise.fingerprint.versions.torch``, ...); the complete record is also attached
    as the artifact ``seedwise/run.json``. Params cannot change in MLflow: logging other
    seeds into the same run raises :class:`~seedwise.errors.TrackerError`.

    Returns the :class:`RunRecord` logged.
    """
    mlflow = _mlflow()
    record = run_record(seeds, report, fingerprint=fingerprint, streams=streams)
    if run_id is None:
        active = mlflow.active_run()
        if active is None:
            raise InvalidArgumentError(
                "run_id: no MLflow run is active; call log_run inside `with mlflow.start_run():`, or pass run_id="
            )
        run_id = active.info.run_id
    elif not isinstance(run_id, str):
        raise InvalidTypeError(f"run_id must be an MLflow run id (str), got {type(run_id).__name__} {run_id!r}")
    client = _client(tracking_uri)
    _log(client, run_id, params=record.params, tags=record.tags)
    with _errors():
        client.log_dict(run_id, record.document, "seedwise/run.json")
    return record


# -- study export -------------------------------------------------------------------------


def _ms(seconds: float | None) -> int:
    return round((time.time() if seconds is None else seconds) * 1000)


def _experiment(client: Any, name: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"experiment must be a non-empty str (an MLflow experiment name), got {name!r}")
    with _errors():
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            return str(client.create_experiment(name))
    if experiment.lifecycle_stage == "deleted":
        raise TrackerError(
            f"MLflow: the experiment {name!r} is deleted; restore it (mlflow experiments restore) or choose another"
        )
    return str(experiment.experiment_id)


def _existing(client: Any, experiment_id: str, study: StudyRuns) -> tuple[Any | None, dict[str, Any]]:
    """The study's parent run and its seed runs (by cell) already in the experiment."""
    found: list[Any] = []
    token = None
    with _errors():
        while True:
            page = client.search_runs(
                [experiment_id],
                filter_string=f"tags.`{PREFIX}.study_id` = '{study.study_id}'",
                max_results=1000,
                page_token=token,
            )
            found += list(page)
            token = page.token
            if not token:
                break
    parents = [r for r in found if r.data.tags.get(f"{PREFIX}.role") == "study"]
    children: dict[str, Any] = {}
    duplicates = []
    for run in found:
        cell = run.data.tags.get(f"{PREFIX}.run")
        if run.data.tags.get(f"{PREFIX}.role") == "run" and cell is not None:
            if cell in children:
                duplicates.append(f"{cell} ({children[cell].info.run_id}, {run.info.run_id})")
            children[cell] = run
    if len(parents) > 1:
        duplicates.insert(0, f"the study run ({', '.join(r.info.run_id for r in parents)})")
    if duplicates:
        raise TrackerError(
            f"MLflow: study {study.name!r} is in experiment {experiment_id} more than once: {duplicates[0]}"
            + (f" and {len(duplicates) - 1} more" if len(duplicates) > 1 else "")
            + "; were two exports running at once? Delete the extra runs (mlflow runs delete --run-id ...) and "
            "export again"
        )
    return (parents[0] if parents else None), children


def _identity(study: StudyRuns, role: str) -> dict[str, str]:
    return {f"{PREFIX}.role": role, f"{PREFIX}.study": study.name, f"{PREFIX}.study_id": study.study_id}


def _metrics(run: SeedRun) -> list[tuple[str, float, int, int]]:
    """Curves at their steps, then the final metrics at the last step, one millisecond later."""
    ts = _ms(run.finished)
    out = [
        (name, value, ts, step) for name, (steps, values) in run.curves.items() for step, value in zip(steps, values)
    ]
    last = max((step for _, _, _, step in out), default=0)
    out += [(name, value, ts + 1, last) for name, value in run.metrics.items()]
    keys: dict[str, str] = {}
    for name, *_ in out:
        if keys.setdefault(tracker_key(name), name) != name:
            raise TrackerError(
                f"MLflow: the metrics {keys[tracker_key(name)]!r} and {name!r} of {run.cell} both become "
                f"{tracker_key(name)!r} (MLflow allows only letters, digits, _ - . / and spaces); rename one"
            )
    return out


def _write_run(client: Any, experiment_id: str, parent_id: str, study: StudyRuns, run: SeedRun, action: Action,
               previous: Previous | None) -> str:  # fmt: skip
    """Create, replace or update the tracker run of one seed run; return its MLflow run id."""
    if action is Action.UPDATE and previous is not None:
        run_id = previous.tracker_id
        if run.status == "done":  # a failed run retried successfully: its error no longer holds
            with _errors():
                client.delete_tag(run_id, f"{PREFIX}.error")
    else:
        if action is Action.REPLACE and previous is not None:
            with _errors():
                client.delete_run(previous.tracker_id)
        tags = {**_identity(study, "run"), f"{PREFIX}.run": run.cell, f"{PREFIX}.source": run.group,
                "mlflow.parentRunId": parent_id}  # fmt: skip
        with _errors():
            run_id = client.create_run(
                experiment_id, start_time=_ms(run.started), tags=tags, run_name=run.cell
            ).info.run_id
        params = flatten("", run.config)
        params.update({f"{PREFIX}.group": run.group, f"{PREFIX}.level": str(run.level)})
        params.update(flatten(f"{PREFIX}.levels", run.levels))
        if run.arm is not None:
            params[f"{PREFIX}.arm"] = run.arm
        params.update(run_record(run.seeds, fingerprint=False).params)
        _log(client, run_id, params=params)
    tags = flatten(f"{PREFIX}.fingerprint", run.worker or {})
    if run.duration is not None:
        tags[f"{PREFIX}.duration_s"] = f"{run.duration:.3f}"
    if run.status == "failed":
        tags[f"{PREFIX}.error"] = run.error_line or "failed"
    _log(client, run_id, metrics=_metrics(run) if run.status == "done" else (), tags=tags)
    with _errors():
        client.log_dict(run_id, run.to_dict(), "seedwise/run.json")
    # Written last: a run without a digest is an interrupted export, replaced by the next one.
    _log(client, run_id, tags={f"{PREFIX}.status": run.status, f"{PREFIX}.digest": run.digest})
    with _errors():
        client.set_terminated(run_id, "FINISHED" if run.status == "done" else "FAILED", end_time=_ms(run.finished))
    return str(run_id)


def _create_parent(client: Any, experiment_id: str, study: StudyRuns) -> str:
    """A new parent run for ``study``: its identity, the design as params, the creating process's fingerprint."""
    start = min((r.started for r in study.runs if r.started is not None), default=None)
    with _errors():
        parent_id = client.create_run(
            experiment_id, start_time=_ms(start), tags=_identity(study, "study"), run_name=study.name
        ).info.run_id
    tags = flatten(f"{PREFIX}.fingerprint", study.fingerprint)
    tags[f"{PREFIX}.store"] = str(Path(study.store.path).resolve()) if study.store.path else ":memory:"
    _log(client, parent_id, params=flatten(f"{PREFIX}.design", study.design), tags=tags)
    return str(parent_id)


def _update_parent(client: Any, parent_id: str, study: StudyRuns, metric: str | None, report: bool) -> None:
    """The parent's counts, summary metrics and report.html; FINISHED once every run is, RUNNING until then."""
    with _errors():
        status = client.get_run(parent_id).info.status
        if study.unfinished and status != "RUNNING":
            client.update_run(parent_id, status="RUNNING")
    done = sum(r.status == "done" for r in study.runs)
    counts = {"done": done, "failed": len(study.runs) - done, "unfinished": study.unfinished}
    step, now = len(study.runs), _ms(None)
    summary = [(key, value, now, step) for key, value in study.summary().items() if math.isfinite(value)]
    _log(client, parent_id, metrics=summary, tags={f"{PREFIX}.runs.{k}": str(v) for k, v in counts.items()})
    if report:
        from seedwise.report import write_report

        with tempfile.TemporaryDirectory(prefix="seedwise-export-") as tmp:
            page = write_report(study.store, tmp, study=study.name, metric=metric)
            with _errors():
                client.log_artifact(parent_id, str(page))
    _log(client, parent_id, tags={f"{PREFIX}.digest": study.digest})
    if not study.unfinished:
        end = max((r.finished for r in study.runs if r.finished is not None), default=None)
        with _errors():
            client.set_terminated(parent_id, "FINISHED", end_time=_ms(end))


def export_study(
    store: Any,
    *,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    study: str | None = None,
    metric: str | None = None,
    report: bool = True,
) -> ExportReport:
    """Export the runs of a study store to MLflow (see the module docstring for the layout).

    Args:
        store: the study store (a path to ``RUNS.sqlite``, or a ``seedwise.study.Store``).
        tracking_uri: the MLflow tracking store, e.g. ``"sqlite:///mlflow.db"`` or
            ``"http://host:5000"`` (default: MLflow's, from ``MLFLOW_TRACKING_URI``).
        experiment: the experiment (created if missing).
        study: one study's name (default: every study in the store).
        metric: the metric ``report.html`` analyses (default: the one the study names, else the first its runs report).
        report: attach ``report.html`` to each study's parent run.

    Only finished runs (done or failed) are exported; export again later for the rest.
    Exporting again never duplicates a run (see the module docstring).

    Returns an :class:`~seedwise.integrations._export.ExportReport`: per study, how many
    runs were created, updated, replaced, left unchanged or are not finished.
    """
    if not isinstance(report, bool):
        raise InvalidTypeError(f"report must be True or False, got {report!r}")
    studies = read_studies(store, study)
    client = _client(tracking_uri)
    experiment_id = _experiment(client, experiment)
    out = ExportReport("MLflow", f"{client.tracking_uri}, experiment {experiment!r}")
    for runs in studies:
        where, actions = _export_study(client, experiment_id, runs, metric, report)
        out.add(runs, where, actions)
    return out


def _export_study(client: Any, experiment_id: str, study: StudyRuns, metric: str | None,
                  report: bool) -> tuple[str, list[tuple[SeedRun, Action, str]]]:  # fmt: skip
    """Decide for every finished run (refusing conflicts before writing), then write what changed."""
    parent, children = _existing(client, experiment_id, study)
    previous = {
        cell: Previous(r.info.run_id, r.data.tags.get(f"{PREFIX}.status"), r.data.tags.get(f"{PREFIX}.digest"))
        for cell, r in children.items()
    }
    decisions = [decide(run, previous.get(run.cell)) for run in study.runs]
    refuse_conflicts("MLflow", study, decisions)
    plan = [(run, Action(d), previous.get(run.cell)) for run, d in zip(study.runs, decisions)]
    same_study = parent is not None and parent.data.tags.get(f"{PREFIX}.digest") == study.digest
    if parent is not None and same_study and all(action is Action.UNCHANGED for _, action, _ in plan):
        return f"experiment {experiment_id}, run {parent.info.run_id}", [
            (run, action, before.tracker_id if before else "") for run, action, before in plan
        ]
    parent_id = parent.info.run_id if parent is not None else _create_parent(client, experiment_id, study)
    actions: list[tuple[SeedRun, Action, str]] = []
    for run, action, before in plan:
        if action is Action.UNCHANGED and before is not None:
            actions.append((run, action, before.tracker_id))
        else:
            actions.append((run, action, _write_run(client, experiment_id, parent_id, study, run, action, before)))
    _update_parent(client, parent_id, study, metric, report)
    return f"experiment {experiment_id}, run {parent_id}", actions
