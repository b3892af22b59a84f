"""The report as a reader sees it: Chromium at 1280 px shows every column and the variance chart's intervals.

``make test`` installs Chromium (Debian: ``apt-get install --no-install-recommends
chromium``); elsewhere the test skips when none is found. ``python -m seedwise.report.browser
REPORT.html --out SHOTS`` runs the same check on any report and keeps the screenshots.
"""

from __future__ import annotations

import pytest
import report_fns

from seedwise.report import write_report
from seedwise.report.browser import check_in_browser, find_chromium
from seedwise.study import Study

pytestmark = pytest.mark.skipif(
    find_chromium() is None, reason="Chromium is not installed (apt-get install --no-install-recommends chromium)"
)

SOURCES = ("init", "data_order", "augment", "dropout")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A one-at-a-time study of 4 sources with 3 seeds (long level strings, few runs) and learning curves."""
    out = tmp_path_factory.mktemp("browser")
    store = out / "runs.sqlite"
    Study(report_fns.noisy_curves, name="a-study-with-a-long-name", sources=SOURCES, n_seeds=3, store=store,
          config={"epochs": 3}).run(workers=0, progress=False)  # fmt: skip
    Study(report_fns.synthetic, name="factorial", sources=("init", "data_order"), design="factorial", n_seeds=3,
          store=store).run(workers=0, progress=False)  # fmt: skip
    return write_report(store, out / "report")


def test_no_column_is_cut_off_at_1280_px(report, tmp_path):
    check = check_in_browser(report, width=1280, out_dir=tmp_path / "shots")
    assert check.ok, check.problems()
    assert len(check.tables) >= 6 and len(check.figures) >= 4
    runs = [t for t in check.tables if "runs of a-study" in t["caption"]]
    assert runs and runs[0]["columns"] == 12  # cell, source, level, levels, status, 5 metrics, duration (s), attempts
    assert check.screenshot is not None and check.screenshot.stat().st_size > 10_000
    from PIL import Image

    with Image.open(check.screenshot) as image:
        assert image.width == 1280


def test_the_variance_chart_is_shown_whole_with_its_intervals(report):
    check = check_in_browser(report, width=1280)
    charts = [f for f in check.figures if f["name"].endswith("-variance.png")]
    assert len(charts) == 2
    for chart in charts:
        assert chart["natural"] > 0 and chart["right"] <= 1280
    text = report.read_text()
    # the F intervals of the ratios exist with 3 runs, and the chi-square intervals of the variances
    assert text.count('<td class="text">F</td>') == len(SOURCES)
    assert text.count('<td class="text">chi2</td>') >= len(SOURCES) + 1
    assert "too few runs to rank the sources" in text
