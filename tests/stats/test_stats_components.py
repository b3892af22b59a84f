"""Variance components: the ANOVA table, known components recovered, clipping, warnings."""

from __future__ import annotations

import io
import itertools
import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from seedwise import Seeds
from seedwise.stats import variance_components

smf = pytest.importorskip("statsmodels.formula.api")
sm_anova = pytest.importorskip("statsmodels.stats.anova")


def simulate(rng, levels, sigma2, replicates):
    """A balanced crossed design with random effects of the given variances (key: tuple of axes)."""
    k = len(levels)
    effects = {
        s: rng.normal(0.0, np.sqrt(sigma2.get(s, 0.0)), size=tuple(levels[i] for i in s))
        for order in range(1, k + 1)
        for s in itertools.combinations(range(k), order)
    }
    rows = []
    for cell in itertools.product(*(range(n) for n in levels)):
        mean = 0.8 + sum(e[tuple(cell[i] for i in s)] for s, e in effects.items())
        for _ in range(replicates):
            rows.append((*cell, mean + rng.normal(0.0, np.sqrt(sigma2["e"]))))
    names = ["init", "data_order", "augment"][:k]
    return pd.DataFrame(rows, columns=[*names, "acc"]), names


def test_anova_table_matches_statsmodels_two_factors(test_seed):
    df, names = simulate(Seeds(test_seed).numpy(), [4, 3], {(0,): 1.0, (1,): 0.5, (0, 1): 0.3, "e": 0.2}, 2)
    res = variance_components(df, names, "acc", seeds=Seeds(0), n_draws=500)
    table = sm_anova.anova_lm(smf.ols("acc ~ C(init) * C(data_order)", df).fit())
    for comp, row in zip(res.components, ["C(init)", "C(data_order)", "C(init):C(data_order)", "Residual"]):
        assert comp.df == table.loc[row, "df"]
        assert comp.sum_sq == pytest.approx(table.loc[row, "sum_sq"], rel=1e-9)
        assert comp.mean_sq == pytest.approx(table.loc[row, "mean_sq"], rel=1e-9)
    ms = {c.name: c.mean_sq for c in res.components}
    # Expected mean squares, solved by hand (a=4, b=3, r=2).
    assert res["init"].raw_estimate == pytest.approx((ms["init"] - ms["init:data_order"]) / (3 * 2))
    assert res["data_order"].raw_estimate == pytest.approx((ms["data_order"] - ms["init:data_order"]) / (4 * 2))
    assert res["init:data_order"].raw_estimate == pytest.approx((ms["init:data_order"] - ms["residual"]) / 2)
    assert res["residual"].raw_estimate == pytest.approx(ms["residual"])


def test_anova_table_matches_statsmodels_three_factors(test_seed):
    sigma2 = {(0,): 1.0, (1,): 0.5, (2,): 0.2, (0, 1): 0.1, "e": 0.3}
    df, names = simulate(Seeds(test_seed).numpy(), [3, 2, 2], sigma2, 2)
    res = variance_components(df, names, "acc", seeds=Seeds(0), n_draws=500)
    table = sm_anova.anova_lm(smf.ols("acc ~ C(init) * C(data_order) * C(augment)", df).fit())
    assert [c.name for c in res.components] == [
        "init",
        "data_order",
        "augment",
        "init:data_order",
        "init:augment",
        "data_order:augment",
        "init:data_order:augment",
        "residual",
    ]
    assert [c.sum_sq for c in res.components] == pytest.approx(list(table["sum_sq"]), rel=1e-9)
    assert [c.df for c in res.components] == list(table["df"].astype(int))
    ms = {c.name: c.mean_sq for c in res.components}
    # sigma2_init = (MS_A - MS_AB - MS_AC + MS_ABC) / (b c r)
    expected = (ms["init"] - ms["init:data_order"] - ms["init:augment"] + ms["init:data_order:augment"]) / (2 * 2 * 2)
    assert res["init"].raw_estimate == pytest.approx(expected)


def test_one_run_per_cell_confounds_the_top_interaction(test_seed):
    df, names = simulate(Seeds(test_seed).numpy(), [5, 6], {(0,): 1.0, (1,): 0.5, "e": 0.2}, 1)
    res = variance_components(df, names, "acc", seeds=Seeds(0), n_draws=500)
    assert [c.name for c in res.components] == ["init", "data_order", "residual"]
    assert res.confounded_with == "init:data_order"
    assert res["residual"].df == 4 * 5
    ms = {c.name: c.mean_sq for c in res.components}
    assert res["init"].raw_estimate == pytest.approx((ms["init"] - ms["residual"]) / 6)


