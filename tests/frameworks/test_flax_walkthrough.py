"""The Flax walkthrough of docs/frameworks.md is examples/flax_walkthrough.py, byte for byte, and
it runs: identical weights across runs and after a resume without a saved key; jit-side step keys
equal to the host-side step_key."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from seedwise._optional import module_available

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "flax_walkthrough.py"


def test_docs_include_exactly_the_flax_walkthrough():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "frameworks.md").read_text(), flags=re.S)
    assert SCRIPT.read_text() in blocks, "docs/frameworks.md must show examples/flax_walkthrough.py unchanged"


@pytest.mark.slow
@pytest.mark.skipif(not module_available("flax"), reason="needs the flax extra: pip install 'seedwise[flax]'")
def test_flax_walkthrough_runs_and_its_assertions_hold():
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "identical weights: across runs and after a resume without a saved key" in done.stdout
