"""The Keras walkthrough of docs/frameworks.md is examples/keras_walkthrough.py, byte for byte,
and it runs: its assertions (identical weights across runs, across num_parallel_calls, and after a
SIGKILL mid-epoch + resume in a fresh process; another init seed differs) hold."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from seedwise._optional import module_available

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "examples" / "keras_walkthrough.py"


def test_docs_include_exactly_the_walkthrough_script():
    docs = (ROOT / "docs" / "frameworks.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", docs, flags=re.S)
    assert SCRIPT.read_text() in blocks, "docs/frameworks.md must show examples/keras_walkthrough.py unchanged"


@pytest.mark.slow
@pytest.mark.skipif(not module_available("tensorflow"), reason="needs the tensorflow extra")
def test_keras_walkthrough_runs_and_its_assertions_hold():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=540, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "identical weights: across runs, across num_parallel_calls, and after SIGKILL + resume" in done.stdout
