"""Reliability diagrams that show how many samples each bin holds.

A bin with one or two samples has an accuracy of 0, 0.5 or 1 whatever the model's
calibration; drawn like a full bin it looks as important. Each bar here carries its
sample count, and bins with fewer than ``min_count`` samples are drawn pale and hatched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from seedwise.errors import InvalidArgumentError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["reliability_figure"]


def reliability_figure(diagrams: Mapping[str, Mapping[str, Sequence[float]]], *, min_count: int = 10,
                       columns: int = 3, title: str | None = None) -> Figure:  # fmt: skip
    """One reliability diagram per entry of ``diagrams``, with the sample count of every bin.

    Args:
        diagrams: ``{name: {"count": ..., "accuracy": ..., "confidence": ...}}``, one value
            per equal-width confidence bin over [0, 1] (accuracy and mean confidence of the
            samples in the bin; anything for empty bins).
        min_count: bins with fewer samples are drawn pale and hatched.
        columns: panels per row.
        title: the figure's title.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if not diagrams:
        raise InvalidArgumentError("diagrams is empty: pass {name: {'count': ..., 'accuracy': ..., 'confidence': ...}}")
    rows = math.ceil(len(diagrams) / columns)
    fig = Figure(figsize=(3.7 * min(columns, len(diagrams)), 3.5 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, min(columns, len(diagrams)), sharex=True, sharey=True, squeeze=False))
    for ax in axes.flat[len(diagrams) :]:
        ax.set_visible(False)
    for ax, (name, data) in zip(axes.flat, diagrams.items()):
        count = np.asarray(data["count"], dtype=float)
        accuracy = np.asarray(data["accuracy"], dtype=float)
        confidence = np.asarray(data["confidence"], dtype=float)
        bins = count.size
        width = 1.0 / bins
        left = np.arange(bins) * width
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
        for i in np.flatnonzero(count > 0):
            few = count[i] < min_count
            ax.bar(left[i], accuracy[i], width=width, align="edge", color="#4c72b0", edgecolor="black",
                   alpha=0.25 if few else 0.75, hatch="//" if few else None, linewidth=0.6)  # fmt: skip
            ax.annotate(f"{int(count[i])}", (left[i] + width / 2, min(accuracy[i], 0.93) + 0.015), ha="center",
                        va="bottom", fontsize=7, rotation=90 if bins > 12 else 0, color="#333333")  # fmt: skip
        used = count > 0
        ax.plot(confidence[used], accuracy[used], "o", color="#c44e52", ms=3)
        ax.set_title(f"{name} (n={int(count.sum())})", fontsize=10)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.05)
    for ax in axes[-1]:
        ax.set_xlabel("confidence")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    fig.legend(
        handles=[
            Patch(facecolor="#4c72b0", alpha=0.75, edgecolor="black", label="accuracy in the bin (number: samples)"),
            Patch(
                facecolor="#4c72b0",
                alpha=0.25,
                hatch="//",
                edgecolor="black",
                label=f"fewer than {min_count} samples: not to be read",
            ),
            Line2D([], [], marker="o", color="#c44e52", linestyle="none", ms=4, label="mean confidence in the bin"),
        ],
        loc="outside lower center",
        ncols=3,
        fontsize=8,
    )
    fig.suptitle(title or "Reliability diagrams (diagonal = calibrated)")
    return fig
