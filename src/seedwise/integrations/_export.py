"""A study's runs as a tracker export sees them, and what an export does with each one.

Shared by the MLflow and W&B exporters:

* :func:`read_studies` reads a store through the public study API (``Store``,
  ``Results.runs()``) into :class:`StudyRuns`: the finished runs (done or failed) with
  their seeds, config, metrics and curves, and how many are not finished yet (those are
  exported by a later export, once they finish).
* **Identity.** A study's ``study_id`` is a hash of its name and of every run's cell,
  seeds and config: the same study in any copy of the store has the same id, another
  study (another name, base seed, design or config) another one. A seed run is
  ``(study_id, cell)``. Trackers keep both as tags (``seedwise.study_id``,
  ``seedwise.run``), and W&B run ids derive from them.
* **Content.** A run's ``digest`` hashes its status, metrics, curves and error: an
  exporter writes it last, so a run whose export was interrupted has none.
* :func:`decide`: what to do with a run, given what the tracker already holds
  (:class:`Action`); a run exported as done whose content has since changed is a
  conflict, refused before anything is written.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedwise._table import TableReport
from seedwise.errors import InvalidArgumentError, InvalidTypeError, TrackerError
from seedwise.seeds import Seeds

__all__ = ["Action", "ExportReport", "Previous", "SeedRun", "StudyRuns", "decide", "read_studies", "refuse_conflicts"]

#: Statuses of a finished run: the ones an export sends.
FINISHED = ("done", "failed")


def _hash(document: Any, n: int = 16) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


@dataclass(frozen=True)
class SeedRun:
    """One finished run of a study, as the store holds it."""

    study: str
    study_id: str
    cell: str
    group: str
    level: int
    levels: dict[str, int]
    arm: str | None
    status: str
    seeds: Seeds
    config: dict[str, Any]
    metrics: dict[str, float]
    curves: dict[str, tuple[list[int], list[float]]]
    started: float | None
    finished: float | None
    duration: float | None
    error: str | None
    worker: dict[str, Any] | None

    @property
    def error_line(self) -> str | None:
        """The last line of a failed run's traceback (the store keeps all of it)."""
        lines = (self.error or "").strip().splitlines()
        return lines[-1] if lines else None

    @property
    def digest(self) -> str:
        """A hash of what the run produced: status, metrics, curves and error."""
        curves = {k: [list(s), list(v)] for k, (s, v) in self.curves.items()}
        return _hash({"status": self.status, "metrics": self.metrics, "curves": curves, "error": self.error_line})

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready data (the ``seedwise/run.json`` an exporter attaches)."""
        return {
            "study": self.study,
            "study_id": self.study_id,
            "cell": self.cell,
            "group": self.group,
            "level": self.level,
            "levels": self.levels,
            "arm": self.arm,
            "status": self.status,
            "seeds": self.seeds.to_dict(),
            "config": self.config,
            "metrics": self.metrics,
            "curves": {k: {"step": s, "value": v} for k, (s, v) in self.curves.items()},
            "started": self.started,
            "finished": self.finished,
            "duration": self.duration,
            "error": self.error,
            "worker": self.worker,
            "digest": self.digest,
        }


@dataclass(frozen=True)
class StudyRuns:
    """A study read from its store: identity, design, and its finished runs."""

    name: str
    study_id: str
    design: dict[str, Any]
    fingerprint: dict[str, Any]
    runs: tuple[SeedRun, ...]
    unfinished: int
    store: Any

    @property
    def metrics(self) -> list[str]:
        """Metric names, in the order the runs returned them."""
        names: list[str] = []
        for run in self.runs:
            names += [m for m in run.metrics if m not in names]
        return names

    @property
    def digest(self) -> str:
        """A hash of every finished run's digest and of what is not finished yet."""
        return _hash({"runs": {r.cell: r.digest for r in self.runs}, "unfinished": self.unfinished})

    def summary(self) -> dict[str, float]:
        """Per metric and group (arm:group for paired studies): mean, std and n of the done runs' finite values."""
        groups: dict[str, dict[str, list[float]]] = {}
        for run in self.runs:
            if run.status != "done":
                continue
            group = run.group if run.arm is None else f"{run.arm}:{run.group}"
            for metric, value in run.metrics.items():
                if math.isfinite(value):
                    groups.setdefault(metric, {}).setdefault(group, []).append(value)
        out: dict[str, float] = {}
        for metric, by_group in groups.items():
            for group, values in by_group.items():
                n = len(values)
                mean = math.fsum(values) / n
                std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
                out.update({f"{metric}.{group}.mean": mean, f"{metric}.{group}.std": std, f"{metric}.{group}.n": n})
        return out


def _seed_run(name: str, study_id: str, run: Mapping[str, Any]) -> SeedRun:
    curves = {
        str(curve): ([int(s) for s in data["step"]], [float(v) for v in data["value"]])
        for curve, data in (run["curves"] or {}).items()
    }
    return SeedRun(
        study=name,
        study_id=study_id,
        cell=run["cell"],
        group=run["group"],
        level=int(run["level"]),
        levels=dict(run["levels"] or {}),
        arm=run["arm"],
        status=run["status"],
        seeds=Seeds.from_json(run["seeds"]),
        config=dict(run["config"] or {}),
        metrics={str(k): float(v) for k, v in (run["metrics"] or {}).items()},
        curves=curves,
        started=run["started"],
        finished=run["finished"],
        duration=run["duration"],
        error=run["error"],
        worker=run["worker"],
    )


