"""The study report: one HTML page (tables + embedded figures) and the PNGs, from a store.

For each study: what was run, the per-source summary of the metric, its distribution
per source, the variance by source with CIs, the learning curves when ``train``
reported any, the failed runs and every run. :func:`write_comparison` adds the page of
``seedwise compare``: two studies side by side with the full comparison.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from seedwise.errors import InvalidArgumentError, StoreError
from seedwise.report.figures import comparison_figure, curves_figure, distribution_figure, variance_figure
from seedwise.report.html import HtmlPage

__all__ = ["write_report", "write_comparison", "add_study_section", "add_comparison_section"]


def _open(store: Any) -> Any:
    from seedwise.study.store import Store, existing_store

    if isinstance(store, Store):
        return store
    if isinstance(store, (str, os.PathLike)):
        store = existing_store(store)  # a clear error for a missing file or a directory
    return Store(store)


def add_study_section(page: HtmlPage, results: Any, metric: str | None = None) -> None:
    """Add the sections of one study (``results``: a :class:`seedwise.study.Results`) to ``page``."""
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
    slug = name if not design.paired else name

    page.add_heading(f"{metric}: summary per source", level=3)
    page.add_table(results.summary_frame(metric), caption=f"{metric} per group of runs (95% CI of the mean)")
    page.add_figure(
        distribution_figure(table.rename(columns={column: metric}), metric, by="source",
                            title=f"{name}: {metric} per source of randomness"),
        name=f"{slug}-{metric}-distribution",
        caption=f"{metric} of every run per group (box: quartiles; dots: runs)",
    )  # fmt: skip

    page.add_heading(f"{metric}: variance by source", level=3)
    try:
        variance = results.variance(metric)
    except (ValueError, TypeError) as exc:
        page.add_text(f"Variance by source not available: {exc}", note=True)
    else:
        frame = variance.to_frame()
        page.add_table(frame, caption=variance.share_label)
        plotted = frame[frame["share"].map(lambda v: v is not None and math.isfinite(v))]
        if design.kind != "all" and not plotted.empty:
            page.add_figure(
                variance_figure(plotted, title=f"{name}: variance of {metric} by source", xlabel=variance.share_label),
                name=f"{slug}-{metric}-variance",
                caption=variance.share_label,
            )
        notes = list(variance.notes)
        if hasattr(variance.components, "note"):
            notes.insert(0, variance.components.note)
        for note in notes:
            page.add_text(note, note=True)

    curves = results.curves()
    if not curves.empty:
        page.add_heading("Learning curves", level=3)
        for curve in curves["curve"].unique():
            page.add_figure(
                curves_figure(curves, curve, title=f"{name}: {curve} over training, per source"),
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
    page.add_table(table.drop(columns=["error"]), caption=f"the {len(table)} runs of {name}")


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
