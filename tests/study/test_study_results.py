"""Results: tables, summaries, variance with known components, comparisons."""

from __future__ import annotations

import math

import numpy as np
import pytest
import study_fns
from rich.console import Console

from seedwise import Seeds, stats
from seedwise.errors import InvalidArgumentError, StoreError
from seedwise.study import Results, Study, load_results


def _render(obj) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(obj)
    console.file.close()
    return console.export_text()


@pytest.fixture(scope="module")
def oat(tmp_path_factory):
    store = tmp_path_factory.mktemp("oat") / "runs.sqlite"
    study = Study(study_fns.synthetic, name="oat", sources=("init", "data_order", "augment"), n_seeds=12,
                  seeds=Seeds(3), store=store, replicates=3)  # fmt: skip
    return study.run(workers=0, progress=False)


def test_table_has_one_row_per_run(oat):
    table = oat.table()
    assert len(table) == 4 * 12 + 3
    assert list(table.columns) == ["cell", "source", "level", "levels", "arm", "status", "score", "double",
                                   "duration", "attempts", "error"]  # fmt: skip
    assert table["cell"].tolist()[:2] == ["init/0", "init/1"]
    assert (table["status"] == "done").all() and (table["double"] == 2 * table["score"]).all()
    assert table.groupby("source").size().to_dict() == {"init": 12, "data_order": 12, "augment": 12, "all": 12,
                                                        "replicate": 3}  # fmt: skip
    assert oat.metrics == ["score", "double"]


def test_results_load_from_the_store_alone(oat):
    again = load_results(oat.store.path, "oat")
    assert again.table()["score"].tolist() == oat.table()["score"].tolist()
    assert Study.load(oat.store.path, "oat").counts()["done"] == 51
    with pytest.raises(StoreError, match="no study named 'nope'"):
        load_results(oat.store.path, "nope")
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        load_results(oat.store.path.parent / "missing.sqlite", "oat")


def test_summary_matches_describe(oat):
    frame = oat.summary_frame("score")
    row = frame.set_index("source").loc["init"]
    values = oat.table().query("source == 'init'")["score"].to_numpy()
    d = stats.describe(values, seeds=Seeds(3)["study-stats"]["init"])
    assert (row["runs"], row["mean"], row["std"], row["ci_low"], row["ci_high"]) == (
        12,
        d.mean,
        d.std,
        d.ci_low,
        d.ci_high,
    )
    text = _render(oat.summary("score"))
    assert "init" in text and "data_order" in text and "95% CI" in text
    plain = str(oat.summary("score"))  # print(results.summary()) shows the table, not <rich.table.Table ...>
    assert "data_order" in plain and "95% CI" in plain and "Table object" not in plain
    with pytest.raises(InvalidArgumentError, match="'score', 'double'"):
        oat.summary("accuracy")


def test_one_at_a_time_variance_recovers_known_sources(oat):
    report = oat.variance("score")
    text = str(report)  # print(results.variance(...)) shows the intervals, not only the repr
    assert "init: variance" in text and "noise floor" in text and "conditional" in text
    components = report.components
    true = {s: sigma**2 for s, sigma in study_fns.SIGMA.items()}
    for source in ("init", "data_order"):
        row = components[source]
        assert row.variance_ci_low <= true[source] <= row.variance_ci_high, row
    assert len(set(oat.values("score", group="augment").values())) == 1  # augment has no effect here
    assert components["augment"].variance < 1e-20
    assert components["init"].variance > 4 * components["data_order"].variance
    assert report.noise_floor.bitwise_identical and report.noise_floor.n == 3
    frame = report.to_frame()
    assert frame["component"].tolist() == ["init", "data_order", "augment", "all", "noise floor"]
    assert "need not add up" in _render(report)
    # Same seeds, same intervals; other seeds, other bootstrap draws.
    assert oat.variance("score").to_dict() == report.to_dict()
    other = oat.variance("score", seeds=Seeds(99))
    assert other.components["init"].ratio_ci_low != components["init"].ratio_ci_low


