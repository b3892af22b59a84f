"""One-at-a-time variances, their CIs and ratios, and the noise floor."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import scipy.stats

from seedwise import Seeds
from seedwise.stats import noise_floor, one_at_a_time_variance


@pytest.fixture
def study(test_seed):
    rng = Seeds(test_seed).numpy()
    return {"init": rng.normal(0, 1.0, 10), "data_order": rng.normal(0, 0.5, 10)}, rng.normal(0, 1.2, 12)


def test_variances_intervals_and_ratios(study):
    groups, all_sources = study
    res = one_at_a_time_variance(groups, all_sources, seeds=Seeds(0), n_resamples=999)
    var_all = np.var(all_sources, ddof=1)
    for name, x in groups.items():
        row = res[name]
        s2 = np.var(x, ddof=1)
        assert row.variance == pytest.approx(s2) and row.std == pytest.approx(np.sqrt(s2))
        assert row.variance_ci_low == pytest.approx(9 * s2 / scipy.stats.chi2.ppf(0.975, 9))
        assert row.variance_ci_high == pytest.approx(9 * s2 / scipy.stats.chi2.ppf(0.025, 9))
        assert row.ratio == pytest.approx(s2 / var_all)
        assert row.ratio_ci_low < row.ratio < row.ratio_ci_high
        assert row.ratio_ci_method in ("BCa", "percentile")
    assert res.all_sources.variance == pytest.approx(var_all) and res.all_sources.ratio == 1.0
    assert "need not add up" in res.note


def test_bootstrapped_ratio_matches_scipy_with_the_seeds(study):
    groups, all_sources = study
    seeds = Seeds(4)
    res = one_at_a_time_variance(groups, all_sources, seeds=seeds, n_resamples=999)
    ref = scipy.stats.bootstrap(
        (groups["init"], all_sources),
        lambda x, y, axis=-1: np.var(x, ddof=1, axis=axis) / np.var(y, ddof=1, axis=axis),
        n_resamples=999,
        vectorized=True,
        method="BCa",
        rng=seeds["ratio"]["init"].numpy(),
    )
    assert res["init"].ratio_ci_low == ref.confidence_interval.low
    assert res["init"].ratio_ci_high == ref.confidence_interval.high


def test_ratio_interval_covers_the_truth_mostly(test_seed):
    rng = Seeds(test_seed)["coverage"].numpy()
    covered = 0
    for i in range(40):
        res = one_at_a_time_variance(
            {"src": rng.normal(0, 1.0, 20)}, rng.normal(0, 2.0, 20), seeds=Seeds(i), n_resamples=999
        )
        covered += res["src"].ratio_ci_low <= 0.25 <= res["src"].ratio_ci_high
    assert covered >= 0.75 * 40


def test_noise_floor_and_table(study):
    groups, all_sources = study
    floor = noise_floor([0.8123] * 4)
    assert floor.bitwise_identical and floor.variance == 0.0 and floor.max_abs_deviation == 0.0
    noisy = noise_floor([0.8123, 0.8124, 0.8123])
    assert (
        not noisy.bitwise_identical
        and noisy.std > 0
        and noisy.variance_ci_low < noisy.variance < noisy.variance_ci_high
    )
    res = one_at_a_time_variance(groups, all_sources, seeds=Seeds(0), replicates=[0.5, 0.5, 0.5], n_resamples=999)
    frame = res.to_frame()
    assert list(frame.index) == ["init", "data_order", "all", "noise floor"]
    json.dumps(res.to_dict())
    from rich.console import Console

    console = Console(record=True, width=140, file=io.StringIO())
    console.print(res)
    text = console.export_text()
    assert "need not add up" in text and "noise floor" in text and "data_order" in text


def test_zero_all_sources_variance_gives_undefined_ratio():
    res = one_at_a_time_variance({"init": [1.0, 2.0, 3.0]}, [1.0, 1.0, 1.0], seeds=Seeds(0), n_resamples=999)
    assert np.isnan(res["init"].ratio) and "undefined" in res["init"].ratio_ci_method


def test_few_runs_get_the_f_interval_and_a_warning_not_nan():
    """3 runs per group (the quick demo): BCa's ratio interval was NaN; the F interval is exact for normal runs."""
    rng = np.random.default_rng(1)
    groups = {"init": rng.normal(0, 1.5, 3), "dropout": rng.normal(0, 0.3, 3)}
    all_sources = rng.normal(0, 1.0, 3)
    res = one_at_a_time_variance(groups, all_sources, seeds=Seeds(0), n_resamples=999)
    for name, x in groups.items():
        row = res[name]
        ratio = np.var(x, ddof=1) / np.var(all_sources, ddof=1)
        assert row.ratio_ci_method == "F"
        assert row.ratio_ci_low == pytest.approx(ratio / scipy.stats.f.ppf(0.975, 2, 2))
        assert row.ratio_ci_high == pytest.approx(ratio / scipy.stats.f.ppf(0.025, 2, 2))
    assert len(res.warnings) == 1 and "too few runs to rank the sources" in res.warnings[0]
    assert "factor of 146" in res.warnings[0]
    from rich.console import Console

    console = Console(record=True, width=200, file=io.StringIO())
    console.print(res)
    assert "too few runs to rank" in console.export_text()
    enough = one_at_a_time_variance({"init": rng.normal(size=10)}, rng.normal(size=10), seeds=Seeds(0), n_resamples=999)
    assert enough.warnings == () and enough["init"].ratio_ci_method in ("BCa", "percentile")


def test_f_interval_covers_by_simulation():
    rng = np.random.default_rng(12)
    hits = 0
    for r in range(300):
        res = one_at_a_time_variance(
            {"init": rng.normal(0, 0.5, 4)}, rng.normal(0, 1.0, 5), seeds=Seeds(r), n_resamples=100
        )
        hits += res["init"].ratio_ci_low <= 0.25 <= res["init"].ratio_ci_high
    assert abs(hits / 300 - 0.95) < 3 * np.sqrt(0.05 * 0.95 / 300)