def test_intervals_cover_known_components(test_seed):
    truth = {(0,): 1.0, (1,): 0.5, (0, 1): 0.25, "e": 0.5}
    names = {(0,): "init", (1,): "data_order", (0, 1): "init:data_order", "e": "residual"}
    rng = Seeds(test_seed)["simulation"].numpy()
    hits = dict.fromkeys(names.values(), 0)
    reps = 50
    for i in range(reps):
        df, factors = simulate(rng, [6, 6], truth, 2)
        res = variance_components(df, factors, "acc", seeds=Seeds(i), n_draws=2000)
        for key, name in names.items():
            hits[name] += res[name].ci_low <= truth[key] <= res[name].ci_high
    assert all(h >= 0.8 * reps for h in hits.values()), hits


def test_negative_estimates_are_clipped_and_flagged():
    # Every init level has the same mean (each row is 10 j plus a cyclic shift of 0..4), so
    # the init mean square is 0 and its moment estimate negative; data_order is strong.
    rows = [(i, j, 10.0 * j + (i + j) % 5) for i in range(5) for j in range(5)]
    df = pd.DataFrame(rows, columns=["init", "data_order", "acc"])
    res = variance_components(df, ["init", "data_order"], "acc", seeds=Seeds(0), n_draws=500)
    assert res["init"].raw_estimate < 0
    assert res["init"].clipped and res["init"].estimate == 0.0 and res["init"].ci_low == 0.0
    assert not res["data_order"].clipped


def test_few_levels_are_flagged_without_a_python_warning(test_seed):
    df, names = simulate(Seeds(test_seed).numpy(), [3, 6], {(0,): 1.0, (1,): 0.5, "e": 0.2}, 2)
    res = variance_components(df, names, "acc", seeds=Seeds(0), n_draws=500)
    assert res.few_levels == ("init",)
    assert res["init"].few_levels and res["init:data_order"].few_levels and not res["data_order"].few_levels
    assert len(res.warnings) == 1 and "only 3 levels" in res.warnings[0]


def test_level_labels_and_row_order_do_not_matter(test_seed):
    df, names = simulate(Seeds(test_seed).numpy(), [5, 5], {(0,): 1.0, (1,): 0.5, "e": 0.2}, 2)
    res = variance_components(df, names, "acc", seeds=Seeds(0), n_draws=500)
    shuffled = df.sample(frac=1.0, random_state=Seeds(1).numpy()).assign(init=lambda d: "seed" + d["init"].astype(str))
    again = variance_components(shuffled, names, "acc", seeds=Seeds(0), n_draws=500)
    assert [c.sum_sq for c in again.components] == pytest.approx([c.sum_sq for c in res.components], rel=1e-10)
    assert [c.ci_high for c in again.components] == pytest.approx([c.ci_high for c in res.components], rel=1e-10)


def test_result_table_frame_and_json(test_seed):
    df, names = simulate(Seeds(test_seed).numpy(), [5, 5], {(0,): 1.0, (1,): 0.5, "e": 0.2}, 1)
    res = variance_components(df, names, "acc", seeds=Seeds(0), n_draws=500)
    assert sum(c.share for c in res.components) == pytest.approx(1.0)
    assert res.total == pytest.approx(sum(c.estimate for c in res.components))
    frame = res.to_frame()
    assert list(frame.index) == ["init", "data_order", "residual"] and "share_ci_high" in frame.columns
    assert json.loads(json.dumps(res.to_dict()))["confounded_with"] == "init:data_order"
    from rich.console import Console

    console = Console(record=True, width=140, file=io.StringIO())
    console.print(res)
    assert "residual includes the init:data_order interaction" in console.export_text()


