"""The variance of a metric by source, as a table and a chart that show every interval there is.

A one-at-a-time study gives each source's variance (chi-square interval) and its **ratio**
to the all-sources variance (F interval below 8 runs, BCa from 8); a factorial study gives
variance components (generalized intervals) and their **share** of the total. The words
differ because the numbers do: ratios need not add up to 1 (a source can exceed 1),
shares do. :func:`variance_frame` turns either result into one table with the reason
beside every interval that is undefined; :func:`variance_figure` draws it in two panels,
the variances on a log scale (their intervals span orders of magnitude with few runs)
and the ratios or shares, and writes the undefined intervals and the too-few-runs
warning into the figure itself, so a PNG taken out of the report still says them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["VARIANCE_COLUMNS", "variance_frame", "variance_figure", "variance_words"]

#: The columns of :func:`variance_frame`.
VARIANCE_COLUMNS = (
    "component", "runs or df", "variance", "variance CI low", "variance CI high", "variance CI",
    "value", "value CI low", "value CI high", "value CI", "p (F test)",
)  # fmt: skip


def variance_words(components: Any) -> tuple[str, str]:
    """(the short word, the axis label) for the second column: ratio (one-at-a-time) or share (factorial)."""
    if hasattr(components, "all_sources"):
        return "ratio to all", "ratio to the all-sources variance (need not add up to 1)"
    if hasattr(components, "components"):
        return "share of total", "share of the total seed variance"
    return "ratio to all", "ratio to the all-sources variance"


def _why(method: str, n: float) -> str:
    if method.startswith("undefined"):
        return method
    return f"undefined ({method} interval from {n:g} runs)" if method else "undefined"


def variance_frame(variance: Any) -> pd.DataFrame:
    """One row per source (or component): variance and interval, ratio or share and interval, the methods.

    ``variance`` is a study's :class:`~seedwise.study.results.VarianceReport` (or anything
    with ``components`` and ``noise_floor`` holding :mod:`seedwise.stats` results). An
    interval column holds its method (``"chi2"``, ``"F"``, ``"BCa"``...) or, when the
    bounds are NaN, why they are undefined.
    """
    import pandas as pd

    c = variance.components
    rows: list[tuple[Any, ...]] = []

    def ci_text(low: float, high: float, method: str, n: float) -> str:
        return method if math.isfinite(low) and math.isfinite(high) else _why(method, n)

    if hasattr(c, "all_sources"):  # one-at-a-time
        for r in (*c.sources, c.all_sources):
            defined = "definition" not in r.ratio_ci_method
            rows.append(
                (r.source, r.n, r.variance, r.variance_ci_low, r.variance_ci_high,
                 ci_text(r.variance_ci_low, r.variance_ci_high, r.variance_ci_method, r.n),
                 r.ratio, r.ratio_ci_low if defined else math.nan, r.ratio_ci_high if defined else math.nan,
                 ci_text(r.ratio_ci_low, r.ratio_ci_high, r.ratio_ci_method, r.n) if defined else "= 1 by definition",
                 math.nan)
            )  # fmt: skip
    elif hasattr(c, "components"):  # factorial
        for r in c.components:
            share_ci = ci_text(r.share_ci_low, r.share_ci_high, "generalized", r.df)
            rows.append(
                (r.name, r.df, r.estimate, r.ci_low, r.ci_high, ci_text(r.ci_low, r.ci_high, "generalized", r.df),
                 r.share, r.share_ci_low, r.share_ci_high, share_ci, r.pvalue)
            )  # fmt: skip
    else:  # "all": the total variance only
        rows.append((c.source, c.n, c.variance, c.variance_ci_low, c.variance_ci_high, "chi2", 1.0, math.nan,
                     math.nan, "= 1 by definition", math.nan))  # fmt: skip
    nf = variance.noise_floor
    if nf is not None:
        rows.append(("noise floor", nf.n, nf.variance, nf.variance_ci_low, nf.variance_ci_high, "chi2", math.nan,
                     math.nan, math.nan, "", math.nan))  # fmt: skip
    return pd.DataFrame(rows, columns=list(VARIANCE_COLUMNS))


def variance_figure(frame: pd.DataFrame, *, kind: str = "ratio to all", value_label: str | None = None,
                    title: str | None = None, warnings: tuple[str, ...] | list[str] = ()) -> Figure:  # fmt: skip
    """Two panels from :func:`variance_frame`: variances with their intervals (log scale), and ratios or shares.

    Each undefined interval is named in the figure with the reason; ``warnings`` (e.g. too
    few runs to rank the sources) are written under the panels.
    """
    from matplotlib.figure import Figure

    rows = frame[np.isfinite(frame["variance"].to_numpy(float))].reset_index(drop=True)
    n = len(rows)
    lines = [w for w in warnings if w]
    fig = Figure(figsize=(11.0, max(2.8, 0.55 * n + 1.9 + 0.45 * len(lines))), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [1, 1]})
    y = np.arange(n)
    names = rows["component"].astype(str).tolist()

    var = rows["variance"].to_numpy(float)
    low, high = rows["variance CI low"].to_numpy(float), rows["variance CI high"].to_numpy(float)
    positive = var > 0
    floor = float(np.nanmin(np.where(low > 0, low, np.nan))) if np.any(low > 0) else 1e-12
    shown = np.where(positive, var, floor)
    has_ci = np.isfinite(low) & np.isfinite(high)
    err = np.vstack([shown - np.clip(np.where(has_ci, low, shown), floor, None), np.where(has_ci, high, shown) - shown])
    left.errorbar(shown, y, xerr=np.clip(err, 0, None), fmt="none", ecolor="#333333", elinewidth=1.4, capsize=4)
    left.plot(shown[positive], y[positive], "o", color="#4c72b0", markersize=7)
    left.plot(shown[~positive], y[~positive], "o", mfc="white", color="#4c72b0", markersize=7)
    for j in np.flatnonzero(~positive):
        left.annotate(" 0", (shown[j], y[j]), fontsize=8, va="bottom", color="#555555")
    left.set_xscale("log")
    left.set_yticks(y, names)
    left.invert_yaxis()
    left.set_xlabel("variance, 95% CI (log scale)")
    left.grid(axis="x", alpha=0.3)

    value = rows["value"].to_numpy(float)
    v_low, v_high = rows["value CI low"].to_numpy(float), rows["value CI high"].to_numpy(float)
    ok = np.isfinite(value)
    right.barh(y[ok], value[ok], color="#4c72b0", alpha=0.35, height=0.5)
    v_ci = ok & np.isfinite(v_low) & np.isfinite(v_high)
    v_err = np.vstack([np.clip(value - v_low, 0, None), np.clip(v_high - value, 0, None)])[:, v_ci]
    right.errorbar(value[v_ci], y[v_ci], xerr=v_err, fmt="o", color="#333333", ecolor="#333333", capsize=4,
                   elinewidth=1.4, markersize=5)  # fmt: skip
    if kind.startswith("ratio"):
        right.axvline(1.0, color="#c44e52", linewidth=1, linestyle="--")
        right.set_xscale("symlog", linthresh=1.0)
    right.axvline(0, color="black", linewidth=0.8)
    for i in range(n):
        note = str(rows.loc[i, "value CI"])
        if not ok[i]:
            right.annotate("  no " + kind.split()[0], (0, y[i]), fontsize=8, va="center", color="#555555")
        elif not v_ci[i] and note:
            text = f"  {note}" if note.startswith("=") else f"  {value[i]:.3g}: interval {note}"
            right.annotate(text, (value[i], y[i]), fontsize=8, va="center",
                           color="#7a5c00" if note.startswith("undefined") else "#555555")  # fmt: skip
    right.set_xlabel(f"{value_label or kind}, 95% CI")
    right.grid(axis="x", alpha=0.3)
    fig.suptitle(title or "Variance by source")
    if lines:
        fig.supxlabel("\n".join(_wrap(f"Warning: {w}") for w in lines), fontsize=9, color="#7a5c00", ha="left", x=0.01)
    return fig


def _wrap(text: str, width: int = 150) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
