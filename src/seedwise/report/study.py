"""The study report: one HTML page (tables + embedded figures) and the PNGs, from a store.

For each study: what was run, the per-source summary of the metric, its distribution
per source, the variance by source with every interval that exists (and why the others
do not), the learning curves when ``train`` reported any, the failed runs and every run.
:func:`write_comparison` adds the page of ``seedwise compare``: two studies side by side
with the full comparison.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from seedwise.errors import InvalidArgumentError, StoreError
from seedwise.report.figures import comparison_figure, curves_figure, distribution_figure
from seedwise.report.html import HtmlPage
from seedwise.report.variance import variance_figure, variance_frame, variance_words

__all__ = ["write_report", "write_comparison", "add_study_section", "add_comparison_section"]


def _open(store: Any) -> Any:
    from seedwise.study.store import Store, existing_store

    if isinstance(store, Store):
        return store
    if isinstance(store, (str, os.PathLike)):
        store = existing_store(store)  # a clear error for a missing file or a directory
    return Store(store)


def _interval(low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "-"
    return f"[{low:.3g}, {high:.3g}]"


def _variance_table(frame: Any, kind: str, factorial: bool) -> Any:
    """The variance frame for reading: intervals as text, each with its method or why it is undefined."""
    import pandas as pd

    table = pd.DataFrame(
        {
            "component" if factorial else "source": frame["component"],
            "df" if factorial else "runs": frame["runs or df"],
            "variance": frame["variance"],
            "variance, 95% CI": [
                _interval(lo, hi) for lo, hi in zip(frame["variance CI low"], frame["variance CI high"])
            ],
            "variance interval": frame["variance CI"],
            kind: frame["value"],
            f"{kind}, 95% CI": [_interval(lo, hi) for lo, hi in zip(frame["value CI low"], frame["value CI high"])],
            f"{kind} interval": frame["value CI"],
        }
    )
    if factorial:
        table["p (F test)"] = frame["p (F test)"]
    return table


def _add_variance(page: HtmlPage, results: Any, name: str, metric: str) -> None:
    design = results.design
    try:
        variance = results.variance(metric)
    except (ValueError, TypeError) as exc:
        page.add_text(f"Variance by source not available: {exc}", note=True)
        return
    components = variance.components
    kind, label = variance_words(components)
    factorial = hasattr(components, "components")
    frame = variance_frame(variance)
    warnings = tuple(getattr(components, "warnings", ()))
    for warning in warnings:
        page.add_text(warning, note=True)
    caption = (
        f"variance of {metric} per source with its 95% interval (chi-square for a variance, "
        + ("generalized for a component; share: the component over the total, with its interval; p: random-model "
           "F test of a zero component" if factorial else
           "F interval for a ratio below 8 runs, BCa from 8; ratio to all: the source's variance over the "
           "all-sources variance, which need not add up to 1")
        + "). The 'interval' columns say how each was made, or why it is undefined."
    )  # fmt: skip
    page.add_table(_variance_table(frame, kind, factorial), caption=caption)
    if design.kind != "all" and len(frame) > 1:
        page.add_figure(
            variance_figure(frame, kind=kind, value_label=label, warnings=warnings,
                            title=f"{name}: variance of {metric} by source"),
            name=f"{name}-{metric}-variance",
            caption=f"Left: the variance of {metric} per group with its 95% interval (log scale). Right: {label}, "
            "with its 95% interval; an interval that is undefined is named in the figure with the reason.",
        )  # fmt: skip
    notes = [n for n in variance.notes if n not in warnings]
    if hasattr(components, "note"):
        notes.insert(0, components.note)
    for note in notes:
        page.add_text(note, note=True)


def _runs_table(table: Any) -> Any:
    """Every run, for reading: no empty columns, units on durations, levels that can wrap."""
    runs = table.drop(columns=["error"])
    if "arm" in runs and runs["arm"].isna().all():
        runs = runs.drop(columns="arm")
    if "levels" in runs:
        runs["levels"] = runs["levels"].map(lambda v: ", ".join(str(v).split(",")) if v else "")
    if "duration" in runs:
        runs["duration"] = runs["duration"].astype(float).round(2)
    return runs.rename(columns={"duration": "duration (s)"})


def add_study_section(page: HtmlPage, results: Any, metric: str | None = None, *,
                      step_label: str = "step (as reported by train)") -> None:  # fmt: skip
    """Add the sections of one study (``results``: a :class:`seedwise.study.Results`) to ``page``.

    ``step_label`` names the x-axis of the learning curves: what ``train`` passed to
    ``report(step, ...)`` (``"epoch"`` when it reports once per epoch, as the demo does).
    """
    name = results.name
    design = results.design
    counts = results.counts()
    page.add_heading(f"Study {name}", level=2)
    page.add_text(
        f"Design {design.kind} over sources {', '.join(design.sources)}; {design.n_seeds} seed(s) per source, "
        f"base seed {design.base_seed}" + (f", {design.replicates} replicate(s)" if design.replicates else "")
        + (f", arms {', '.join(design.paired)}" if design.paired else "")
        + ". Runs: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v) + "."
    )  # fmt: skip
    if counts["pending"] or counts["running"]:
        page.add_text("This study is not finished: the statistics below use the runs finished so far.", note=True)
    metrics = results.metrics
    if not metrics:
        page.add_text("No run has finished yet: nothing to report.", note=True)
        return
    metric = results._metric(metric)
    table = results.table()
    column = metric if metric in table.columns else f"metric:{metric}"
    slug = name

    page.add_heading(f"{metric}: summary per source", level=3)
    page.add_table(results.summary_frame(metric), caption=f"{metric} per group of runs (95% CI of the mean)")
    page.add_figure(
        distribution_figure(table.rename(columns={column: metric}), metric, by="source",
                            title=f"{name}: {metric} per source of randomness"),
        name=f"{slug}-{metric}-distribution",
        caption=f"{metric} of every run per group (box: quartiles; dots: runs)",
    )  # fmt: skip

    page.add_heading(f"{metric}: variance by source", level=3)
    _add_variance(page, results, name, metric)

    curves = results.curves()
    if not curves.empty:
        page.add_heading("Learning curves", level=3)
        for curve in curves["curve"].unique():
            page.add_figure(
                curves_figure(curves, curve, title=f"{name}: {curve} over training, per source", xlabel=step_label),
                name=f"{slug}-curve-{curve}",
                caption=f"{curve}: mean over seeds per group, ±1 std (dark band) and min-max (light band)",
            )

    failed = table[table["status"] == "failed"]
    if not failed.empty:
        page.add_heading("Failed runs", level=3)
        errors = failed[["cell", "attempts", "error"]].copy()
        errors["error"] = errors["error"].map(lambda e: (e or "").strip().splitlines()[-1] if e else "")
        page.add_table(errors, caption="the last line of each traceback (the store keeps all of it)")

    page.add_heading("All runs", level=3)
    page.add_table(_runs_table(table), caption=f"the {len(table)} runs of {name}; duration in seconds")


def write_report(store: Any, out_dir: str | os.PathLike[str], study: str | None = None,
                 metric: str | None = None) -> Path:  # fmt: skip
    """Write ``report.html`` (self-contained) and its figures as PNGs into ``out_dir``.

    Args:
        store: a study store (path or :class:`~seedwise.study.store.Store`).
        out_dir: the folder to write (created if missing).
        study: one study's name (default: every study in the store).
        metric: the metric to analyse (default: the first one ``train`` returned).

    Returns the path of ``report.html``.
    """
    from seedwise.study.results import Results

    store = _open(store)
    names = store.studies()
    if not names:
        raise StoreError(f"the store {store.path or ':memory:'} holds no study yet")
    if study is not None:
        if study not in names:
            raise InvalidArgumentError(f"study must be one of {', '.join(repr(n) for n in names)}; got {study!r}")
        names = [study]
    page = HtmlPage("seedwise study report" if len(names) > 1 else f"seedwise study report: {names[0]}")
    page.add_text(f"Store: {store.path or ':memory:'}. Studies: {', '.join(names)}.")
    for name in names:
        add_study_section(page, Results(store, name), metric)
    return page.write(out_dir)


def add_comparison_section(page: HtmlPage, a: Any, b: Any, metric: str, *, lower_is_better: bool = False) -> Any:
    """Add A vs B (two :class:`~seedwise.study.Results`) to ``page``; return the comparison."""
    import pandas as pd

    comparison = a.compare(b, metric, lower_is_better=lower_is_better)
    page.add_heading(f"{a.name} vs {b.name}: {metric}", level=2)
    how = "paired: both ran the same cells on the same seeds" if comparison.paired else "unpaired"
    direction = "Lower is better (the tests ran on the negated values)" if lower_is_better else "Higher is better"
    page.add_text(f"{direction}. Runs compared: {comparison.n_a} (A = {a.name}) and {comparison.n_b} "
                  f"(B = {b.name}), {how}. Decision: {comparison.decision}.")  # fmt: skip
    a_vals, b_vals = a._main_values(metric, a._arm(None)), b._main_values(metric, b._arm(None))
    if comparison.paired:
        common = [c for c in a_vals if c in b_vals]
        xs, ys = [a_vals[c] for c in common], [b_vals[c] for c in common]
    else:
        xs, ys = list(a_vals.values()), list(b_vals.values())
    page.add_figure(
        comparison_figure(xs, ys, labels=(a.name, b.name), metric=metric, paired=comparison.paired),
        name=f"compare-{a.name}-vs-{b.name}-{metric}",
        caption=f"{metric} of the runs compared"
        + (" (lines join runs on the same seeds)" if comparison.paired else ""),
    )
    page.add_table(pd.DataFrame(comparison.rows(), columns=["analysis", "result"]), caption="every analysis of A vs B")
    for note in getattr(comparison, "notes", ()):
        page.add_text(note, note=True)
    return comparison


def write_comparison(store: Any, study_a: str, study_b: str, metric: str | None = None,
                     out_dir: str | os.PathLike[str] | None = None, *,
                     lower_is_better: bool = False) -> tuple[Any, Path | None]:  # fmt: skip
    """Compare two studies of ``store`` on ``metric``; write ``compare.html`` and its PNG into ``out_dir`` if given."""
    from seedwise.study.results import Results

    store = _open(store)
    a, b = Results(store, study_a), Results(store, study_b)
    metric = a._metric(metric)
    b._metric(metric)
    page = HtmlPage(f"seedwise compare: {study_a} vs {study_b} ({metric})")
    comparison = add_comparison_section(page, a, b, metric, lower_is_better=lower_is_better)
    path = page.write(out_dir, filename="compare.html") if out_dir is not None else None
    return comparison, path