def test_random_model_f_tests_two_factors_match_the_textbook_ratios(test_seed):
    df, names = simulate(Seeds(test_seed).numpy(), [5, 4], {(0,): 1.0, (1,): 0.5, (0, 1): 0.3, "e": 0.2}, 2)
    res = variance_components(df, names, "acc", seeds=Seeds(0), n_draws=200)
    table = sm_anova.anova_lm(smf.ols("acc ~ C(init) * C(data_order)", df).fit())
    ms = table["mean_sq"]
    # main effects over the interaction (E[MS_A] = s2_e + r s2_AB + b r s2_A), not over MS_E
    for name, row, df_num in (("init", "C(init)", 4), ("data_order", "C(data_order)", 3)):
        f = ms[row] / ms["C(init):C(data_order)"]
        assert res[name].f_test == "F" and res[name].f_statistic == pytest.approx(f, rel=1e-9)
        assert (res[name].f_df_num, res[name].f_df_den) == (df_num, 12)
        assert res[name].pvalue == pytest.approx(scipy.stats.f.sf(f, df_num, 12), rel=1e-9)
    # the interaction over MS_E: the same as the fixed-effects test of statsmodels
    inter = res["init:data_order"]
    assert inter.f_statistic == pytest.approx(table.loc["C(init):C(data_order)", "F"], rel=1e-9)
    assert inter.pvalue == pytest.approx(table.loc["C(init):C(data_order)", "PR(>F)"], rel=1e-9)
    assert res["residual"].f_test == "" and np.isnan(res["residual"].pvalue)


def test_one_run_per_cell_tests_main_effects_over_the_residual(test_seed):
    df, names = simulate(Seeds(test_seed).numpy(), [6, 5], {(0,): 1.0, (1,): 0.0, "e": 0.5}, 1)
    res = variance_components(df, names, "acc", seeds=Seeds(0), n_draws=200)
    f = res["init"].mean_sq / res["residual"].mean_sq
    assert res["init"].f_statistic == pytest.approx(f) and res["init"].f_df_den == 20
    assert res["init"].pvalue == pytest.approx(scipy.stats.f.sf(f, 5, 20))


def test_three_factors_use_a_quasi_f_for_main_effects(test_seed):
    sigma2 = {(0,): 1.0, (1,): 0.5, (2,): 0.2, (0, 1): 0.1, "e": 0.3}
    df, names = simulate(Seeds(test_seed).numpy(), [4, 3, 3], sigma2, 2)
    res = variance_components(df, names, "acc", seeds=Seeds(0), n_draws=200)
    c = {x.name: x for x in res.components}
    ms = {k: v.mean_sq for k, v in c.items()}
    dfs = {k: v.df for k, v in c.items()}
    num = ms["init"] + ms["init:data_order:augment"]
    den = ms["init:data_order"] + ms["init:augment"]
    assert c["init"].f_test == "quasi-F" and c["init"].f_statistic == pytest.approx(num / den)
    satt = den**2 / (
        ms["init:data_order"] ** 2 / dfs["init:data_order"] + ms["init:augment"] ** 2 / dfs["init:augment"]
    )
    assert c["init"].f_df_den == pytest.approx(satt)
    # two-source interactions: exact, over the three-source interaction
    assert c["init:data_order"].f_test == "F"
    assert c["init:data_order"].f_statistic == pytest.approx(ms["init:data_order"] / ms["init:data_order:augment"])
    assert "quasi-F" in io_text(res)


def io_text(result) -> str:
    from rich.console import Console

    console = Console(record=True, width=140, file=io.StringIO())
    console.print(result)
    return console.export_text()


@pytest.mark.parametrize(("levels", "interaction"), [([5, 4], (0, 1)), ([4, 3, 3], (0, 1))])
def test_f_test_holds_its_level_by_simulation_where_the_fixed_model_test_does_not(levels, interaction):
    """No init effect, a large init x data_order interaction: random-model F rejects ~5%, fixed-model F far more."""
    rng = np.random.default_rng(17)
    reps, ours, fixed = 250, 0, 0
    sigma2 = {interaction: 1.0, "e": 0.1}
    for _ in range(reps):
        df, names = simulate(rng, levels, sigma2, 2)
        res = variance_components(df, names, "acc", seeds=Seeds(0), n_draws=100)
        ours += res["init"].pvalue < 0.05
        fixed += (
            scipy.stats.f.sf(res["init"].mean_sq / res["residual"].mean_sq, res["init"].df, res["residual"].df) < 0.05
        )
    tolerance = 3 * np.sqrt(0.05 * 0.95 / reps)
    assert abs(ours / reps - 0.05) < tolerance + (0.02 if len(levels) == 3 else 0.0)  # quasi-F: approximate
    assert fixed / reps > 0.3
