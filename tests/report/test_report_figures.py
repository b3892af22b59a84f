"""Issue 18 items 13-16: the variance chart's intervals and words, integer steps, units, bin counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from seedwise import Seeds, stats
from seedwise.report import curves_figure, reliability_figure, variance_figure, variance_frame
from seedwise.report.variance import variance_words


class _Report:
    """What variance_frame reads from a study's VarianceReport."""

    def __init__(self, components, noise_floor=None):
        self.components, self.noise_floor = components, noise_floor


def _texts(fig: Figure) -> str:
    parts = [t.get_text() for ax in fig.axes for t in ax.texts]
    parts += [ax.get_xlabel() for ax in fig.axes]
    parts += [t.get_text() for t in (fig._supxlabel, fig._suptitle) if t is not None]
    return "\n".join(parts)


def _three_seeds():
    rng = np.random.default_rng(3)
    groups = {"init": rng.normal(0, 1.0, 3), "data_order": rng.normal(0, 0.5, 3), "dropout": rng.normal(0, 0.1, 3)}
    return stats.one_at_a_time_variance(groups, rng.normal(0, 1.0, 3), seeds=Seeds(0), n_resamples=200)


def test_three_seeds_show_chi_square_and_f_intervals_and_warn():
    result = _three_seeds()
    frame = variance_frame(_Report(result, stats.noise_floor([1.0, 1.0, 1.0])))
    sources = frame[frame["component"].isin(["init", "data_order", "dropout"])]
    assert list(sources["variance CI"]) == ["chi2"] * 3 and list(sources["value CI"]) == ["F"] * 3
    for column in ("variance CI low", "variance CI high", "value CI low", "value CI high"):
        assert np.isfinite(sources[column].to_numpy(float)).all()  # they were NaN: zero-width error bars
    assert frame.loc[frame["component"] == "all", "value CI"].item() == "= 1 by definition"
    assert frame.iloc[-1]["component"] == "noise floor" and frame.iloc[-1]["variance"] == 0.0
    fig = variance_figure(frame.iloc[:-1], kind="ratio to all", warnings=result.warnings)
    text = _texts(fig)
    assert "too few runs to rank the sources" in text and "95% CI" in text
    left, right = fig.axes[:2]
    assert left.get_xscale() == "log"

    def widths(ax):
        segments = [seg for c in ax.collections for seg in c.get_segments() if seg[0][1] == seg[1][1]]
        return [abs(seg[1][0] - seg[0][0]) for seg in segments]

    # error bars of non-zero width: a variance interval for each group, a ratio interval for each source
    assert len(widths(left)) == 4 and min(widths(left)) > 0
    assert len(widths(right)) == 3 and min(widths(right)) > 0


def test_an_undefined_interval_is_named_in_the_figure():
    result = stats.one_at_a_time_variance({"init": [1.0, 2.0, 3.0]}, [5.0, 5.0, 5.0], seeds=Seeds(0), n_resamples=200)
    frame = variance_frame(_Report(result))
    row = frame[frame["component"] == "init"].iloc[0]
    assert math.isnan(row["value"]) and row["value CI"] == "undefined (all-sources variance is 0)"
    assert "no ratio" in _texts(variance_figure(frame))


def test_ratio_and_share_are_different_words():
    one = _three_seeds()
    assert variance_words(one)[0] == "ratio to all" and "need not add up" in variance_words(one)[1]
    rng = np.random.default_rng(0)
    import pandas as pd

    df = pd.DataFrame([(i, j, rng.normal()) for i in range(4) for j in range(4)], columns=["init", "order", "y"])
    factorial = stats.variance_components(df, ["init", "order"], "y", seeds=Seeds(0), n_draws=200)
    assert variance_words(factorial)[0] == "share of total"
    frame = variance_frame(_Report(factorial))
    assert "share" in _texts(variance_figure(frame, kind="share of total", value_label=variance_words(factorial)[1]))
    assert list(frame["component"]) == ["init", "order", "residual"]
    assert np.isfinite(frame.loc[frame["component"] == "init", "p (F test)"].item())


def test_learning_curves_have_whole_steps_and_say_what_they_count():
    import pandas as pd

    rows = [
        (f"c{s}", "init", s, None, "loss", step, 1.0 / (step + 1) + 0.01 * s) for s in range(3) for step in range(3)
    ]
    curves = pd.DataFrame(rows, columns=["cell", "source", "level", "arm", "curve", "step", "value"])
    fig = curves_figure(curves, "loss", xlabel="epoch")
    ax = fig.axes[0]
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)  # not 0.25, 0.5, ...
    assert ax.get_xlabel() == "epoch"
    assert curves_figure(curves, "loss").axes[0].get_xlabel().startswith("step")


def test_reliability_diagram_shows_every_bin_count():
    count = np.array([0, 0, 1, 2, 9, 30, 60, 120, 300, 478])
    accuracy = np.linspace(0.1, 1.0, 10)
    fig = reliability_figure({"single": {"count": count, "accuracy": accuracy, "confidence": accuracy}}, min_count=10)
    labels = sorted(int(t.get_text()) for ax in fig.axes for t in ax.texts)
    assert labels == sorted(int(c) for c in count if c > 0)
    bars = [p for p in fig.axes[0].patches if p.get_height() > 0]
    pale = [p for p in bars if p.get_alpha() < 0.5]
    assert len(pale) == 3 and all(p.get_hatch() == "//" for p in pale)  # 1, 2 and 9 samples
    assert "(n=1000)" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="empty"):
        reliability_figure({})
