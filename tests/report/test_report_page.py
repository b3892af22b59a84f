"""The HTML report: it parses, every figure is embedded, every table has the expected rows."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import pandas as pd
import pytest
import report_fns as study_fns
from matplotlib.figure import Figure

from seedwise.errors import InvalidArgumentError, StoreError
from seedwise.report import HtmlPage, write_comparison, write_report
from seedwise.study import Store, Study

PNG = b"\x89PNG\r\n\x1a\n"


def path_text(page: _Page) -> str:
    return page.raw


class _Page(HTMLParser):
    """Collects images, tables (as lists of body rows) and headings of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.tables: list[list[list[str]]] = []
        self.headings: list[str] = []
        self._in_body = False
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None
        self.raw = text
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag == "table":
            self.tables.append([])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[-1].append([])
        elif tag == "td" and self._in_body:
            self._cell = []
        elif tag in ("h1", "h2", "h3"):
            self._heading = []

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading.append(data)


def _embedded_png(img: dict[str, str]) -> bytes:
    prefix = "data:image/png;base64,"
    assert img["src"].startswith(prefix)
    data = base64.b64decode(img["src"][len(prefix) :], validate=True)
    assert data.startswith(PNG)
    return data


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "runs.sqlite"
    Study(study_fns.with_curves, name="curves", sources=("init", "data_order"), n_seeds=4, store=path,
          config={"epochs": 5}).run(workers=0, progress=False)  # fmt: skip
    Study(study_fns.flaky, name="flaky", sources=("init", "data_order"), design="factorial", n_seeds=3, store=path,
          replicates=2).run(workers=0, progress=False)  # fmt: skip
    Study(study_fns.synthetic, name="fac", sources=("init", "data_order"), design="factorial", n_seeds=3, store=path,
          replicates=2).run(workers=0, progress=False)  # fmt: skip
    Study(study_fns.synthetic, name="a", sources=("init", "data_order"), design="all", n_seeds=6, store=path,
          config={"offset": 1.5}).run(workers=0, progress=False)  # fmt: skip
    Study(study_fns.synthetic, name="b", sources=("init", "data_order"), design="all", n_seeds=6,
          store=path).run(workers=0, progress=False)  # fmt: skip
    return path


def test_report_of_one_study(store, tmp_path):
    path = write_report(store, tmp_path / "out", study="curves")
    assert path == tmp_path / "out" / "report.html"
    page = _Page(path.read_text())
    names = [img["data-name"] for img in page.images]
    assert names == ["curves-loss-distribution.png", "curves-loss-variance.png", "curves-curve-loss.png"]
    for img in page.images:
        assert _embedded_png(img) == (tmp_path / "out" / img["data-name"]).read_bytes()
    summary, variance, runs = page.tables
    assert [row[0] for row in summary] == ["init", "data_order", "all"]
    assert [row[1] for row in summary] == ["4", "4", "4"]
    assert [row[0] for row in variance] == ["init", "data_order", "all"]
    assert len(runs) == 12 and runs[0][0] == "init/0"
    assert "Study curves" in page.headings and "Learning curves" in page.headings


def test_report_of_every_study_with_failures_and_factorial(store, tmp_path):
    page = _Page(write_report(store, tmp_path).read_text())
    assert [h for h in page.headings if h.startswith("Study ")] == [
        "Study curves", "Study flaky", "Study fac", "Study a", "Study b"
    ]  # fmt: skip
    for img in page.images:
        _embedded_png(img)
    assert [img["data-name"] for img in page.images] == [
        "curves-loss-distribution.png", "curves-loss-variance.png", "curves-curve-loss.png",
        "flaky-score-distribution.png",  # failed factorial cells: no variance components (a note says why)
        "fac-score-distribution.png", "fac-score-variance.png",
        "a-score-distribution.png", "b-score-distribution.png",  # "all" design: the total variance, no shares
    ]  # fmt: skip
    assert "variance components need every cell" in path_text(page)
    failed = [t for t in page.tables if t and t[0] and t[0][-1].startswith("RuntimeError")]
    assert failed and all("diverged" in row[-1] for row in failed[0])
    n_failed = Store(store).counts("flaky")["failed"]
    assert len(failed[0]) == n_failed
    factorial_runs = [t for t in page.tables if len(t) == 9 + 2]  # 3x3 factorial + 2 replicates
    assert len(factorial_runs) == 2
    fac_variance = [
        t for t in page.tables if [row[0] for row in t] == ["init", "data_order", "residual", "noise floor"]
    ]
    assert len(fac_variance) == 1


def test_comparison_page(store, tmp_path):
    comparison, path = write_comparison(store, "a", "b", "score", tmp_path / "cmp")
    assert comparison.paired and comparison.decision == "A better"
    page = _Page(path.read_text())
    assert len(page.images) == 1 and page.images[0]["data-name"] == "compare-a-vs-b-score.png"
    assert (tmp_path / "cmp" / "compare-a-vs-b-score.png").read_bytes() == _embedded_png(page.images[0])
    assert any(row[0] == "decision" for row in page.tables[0])


def test_report_errors(store, tmp_path):
    with pytest.raises(InvalidArgumentError, match="'curves'"):
        write_report(store, tmp_path, study="nope")
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        write_report(tmp_path / "missing.sqlite", tmp_path)
    empty = tmp_path / "empty.sqlite"
    Store(empty).close()
    with pytest.raises(StoreError, match="no study"):
        write_report(empty, tmp_path)
    with pytest.raises(InvalidArgumentError, match="metric"):
        write_report(store, tmp_path, study="a", metric="accuracy")


def test_html_page_builder(tmp_path):
    page = HtmlPage("Demo <results>")
    page.add_heading("Section & more", level=2)
    page.add_text("a < b", note=True)
    page.add_table(pd.DataFrame({"name": ["x", "y"], "value": [1.23456789, float("nan")], "n": [3, 4]}))
    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    assert page.add_figure(fig, name="my fig", caption="a line") == "my-fig.png"
    with pytest.raises(InvalidArgumentError, match="already"):
        page.add_figure(fig, name="my fig")
    with pytest.raises(InvalidArgumentError, match="level"):
        page.add_heading("x", level=7)
    out = page.write(tmp_path / "p", filename="demo.html")
    parsed = _Page(out.read_text())
    assert parsed.headings == ["Demo <results>", "Section & more"]
    assert parsed.tables == [[["x", "1.235", "3"], ["y", "-", "4"]]]
    assert (tmp_path / "p" / "my-fig.png").read_bytes() == _embedded_png(parsed.images[0])
    assert "HtmlPage('Demo <results>'" in repr(page)


def test_tables_say_ratio_or_share_and_give_units(store, tmp_path):
    text = write_report(store, tmp_path).read_text()
    assert "<th>ratio to all</th>" in text and "<th>share of total</th>" in text
    assert "<th>duration (s)</th>" in text and "<th>duration</th>" not in text
    assert "init=0, data_order=0" in text  # levels can wrap
    assert '<div class="table-wrap"><table>' in text
    page = _Page(text)
    curves_variance = [
        t for t in page.tables if [row[0] for row in t] == ["init", "data_order", "all"] and len(t[0]) == 8
    ]
    # 4 runs per group: chi-square intervals for the variances, F intervals for the ratios
    assert curves_variance and [row[4] for row in curves_variance[0]] == ["chi2"] * 3
    assert [row[7] for row in curves_variance[0]] == ["F", "F", "= 1 by definition"]
