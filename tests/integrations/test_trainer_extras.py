"""Each trainer integration is an optional extra: without its package, importing it names the extra to install."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
for package in ("lightning", "accelerate", "transformers"):
    sys.modules[package] = None  # as if not installed: importing it raises ModuleNotFoundError
out = {}
for module in ("lightning", "accelerate", "transformers"):
    try:
        __import__(f"seedwise.integrations.{module}")
        out[module] = None
    except ImportError as exc:
        out[module] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


@pytest.mark.slow  # the probe imports torch
def test_a_missing_trainer_package_names_its_extra():
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    for module in ("lightning", "accelerate", "transformers"):
        name, message = out[module]
        assert name == "MissingDependencyError"
        assert f"pip install 'seedwise[{module}]'" in message and f"seedwise.integrations.{module}" in message


def test_importing_seedwise_imports_no_integration():
    code = "import sys, seedwise; print(any(m.startswith('seedwise.integrations') for m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "False", run.stderr
