"""One run of `seedwise demo --quick` shared by the demo tests (it takes minutes)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import golden_tables
import pytest


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("demo")
    result = golden_tables.run_demo(out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out, result
