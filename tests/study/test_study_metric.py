"""The metric a study names is the one its summaries show, and they say which (issue 18, item 18)."""

from __future__ import annotations

import pytest
import study_fns

from seedwise.cli import main
from seedwise.errors import InvalidArgumentError
from seedwise.study import Study, load_results


def _synthetic(store, **kwargs) -> Study:
    # study_fns.synthetic returns {"score", "double"}: "score" is first, "double" is the one named below
    return Study(study_fns.synthetic, name=kwargs.pop("name", "s"), sources=("init", "data_order"), n_seeds=3,
                 store=store, **kwargs)  # fmt: skip


def test_summaries_show_the_named_metric_and_say_so(tmp_path, capsys):
    store = tmp_path / "runs.sqlite"
    _synthetic(store, metric="double").run(workers=0, progress=False)
    _synthetic(store, name="plain").run(workers=0, progress=False)
    results = load_results(store, "s")
    assert results.main_metric == "double" and results.default_metric == "double"
    assert "s: double (" in str(results.summary()) and results.variance().metric == "double"
    assert load_results(store, "plain").default_metric == "score"  # none named: the first reported
    capsys.readouterr()
    assert main(["study", "status", str(store)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "double (named)" in out and "score (first reported)" in out
    assert main(["report", str(store), "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "study s: metric double (named by the study)" in out and "study plain: metric score (the first" in out
    html = (tmp_path / "report" / "report.html").read_text()
    assert "double: summary per source" in html and "score: summary per source" in html


def test_the_named_metric_is_kept_and_can_be_renamed(tmp_path):
    store = tmp_path / "runs.sqlite"
    _synthetic(store, metric="double").run(workers=0, progress=False)
    assert _synthetic(store).metric == "double"  # reopened without metric=: the study keeps its metric
    assert _synthetic(store, metric="score").metric == "score"
    assert load_results(store, "s").default_metric == "score"


def test_a_named_metric_no_run_reports_is_an_error_when_shown(tmp_path):
    study = _synthetic(None, metric="accuracy")
    with pytest.raises(InvalidArgumentError, match="metric 'accuracy' is not among the metrics the runs report"):
        study.run(workers=0, progress=False)
    with pytest.raises(InvalidArgumentError, match="names the metric 'accuracy', which no finished run reports"):
        load_results(study.store, "s").summary()
    with pytest.raises(InvalidArgumentError, match="metric must be the name"):
        _synthetic(None, metric="")
