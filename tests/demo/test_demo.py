"""`seedwise demo --quick` end to end: the store, the report, the figures, and a rerun that repeats nothing."""

from __future__ import annotations

import html.parser
import sqlite3
import subprocess
import sys
from pathlib import Path

import golden_tables
import pytest

pytestmark = pytest.mark.slow


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.headings: list[str] = []
        self.tables = 0
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag in ("h1", "h2", "h3"):
            self._in_heading = True
            self.headings.append("")
        if tag == "table":
            self.tables += 1

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3"):
            self._in_heading = False

    def handle_data(self, data):
        if self._in_heading:
            self.headings[-1] += data


def _demo(out: Path) -> subprocess.CompletedProcess:
    return golden_tables.run_demo(out, timeout=1200)


def _runs(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "runs.sqlite") as db:
        return db.execute("SELECT study, cell, status, metrics, attempts FROM runs ORDER BY study, cell").fetchall()


def test_store_holds_every_run_done(demo_dir):
    out, _ = demo_dir
    runs = _runs(out)
    studies = {r[0] for r in runs}
    assert {"sources-quick", "methods-quick"} <= studies
    assert all(r[2] == "done" for r in runs), [r for r in runs if r[2] != "done"]
    import json

    sources = [json.loads(r[3]) for r in runs if r[0] == "sources-quick"]
    assert len(sources) == 5 * 3  # four sources + all together, 3 seeds each
    for metrics in sources:
        assert 0.5 < metrics["accuracy"] <= 1.0  # far above chance (0.1)
        assert 0 < metrics["nll"] < 2.0


def test_report_and_figures(demo_dir):
    out, result = demo_dir
    page = _Page()
    page.feed((out / "report.html").read_text())
    text = " ".join(page.headings)
    for section in ("1. Reproducibility", "2. Where the variance comes from", "3. Reducing it"):
        assert section in text
    assert page.images and all(src.startswith("data:image/png;base64,") for src in page.images)
    assert page.tables >= 4
    pngs = {p.name for p in out.glob("*.png")}
    assert "reliability.png" in pngs and "methods-comparison.png" in pngs
    assert any("distribution" in p for p in pngs) and any("variance" in p for p in pngs)
    assert "bit-identical" in result.stdout and "DIFFERENT" not in result.stdout
    assert "report:" in result.stdout
    report = (out / "report.html").read_text()
    assert "repro_epochs" not in report and '{"name"' not in report  # the profile in words, not as JSON
    assert "Profile quick: the reproducibility check trains 2 epochs" in report


def test_rerun_repeats_nothing_and_gives_the_same_results(demo_dir):
    out, first = demo_dir
    before = _runs(out)
    second = _demo(out)
    assert second.returncode == 0, second.stderr[-3000:]
    assert _runs(out) == before  # same rows, same metrics, no new attempts
    assert "from the previous run" in second.stdout

    def tables(stdout: str) -> str:
        return stdout[stdout.index("2. Where the variance") : stdout.index("report:")]

    assert tables(second.stdout) == tables(first.stdout)


def test_bad_flags_are_one_line_errors(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "seedwise.cli", "demo", "--workers", "-1", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "workers" in bad.stderr