def test_factorial_variance_components_recover_known_sources():
    study = Study(study_fns.synthetic, name="fac", sources=("init", "data_order"), design="factorial", n_seeds=6,
                  seeds=Seeds(1), store=None)  # fmt: skip
    report = study.run(workers=0, progress=False).variance("score")
    by_name = {c.name: c for c in report.components.components}
    assert set(by_name) == {"init", "data_order", "residual"}
    for source in ("init", "data_order"):
        assert by_name[source].ci_low <= study_fns.SIGMA[source] ** 2 <= by_name[source].ci_high
    assert by_name["residual"].estimate < 1e-20  # purely additive: no interaction, no noise
    assert report.to_frame()["share"].iloc[0] > 0.5


def test_all_design_variance_is_the_total():
    results = Study(study_fns.synthetic, name="all", sources=("init", "data_order"), design="all", n_seeds=10,
                    store=None).run(workers=0, progress=False)  # fmt: skip
    report = results.variance()
    values = results.table()["score"].to_numpy()
    assert report.components.variance == float(np.var(values, ddof=1))
    assert report.components.variance_ci_low <= 4.25 <= report.components.variance_ci_high


def test_compare_paired_studies_on_the_same_seeds():
    a = Study(study_fns.synthetic, name="a", sources=("init", "data_order"), design="all", n_seeds=6, store=None,
              config={"offset": 2.0})  # fmt: skip
    ra = a.run(workers=0, progress=False)
    b = Study(study_fns.synthetic, name="b", sources=("init", "data_order"), design="all", n_seeds=6, store=a.store)
    rb = b.run(workers=0, progress=False)
    comparison = ra.compare(rb, "score")
    assert comparison.paired and comparison.n_a == comparison.n_b == 6
    assert math.isclose(comparison.difference, 1.0, rel_tol=1e-9)  # same seeds: only the offset differs
    assert comparison.decision == "A better"
    # A different base seed: unpaired.
    c = Study(study_fns.synthetic, name="c", sources=("init", "data_order"), design="all", n_seeds=6, store=a.store,
              seeds=Seeds(5))  # fmt: skip
    assert not ra.compare(c.run(workers=0, progress=False), "score").paired


def test_compare_with_a_config_runs_a_sibling_on_the_same_seeds():
    study = Study(study_fns.synthetic, name="base", sources=("init",), design="all", n_seeds=5, store=None)
    results = study.run(workers=0, progress=False)
    comparison = results.compare({"offset": 3.0}, "score", workers=0, progress=False)
    assert comparison.paired and math.isclose(comparison.difference, -2.0, rel_tol=1e-9)
    assert 'base+{"offset":3.0}' in study.store.studies()


def test_paired_arms():
    study = Study(study_fns.synthetic, name="ab", sources=("init",), design="all", n_seeds=5, store=None,
                  paired={"A": {"offset": 1.0}, "B": {"offset": 0.5}})  # fmt: skip
    results = study.run(workers=0, progress=False)
    assert len(results.table()) == 10
    comparison = results.compare("B", "score")  # arm A (the first) against arm B
    assert comparison.paired and math.isclose(comparison.difference, 0.5, rel_tol=1e-9)
    assert "arm" in results.summary_frame().columns
    with pytest.raises(InvalidArgumentError, match="'A', 'B'"):
        results.compare("C", "score")


def test_unfinished_study_has_no_metrics(tmp_path):
    study = Study(study_fns.synthetic, name="new", sources=("init",), design="all", n_seeds=2, store=None)
    results = Results(study.store, "new")
    assert results.counts()["pending"] == 2
    with pytest.raises(InvalidArgumentError, match="no finished run"):
        results.variance()
    assert "pending=2" in repr(results)


def test_compare_with_too_few_runs_names_the_study(tmp_path):
    store = tmp_path / "runs.sqlite"
    ok = Study(study_fns.synthetic, name="ok", sources=("init",), design="all", n_seeds=4, store=store)
    few = Study(study_fns.synthetic, name="few", sources=("init",), design="all", n_seeds=1, store=store)
    a, b = ok.run(workers=0, progress=False), few.run(workers=0, progress=False)
    with pytest.raises(InvalidArgumentError, match="study 'few' has 1 finished run"):
        a.compare(b, "score")
