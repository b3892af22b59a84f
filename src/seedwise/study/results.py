"""``Results``: the runs of a study read back from its store, as tables and statistics.

Statistics come from :mod:`seedwise.stats`, with seeds for every resampling: by default
``Seeds(base_seed)["study-stats"]``, so the same store gives the same intervals.
Failed runs are counted and left out of every statistic.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds
from seedwise.study.design import ALL_GROUP, REPLICATE_GROUP, Design
from seedwise.study.store import Store, StoreLike, existing_store, open_store
from seedwise.study.variance import VarianceReport, text_table_class

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Results", "VarianceReport", "load_results"]

#: Columns of :meth:`Results.table` before the metrics.
BASE_COLUMNS = ("cell", "source", "level", "levels", "arm", "status")
#: Columns of :meth:`Results.table` after the metrics.
TAIL_COLUMNS = ("duration", "attempts", "error")


class _Runnable(Protocol):
    """What :meth:`Results.compare` needs of the study behind the results: a sibling study it can run."""

    def sibling(self, name: str, config: Mapping[str, Any]) -> Any: ...


class Results:
    """The runs of one study in a store.

    Read fresh from the store on every call, so a ``Results`` of a study still running
    elsewhere shows its progress.
    """

    def __init__(self, store: Store, name: str, *, study: _Runnable | None = None):
        if not isinstance(store, Store):
            raise InvalidTypeError(f"store must be a seedwise.study.Store, got {type(store).__name__}")
        self.store = store
        self.name = name
        self.design = Design.from_dict(store.design(name))
        self._study = study
        info = store.info(name)
        #: The metric the study names (its ``metric=``), or None: then the first one the runs report.
        self.main_metric: str | None = info.get("metric")
        #: What the study runs: ``{"kind": "function", "train": ...}`` or ``{"kind": "command", "commands": ...}``.
        self.info = info

    # -- raw data -------------------------------------------------------------------

    def runs(self) -> list[dict[str, Any]]:
        """Every run as a dict (cell, group, level, levels, arm, seeds, config, status, metrics, ...)."""
        return self.store.runs(self.name)

    def counts(self) -> dict[str, int]:
        """Number of runs in each status."""
        return self.store.counts(self.name)

    @property
    def metrics(self) -> list[str]:
        """Metric names, in the order the first finished run returned them."""
        names: list[str] = []
        for run in self.runs():
            for key in run["metrics"] or {}:
                if key not in names:
                    names.append(key)
        return names

    def for_arm(self, arm: str) -> Results:
        """The runs of one arm of a paired study, as a study of their own (named ``"<study>:<arm>"``).

        Two arms' views compare as two studies that ran the same cells on the same seeds:
        ``results.for_arm("new").compare(results.for_arm("baseline"))`` is paired.
        """
        return _ArmResults(self, self._arm(arm))

    def logs(self, cell: str) -> dict[str, str | None]:
        """The end of the stdout and stderr of one command run, ``{"stdout": ..., "stderr": ...}`` (None: not kept)."""
        return self.store.logs(self.name, cell)

    @property
    def default_metric(self) -> str:
        """The metric summaries show when not told: the one the study names, else the first the runs report."""
        return self._metric(None)

    def _metric(self, metric: str | None) -> str:
        names = self.metrics
        if not names:
            raise InvalidArgumentError(f"study {self.name!r} has no finished run yet, so no metric to analyse")
        if metric is None:
            if self.main_metric is None:
                return names[0]
            if self.main_metric not in names:
                raise InvalidArgumentError(
                    f"study {self.name!r} names the metric {self.main_metric!r}, which no finished run reports "
                    f"(they report {', '.join(repr(m) for m in names)}); pass one of those"
                )
            return self.main_metric
        if metric not in names:
            raise InvalidArgumentError(
                f"metric must be one of {', '.join(repr(m) for m in names)} (what train returned in study "
                f"{self.name!r}); got {metric!r}"
            )
        return metric

    def _seeds(self, seeds: Seeds | None) -> Seeds:
        return Seeds(self.design.base_seed)["study-stats"] if seeds is None else seeds

    def table(self) -> pd.DataFrame:
        """One row per run: cell, source (the group), level, levels, arm, status, each metric, duration, attempts,
        error. A failed run's metrics are NaN.
        """
        import pandas as pd

        runs = self.runs()
        metrics = self.metrics
        rows = []
        for run in runs:
            row: dict[str, Any] = {
                "cell": run["cell"],
                "source": run["group"],
                "level": run["level"],
                "levels": ",".join(f"{k}={v}" for k, v in (run["levels"] or {}).items()),
                "arm": run["arm"],
                "status": run["status"],
            }
            values = run["metrics"] or {}
            for m in metrics:
                key = m if m not in BASE_COLUMNS + TAIL_COLUMNS else f"metric:{m}"
                row[key] = float(values[m]) if m in values else math.nan
            row.update(duration=run["duration"], attempts=run["attempts"], error=run["error"])
            rows.append(row)
        columns = list(BASE_COLUMNS) + [m if m not in BASE_COLUMNS + TAIL_COLUMNS else f"metric:{m}" for m in metrics]
        return pd.DataFrame(rows, columns=columns + list(TAIL_COLUMNS))

    def curves(self) -> pd.DataFrame:
        """Learning curves reported by ``train``: one row per (run, curve, step)."""
        import pandas as pd

        rows = []
        for run in self.runs():
            for curve, data in (run["curves"] or {}).items():
                for step, value in zip(data["step"], data["value"]):
                    rows.append((run["cell"], run["group"], run["level"], run["arm"], curve, step, value))
        return pd.DataFrame(rows, columns=["cell", "source", "level", "arm", "curve", "step", "value"])

    def values(self, metric: str | None = None, *, group: str | None = None, arm: str | None = None) -> dict[str, Any]:
        """``{cell: value}`` of one metric for the runs of ``group`` (default: every group); NaN if failed."""
        metric = self._metric(metric)
        out = {}
        for run in self.runs():
            if group is not None and run["group"] != group:
                continue
            if arm is not None and run["arm"] != arm:
                continue
            if run["status"] in ("done", "failed"):
                out[run["cell"]] = float((run["metrics"] or {}).get(metric, math.nan))
        return out

    # -- statistics -----------------------------------------------------------------

    def _arm(self, arm: str | None) -> str | None:
        if not self.design.paired:
            if arm is not None:
                raise InvalidArgumentError(f"study {self.name!r} has no arms (it was not created with paired=...)")
            return None
        arms = list(self.design.paired)
        if arm is None:
            return arms[0]
        if arm not in arms:
            raise InvalidArgumentError(f"arm must be one of {', '.join(repr(a) for a in arms)}; got {arm!r}")
        return arm

    def main_group(self) -> str | None:
        """The group whose spread is the study's total seed variance: ``"all"``, or every run (factorial)."""
        return None if self.design.kind == "factorial" else ALL_GROUP

    def _main_values(self, metric: str, arm: str | None) -> dict[str, float]:
        values = self.values(metric, group=self.main_group(), arm=arm)
        return {c: v for c, v in values.items() if not c.split(":")[-1].startswith(REPLICATE_GROUP + "/")}

    def summary_frame(self, metric: str | None = None, *, seeds: Seeds | None = None) -> pd.DataFrame:
        """Per group (and arm): runs, failed, mean, std, median, IQM and the 95% CI of the mean, as a DataFrame."""
        import pandas as pd

        from seedwise import stats

        metric = self._metric(metric)
        seeds = self._seeds(seeds)
        rows = []
        for (arm, group), values in self._grouped(metric).items():
            d = stats.describe(values, seeds=seeds[group if arm is None else f"{arm}:{group}"])
            rows.append(
                {"arm": arm, "source": group, "runs": d.n, "failed": d.failures, "mean": d.mean, "std": d.std,
                 "median": d.median, "iqm": d.iqm, "ci_low": d.ci_low, "ci_high": d.ci_high, "ci_method": d.ci_method}
            )  # fmt: skip
        frame = pd.DataFrame(rows, columns=["arm", "source", "runs", "failed", "mean", "std", "median", "iqm",
                                            "ci_low", "ci_high", "ci_method"])  # fmt: skip
        return frame if self.design.paired else frame.drop(columns="arm")

    def summary(self, metric: str | None = None, *, seeds: Seeds | None = None) -> Any:
        """A rich table: per group (and arm), runs, failures, mean, std and the 95% CI of the mean.

        ``rich.print(results.summary())`` draws it; ``print(...)`` and the REPL show it as plain text.
        """
        Table = text_table_class()

        metric = self._metric(metric)
        frame = self.summary_frame(metric, seeds=seeds)
        table = Table(title=f"{self.name}: {metric} ({self.design.kind}, base seed {self.design.base_seed})")
        columns = (["arm"] if self.design.paired else []) + [
            "source",
            "runs",
            "failed",
            "mean",
            "std",
            "95% CI of mean",
        ]
        for column in columns:
            table.add_column(column, justify="left" if column in ("arm", "source") else "right")
        for row in frame.itertuples(index=False):
            ci = "-" if math.isnan(row.ci_low) else f"[{row.ci_low:.4g}, {row.ci_high:.4g}] ({row.ci_method})"
            cells = [row.source, str(row.runs), str(row.failed), _fmt(row.mean), _fmt(row.std), ci]
            table.add_row(*(([str(row.arm)] if self.design.paired else []) + cells))
        return table

    def _grouped(self, metric: str) -> dict[tuple[str | None, str], list[float]]:
        out: dict[tuple[str | None, str], list[float]] = {}
        for run in self.runs():
            if run["status"] not in ("done", "failed"):
                continue
            value = (run["metrics"] or {}).get(metric, math.nan)
            out.setdefault((run["arm"], run["group"]), []).append(float(value))
        return out

    def variance(
        self, metric: str | None = None, *, seeds: Seeds | None = None, arm: str | None = None
    ) -> VarianceReport:
        """How much each source moves ``metric``, with CIs (see :class:`VarianceReport`)."""
        from seedwise import stats

        metric = self._metric(metric)
        seeds = self._seeds(seeds)["variance"]
        arm = self._arm(arm)
        notes: list[str] = []

        def finite(group: str) -> list[float]:
            vals = list(self.values(metric, group=group, arm=arm).values())
            kept = [v for v in vals if math.isfinite(v)]
            if len(kept) < len(vals):
                notes.append(f"{len(vals) - len(kept)} failed run(s) of {group!r} left out")
            return kept

        if self.design.kind == "one-at-a-time":
            groups = {s: finite(s) for s in self.design.sources}
            # Its note says that these conditional variances need not add up.
            components: Any = stats.one_at_a_time_variance(groups, finite(ALL_GROUP), seeds=seeds)
        elif self.design.kind == "all":
            values = finite(ALL_GROUP)
            ci = stats.variance_interval(values)
            var = float(np.var(values, ddof=1))
            components = stats.SourceVariance(ALL_GROUP, len(values), var, math.sqrt(var), ci.low, ci.high, 1.0, 1.0,
                                              1.0, ratio_ci_method="definition")  # fmt: skip
            notes.append("the 'all' design measures the total seed variance only; use one-at-a-time or factorial "
                         "to split it by source")  # fmt: skip
        else:
            import pandas as pd

            missing = [r["cell"] for r in self.runs() if r["group"] == "factorial" and r["arm"] == arm
                       and not math.isfinite(float((r["metrics"] or {}).get(metric, math.nan)))]  # fmt: skip
            if missing:
                raise InvalidArgumentError(
                    f"variance components need every cell of the factorial design, and {len(missing)} run(s) have no "
                    f"{metric!r} (failed or unfinished, e.g. {missing[0]}); finish them, or retry failed runs with "
                    "study.run(retry_failed=True)"
                )
            rows = [
                {**run["levels"], metric: float(run["metrics"][metric])}
                for run in self.runs()
                if run["group"] == "factorial" and run["arm"] == arm and run["status"] == "done"
                and math.isfinite(float((run["metrics"] or {}).get(metric, math.nan)))
            ]  # fmt: skip
            frame = pd.DataFrame(rows, columns=[*self.design.sources, metric])
            components = stats.variance_components(frame, list(self.design.sources), metric, seeds=seeds)
            notes.extend(components.warnings)
        noise = None
        if self.design.replicates:
            replicates = finite(REPLICATE_GROUP)
            if len(replicates) >= 2:
                noise = stats.noise_floor(replicates)
        notes += self._seed_blind_note(arm)
        return VarianceReport(self.name, metric, self.design.kind, components, noise, tuple(notes))

    def _seed_blind_note(self, arm: str | None) -> list[str]:
        """A warning when every run that varies the seeds reported exactly the same metrics."""
        varied = [
            r["metrics"] for r in self.runs()
            if r["status"] == "done" and r["arm"] == arm and r["group"] != REPLICATE_GROUP
        ]  # fmt: skip
        if len(varied) < 2 or any(m != varied[0] for m in varied):
            return []
        how = (
            "a command receives them as {seed}, {seed.<source>} or seedwise.Seeds.from_env()"
            if self.info.get("kind") == "command"
            else "train must draw every random number from its seeds argument"
        )
        return [
            f"all {len(varied)} finished runs that vary the seeds reported exactly the same metrics: the runs "
            f"probably do not read their seeds ({how})"
        ]

    def compare(
        self,
        other: Results | str | Mapping[str, Any],
        metric: str | None = None,
        *,
        seeds: Seeds | None = None,
        arm: str | None = None,
        lower_is_better: bool = False,
        **run_options: Any,
    ) -> Any:
        """Is this study's ``metric`` different from ``other``'s, and how sure are we?

        The tests read higher as better. For a metric where lower is better (a loss, NLL,
        ECE) pass ``lower_is_better=True``: the values are negated first, so "A better"
        means a lower metric, and means and differences come out negated.

        ``other`` is another study's :class:`Results` (paired when both ran the same
        cells with the same seeds), the name of another arm of this paired study
        (compared with ``arm``, default the first arm), or a config dict: then the same
        study with that config merged in is run on the same seeds (``run_options`` go to
        :meth:`Study.run`) and the comparison is paired. The runs compared are the
        all-sources group (one-at-a-time and "all" designs) or every factorial run; failed
        runs are left out (with their pair). Returns :func:`seedwise.stats.compare`'s
        result, for this study (A) against ``other`` (B).
        """
        from seedwise import stats

        metric = self._metric(metric)
        seeds = self._seeds(seeds)["compare"]
        if isinstance(other, Mapping):
            if self._study is None:
                raise InvalidArgumentError(
                    "comparing with a config needs the training function: call compare() on the Results that "
                    "study.run() returned, or run the other study and pass its Results"
                )
            name = f"{self.name}+{json.dumps(dict(other), sort_keys=True, separators=(',', ':'))}"
            other = self._study.sibling(name, other).run(**run_options)
        if isinstance(other, str):
            this_arm, other_arm = self._arm(arm), self._arm(other)
            a_vals, b_vals = self._main_values(metric, this_arm), self._main_values(metric, other_arm)
            a_keys = {c.split(":", 1)[1]: v for c, v in a_vals.items()}
            b_keys = {c.split(":", 1)[1]: v for c, v in b_vals.items()}
        elif isinstance(other, Results):
            other._metric(metric)
            a_keys = self._main_values(metric, self._arm(arm))
            b_keys = other._main_values(metric, other._arm(None))
        else:
            raise InvalidTypeError(f"other must be a Results, an arm name or a config dict, got {type(other).__name__}")
        paired = isinstance(other, str) or self._same_seeds(other, a_keys, b_keys)
        if paired:
            common = [c for c in a_keys if c in b_keys]
            a = [a_keys[c] for c in common]
            b = [b_keys[c] for c in common]
        else:
            a, b = list(a_keys.values()), list(b_keys.values())
        other_name = f"arm {other!r}" if isinstance(other, str) else f"study {other.name!r}"
        this_name = f"arm {self._arm(arm)!r}" if isinstance(other, str) else f"study {self.name!r}"
        fix = (
            "among the runs compared (all-sources or factorial runs); comparing needs at least 2: run more seeds, "
            "or retry the failed runs"
        )
        if paired:
            usable = sum(math.isfinite(x) and math.isfinite(y) for x, y in zip(a, b))
            if usable < 2:
                raise InvalidArgumentError(
                    f"{this_name} and {other_name} have {usable} pair(s) of finished runs with a finite "
                    f"{metric!r} {fix}"
                )
        else:
            for label, values in ((this_name, a), (other_name, b)):
                usable = sum(math.isfinite(v) for v in values)
                if usable < 2:
                    raise InvalidArgumentError(f"{label} has {usable} finished run(s) with a finite {metric!r} {fix}")
        if not isinstance(lower_is_better, bool):
            raise InvalidTypeError(f"lower_is_better must be True or False, got {lower_is_better!r}")
        if lower_is_better:
            a, b = [-v for v in a], [-v for v in b]
        return stats.compare(a, b, seeds=seeds, paired=paired, nan_policy="omit")

    def _same_seeds(self, other: Results | str, a: Mapping[str, float], b: Mapping[str, float]) -> bool:
        if isinstance(other, str):
            return True
        if set(a) != set(b):
            return False
        mine = {r["cell"]: r["seeds"] for r in self.runs()}
        theirs = {r["cell"]: r["seeds"] for r in other.runs()}
        return all(mine.get(c) == theirs.get(c) for c in a)

    def __repr__(self) -> str:
        counts = self.counts()
        done = ", ".join(f"{k}={v}" for k, v in counts.items() if v)
        return f"Results({self.name!r}, {self.design!r}, {done})"


