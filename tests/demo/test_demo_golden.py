"""The quick demo prints exactly the golden tables kept in the repository (on the machine kind they hold for).

The README's tables went stale once (the code changed after its run); this test keeps the
demo's printed tables under review: a change of numerics fails here until the golden
files are updated on purpose (`python tests/demo/update_golden.py`, see
tests/demo/golden/README.md). Tables are bit-identical only with the same CPU and library
versions, so on any other machine the test skips and says what differs.
"""

from __future__ import annotations

import difflib

import golden_tables
import pytest

pytestmark = pytest.mark.slow


def test_quick_demo_prints_the_golden_tables(demo_dir):
    if not golden_tables.FINGERPRINT.exists():
        pytest.fail(f"no golden tables: run python {golden_tables.GOLDEN.parent / 'update_golden.py'}")
    differs = golden_tables.differences(golden_tables.recorded(), golden_tables.fingerprint())
    if differs:
        pytest.skip("the golden tables hold for another machine or library versions: " + "; ".join(differs))
    _, result = demo_dir
    printed = golden_tables.tables(result.stdout)
    golden = golden_tables.TABLES.read_text()
    diff = "".join(difflib.unified_diff(golden.splitlines(True), printed.splitlines(True), "golden", "printed"))
    assert printed == golden, (
        "the quick demo's tables changed; if that is intended, update the golden files with "
        f"python tests/demo/update_golden.py and review the diff:\n{diff}"
    )


def test_the_tables_say_when_they_are_too_few_runs_to_read(demo_dir):
    _, result = demo_dir
    printed = " ".join(golden_tables.tables(result.stdout).split())
    assert "3 seeds per source are too few runs to read the var ratios" in printed