def read_studies(store: Any, study: str | None = None) -> list[StudyRuns]:
    """Every study in ``store`` (a path to a study store, or a ``seedwise.study.Store``), or the one named."""
    from seedwise.study import Results, Store

    if isinstance(store, (str, os.PathLike)):
        if not Path(store).is_file():
            raise InvalidArgumentError(
                f"store: the study store {os.fspath(store)!r} does not exist; give the RUNS.sqlite a study wrote"
            )
        store = Store(store)
    elif not isinstance(store, Store):
        raise InvalidTypeError(f"store must be a path to a study store or a seedwise.study.Store, got {store!r}")
    names = store.studies()
    if not names:
        raise InvalidArgumentError(f"store: {store.path} holds no study yet; nothing to export")
    if study is not None:
        if study not in names:
            raise InvalidArgumentError(f"study must be one of {', '.join(repr(n) for n in names)}; got {study!r}")
        names = [study]
    out = []
    for name in names:
        runs = Results(store, name).runs()
        study_id = _hash({"study": name, "runs": [[r["cell"], r["seeds"], r["config"]] for r in runs]}, 12)
        finished = tuple(_seed_run(name, study_id, r) for r in runs if r["status"] in FINISHED)
        out.append(
            StudyRuns(
                name=name,
                study_id=study_id,
                design=store.design(name),
                fingerprint=store.fingerprint(name),
                runs=finished,
                unfinished=len(runs) - len(finished),
                store=store,
            )
        )
    return out


class Action(enum.StrEnum):
    """What an export does with one finished run."""

    CREATE = "created"  # the tracker has no run for it yet
    UPDATE = "updated"  # exported as failed, and since retried: its tracker run is updated in place
    REPLACE = "replaced"  # an earlier export of it was interrupted: its partial tracker run is replaced
    UNCHANGED = "unchanged"  # exported, with the same content


@dataclass(frozen=True)
class Previous:
    """What a tracker holds for one run: its tracker id, and the status and digest exported (None: incomplete)."""

    tracker_id: str
    status: str | None
    digest: str | None


def decide(run: SeedRun, previous: Previous | None) -> Action | str:
    """The :class:`Action` for ``run``, or the text of a conflict."""
    if previous is None:
        return Action.CREATE
    if previous.digest is None:
        return Action.REPLACE
    if previous.digest == run.digest:
        return Action.UNCHANGED
    if previous.status == "failed":
        return Action.UPDATE
    return (
        f"{run.cell} was exported as {previous.status} ({previous.tracker_id}) and its results in the store have "
        f"changed since (now {run.status})"
    )


def refuse_conflicts(tracker: str, study: StudyRuns, decisions: Iterable[Action | str]) -> None:
    """Raise :class:`TrackerError` listing the conflicts among ``decisions``, before anything is written."""
    conflicts = [d for d in decisions if not isinstance(d, Action)]
    if conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise TrackerError(
            f"{tracker}: {len(conflicts)} run(s) of study {study.name!r} conflict with an earlier export: "
            f"{conflicts[0]}{more}; nothing was written. A finished run's results should not change (a "
            "nondeterministic rerun, or another store with the same study?): export to another "
            f"{'experiment' if tracker == 'MLflow' else 'project'}, or delete the earlier runs there and export again"
        )


@dataclass(repr=False)
class ExportReport(TableReport):
    """What an export did, per study: runs created, updated, replaced, unchanged, and not finished yet.

    Attributes:
        tracker: ``"MLflow"`` or ``"W&B"``.
        target: where the runs went (the tracking URI and experiment, or the project).
        studies: one dict per study (``study``, ``study_id``, ``where``, a count per
            :class:`Action` value, ``unfinished``).
        runs: one ``(study, cell, action, tracker id)`` per finished run.
    """

    tracker: str
    target: str
    studies: list[dict[str, Any]] = field(default_factory=list)
    runs: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, study: StudyRuns, where: str, actions: list[tuple[SeedRun, Action, str]]) -> None:
        counts = {a.value: sum(1 for _, b, _ in actions if b is a) for a in Action}
        self.studies.append(
            {"study": study.name, "study_id": study.study_id, "where": where, **counts, "unfinished": study.unfinished}
        )
        self.runs += [(study.name, run.cell, action.value, tracker_id) for run, action, tracker_id in actions]

    def count(self, action: Action | str) -> int:
        """How many runs (all studies) got ``action`` (an :class:`Action` or ``"unfinished"``)."""
        key = action.value if isinstance(action, Action) else action
        return sum(int(s[key]) for s in self.studies)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracker": self.tracker,
            "target": self.target,
            "studies": [dict(s) for s in self.studies],
            "runs": [list(r) for r in self.runs],
        }

    def _title(self) -> str:
        return f"seedwise export to {self.tracker}: {self.target}"

    def _columns(self) -> tuple[str, ...]:
        return ("study", *(a.value for a in Action), "unfinished", "where")

    def _rows(self) -> list[tuple[str, ...]]:
        return [
            (s["study"], *(str(s[a.value]) for a in Action), str(s["unfinished"]), s["where"]) for s in self.studies
        ]

    def _repr_fields(self) -> dict[str, Any]:
        return {"tracker": self.tracker, "studies": len(self.studies), **{a.value: self.count(a) for a in Action}}