class _ArmResults(Results):
    """One arm of a paired study, read as a study of its own: its runs, their cells without the arm prefix."""

    def __init__(self, parent: Results, arm: str | None):
        assert arm is not None and parent.design.paired is not None  # Results._arm checked it
        self.store, self.arm, self.study = parent.store, arm, parent.name
        self.name = f"{parent.name}:{arm}"
        self.design = dataclasses.replace(
            parent.design, paired=None, config={**parent.design.config, **parent.design.paired[arm]}
        )
        self._study = None
        self.main_metric, self.info = parent.main_metric, parent.info

    def runs(self) -> list[dict[str, Any]]:
        out = []
        for run in self.store.runs(self.study):
            if run["arm"] == self.arm:
                out.append({**run, "cell": run["cell"].split(":", 1)[1], "arm": None})
        return out

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("pending", "running", "done", "failed"), 0)
        for run in self.runs():
            counts[run["status"]] += 1
        return counts

    def logs(self, cell: str) -> dict[str, str | None]:
        return self.store.logs(self.study, f"{self.arm}:{cell}")


def _fmt(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


def load_results(store: StoreLike, name: str) -> Results:
    """The results of study ``name`` in ``store`` (a path or a :class:`Store`; no training function needed)."""
    if isinstance(store, (str, os.PathLike)):
        store = existing_store(store)
    return Results(open_store(store), name)
