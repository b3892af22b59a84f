"""The demo's tables as printed in a terminal (80 columns) and as shown on the report page.

The printed tables are what a new user reads first, and what the README and the golden
file (tests/demo/golden/) show: every number here is under review.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["methods_terminal", "rich_table", "sources_page", "sources_terminal", "too_few_runs"]


def _fmt(v: Any, digits: int = 4) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.{digits}g}"
    return str(v)


def rich_table(frame: Any, title: str, columns: list[str] | None = None) -> Any:
    from rich.table import Table

    columns = columns or list(frame.columns)
    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="left" if frame[c].dtype == object else "right")
    for _, row in frame.iterrows():
        table.add_row(*[_fmt(row[c]) for c in columns])
    return table


def _pm(mean: float, std: float, scale: float = 1.0, digits: int = 2) -> str:
    return f"{mean * scale:.{digits}f}±{std * scale:.{digits}f}"


def too_few_runs(frame: Any, full_seeds: int) -> str | None:
    """What the printed and the HTML tables say when the runs per source are too few to read the variance ratios."""
    from seedwise.stats.variance import MIN_RUNS_TO_RANK

    runs = int(frame["runs"].min()) if len(frame) else 0
    if runs >= MIN_RUNS_TO_RANK:
        return None
    low, high = frame["ratio CI low"], frame["ratio CI high"]
    widest = int((high - low).fillna(-1).to_numpy().argmax())
    example = f" (e.g. {frame['source'].iloc[widest]}: 95% CI {low.iloc[widest]:.2g} to {high.iloc[widest]:.3g})"
    return (
        f"{runs} seeds per source are too few runs to read the var ratios: they can exceed 1 by chance"
        f"{example if math.isfinite(low.iloc[widest]) else ''}. The full demo runs {full_seeds}."
    )


def sources_terminal(frame: Any, full_seeds: int) -> Any:
    """The sources table, narrow enough for an 80-column terminal (accuracy in points)."""
    from rich.table import Table

    runs = int(frame["runs"].max()) if len(frame) else 0
    warning = too_few_runs(frame, full_seeds)
    table = Table(
        title=f"test accuracy (%) and NLL per source of randomness varied ({runs} seeds each)",
        caption=f"[yellow]{warning}[/yellow]" if warning else None,
        caption_justify="left",
    )
    for name in ("source", "accuracy", "95% CI", "var ratio", "NLL", "n for 0.5pt"):
        table.add_column(name, justify="left" if name == "source" else "right")
    for _, r in frame.iterrows():
        share = "-" if math.isnan(r["var ratio to all"]) else f"{r['var ratio to all']:.2f}"
        table.add_row(r["source"], _pm(r["accuracy"], r["acc std"], 100, 1),
                      f"{100 * r['acc CI low']:.1f}-{100 * r['acc CI high']:.1f}", share,
                      _pm(r["nll"], r["nll std"], digits=2), str(r["seeds for 0.5pt"]))  # fmt: skip
    return table


def methods_terminal(frame: Any) -> Any:
    """The methods table, narrow enough for an 80-column terminal."""
    from rich.table import Table

    table = Table(title="methods on the same seeds (test set)")
    for name in ("method", "accuracy", "NLL", "ECE", "Brier", "ΔNLL", "p (Holm)"):
        table.add_column(name, justify="left" if name == "method" else "right")
    for _, r in frame.iterrows():
        p = r.get("p Holm", math.nan)
        table.add_row(r["method"], _pm(r["accuracy"], r["acc std"], 100), f"{r['nll']:.3f}", f"{r['ece']:.3f}",
                      f"{r['brier']:.3f}", "-" if math.isnan(r["NLL - single"]) else f"{r['NLL - single']:+.3f}",
                      "-" if isinstance(p, float) and math.isnan(p) else f"{p:.3f}")  # fmt: skip
    return table


def _between(low: float, high: float, digits: int = 3) -> str:
    return "-" if math.isnan(low) or math.isnan(high) else f"[{low:.{digits}g}, {high:.{digits}g}]"


def sources_page(frame: Any) -> Any:
    """The sources table for the page: intervals as text, so it fits the page width."""
    import pandas as pd

    return pd.DataFrame({
        "source": frame["source"], "runs": frame["runs"],
        "accuracy": frame["accuracy"], "acc std": frame["acc std"],
        "acc 95% CI": [_between(lo, hi, 4) for lo, hi in zip(frame["acc CI low"], frame["acc CI high"])],
        "CI": frame["CI"],
        "var ratio to all": frame["var ratio to all"],
        "ratio 95% CI": [
            "= 1 by definition" if source == "all" else _between(lo, hi)
            for source, lo, hi in zip(frame["source"], frame["ratio CI low"], frame["ratio CI high"])
        ],
        "nll": frame["nll"], "nll std": frame["nll std"],
        "nll 95% CI": [_between(lo, hi) for lo, hi in zip(frame["nll CI low"], frame["nll CI high"])],
        "seeds for 0.5pt": frame["seeds for 0.5pt"],
    })  # fmt: skip
