"""Figures of study results (matplotlib, Agg backend: no display needed).

Each function takes plain DataFrames and returns a ``matplotlib.figure.Figure``, so a
report, the demo or a notebook can use them alike. The variance chart lives in
:mod:`seedwise.report.variance`, the reliability diagram in :mod:`seedwise.report.reliability`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise.errors import InvalidArgumentError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["distribution_figure", "curves_figure", "comparison_figure"]


def _new_figure(width: float = 7.0, height: float = 4.0) -> tuple[Figure, Any]:
    # Figure() directly (not pyplot): no global figure manager, no backend switch needed.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _strip_box(ax: Any, groups: Sequence[tuple[str, np.ndarray]]) -> None:
    """Box plots with the individual runs on top, spread sideways evenly (no random jitter)."""
    data = [values for _, values in groups]
    ax.boxplot(data, widths=0.5, showfliers=False, medianprops={"color": "black"})
    for i, values in enumerate(data, start=1):
        if len(values):
            offsets = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else np.zeros(1)
            ax.plot(i + offsets, np.sort(values), "o", alpha=0.7, markersize=4)
    ax.set_xticks(range(1, len(groups) + 1), [name for name, _ in groups], rotation=20)


def distribution_figure(table: pd.DataFrame, metric: str, *, by: str = "source", title: str | None = None) -> Figure:
    """The metric of every finished run, per ``by`` group: strip + box plot."""
    if metric not in table.columns:
        raise InvalidArgumentError(f"metric {metric!r} is not a column of the table (columns: {list(table.columns)})")
    finite = table[np.isfinite(table[metric].astype(float))]
    groups = [(str(name), finite.loc[finite[by] == name, metric].to_numpy(float)) for name in table[by].unique()]
    fig, ax = _new_figure(max(5.0, 1.1 * len(groups) + 2), 4.0)
    _strip_box(ax, groups)
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric} per source of randomness")
    ax.grid(axis="y", alpha=0.3)
    return fig


def curves_figure(curves: pd.DataFrame, curve: str, *, by: str = "source", title: str | None = None,
                  xlabel: str = "step (as reported by train)") -> Figure:  # fmt: skip
    """Learning curve ``curve``: per group, the mean over seeds with a band from min to max and a ±1 std band.

    Steps are whole numbers (``report(step, ...)`` takes an int), so the x-axis has integer
    ticks only; ``xlabel`` says what they count (``"epoch"`` for a per-epoch report).
    """
    from matplotlib.ticker import MaxNLocator

    data = curves[curves["curve"] == curve]
    if data.empty:
        raise InvalidArgumentError(f"no curve named {curve!r} (curves: {sorted(curves['curve'].unique())})")
    fig, ax = _new_figure(7.0, 4.0)
    for name, group in data.groupby(by, sort=False):
        stats = group.groupby("step")["value"].agg(["mean", "std", "min", "max"]).sort_index()
        steps = stats.index.to_numpy(float)
        (line,) = ax.plot(steps, stats["mean"], label=f"{name} (n={group['cell'].nunique()})")
        ax.fill_between(steps, stats["min"], stats["max"], color=line.get_color(), alpha=0.10)
        std = stats["std"].fillna(0.0)
        ax.fill_between(steps, stats["mean"] - std, stats["mean"] + std, color=line.get_color(), alpha=0.22)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(curve)
    ax.set_title(title or f"{curve}: mean over seeds, ±1 std (dark) and min-max (light)")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def comparison_figure(a: Sequence[float], b: Sequence[float], *, labels: tuple[str, str], metric: str,
                      paired: bool = False, title: str | None = None) -> Figure:  # fmt: skip
    """Two studies' metric side by side (strip + box); paired runs joined by lines."""
    a_arr, b_arr = np.asarray(a, float), np.asarray(b, float)
    fig, ax = _new_figure(5.5, 4.0)
    _strip_box(ax, [(labels[0], a_arr[np.isfinite(a_arr)]), (labels[1], b_arr[np.isfinite(b_arr)])])
    if paired and len(a_arr) == len(b_arr):
        for x, y in zip(a_arr, b_arr):
            if np.isfinite(x) and np.isfinite(y):
                ax.plot([1, 2], [x, y], color="grey", alpha=0.3, linewidth=0.8)
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric}: {labels[0]} vs {labels[1]}" + (" (paired seeds)" if paired else ""))
    ax.grid(axis="y", alpha=0.3)
    return fig
