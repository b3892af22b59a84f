"""The quick demo's printed tables, and the fingerprint of the machine that printed them.

Shared by the golden test (tests/demo/test_demo_golden.py) and the script that updates
the golden files on purpose (tests/demo/update_golden.py). The tables are the part of
`seedwise demo --quick`'s output from the "2. Where the variance comes from" rule to the
line before "report:", printed 100 columns wide.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"
TABLES = GOLDEN / "quick-tables.txt"
FINGERPRINT = GOLDEN / "quick-fingerprint.json"
COLUMNS = "100"
#: The libraries whose numerics the tables depend on (fingerprint()["versions"] keys).
LIBRARIES = ("python", "numpy", "torch", "scipy", "opencv-python-headless")


def run_demo(out: Path, *, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """`seedwise demo --quick --out OUT --workers 2`, 100 columns wide."""
    return subprocess.run(
        [sys.executable, "-m", "seedwise.cli", "demo", "--quick", "--out", str(out), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": COLUMNS},
    )


def tables(stdout: str) -> str:
    """The printed tables: from the rule of section 2 to the line before "report:"."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "2. Where the variance comes from" in line)
    stop = next(i for i, line in enumerate(lines) if line.startswith("report:"))
    return "\n".join(line.rstrip() for line in lines[start:stop]) + "\n"


def fingerprint() -> dict[str, Any]:
    """What must match for the tables to be bit-identical: the CPU, the machine type, the libraries."""
    import seedwise

    fp = seedwise.fingerprint()
    versions = fp.get("versions", {})
    return {
        "cpu": fp.get("cpu", {}).get("name"),
        "machine": fp.get("os", {}).get("machine"),
        "versions": {name: versions.get(name) for name in LIBRARIES},
    }


def differences(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Where this machine differs from the one that recorded the golden tables."""
    out = [f"{key}: recorded {recorded.get(key)!r}, here {current.get(key)!r}" for key in ("cpu", "machine")
           if recorded.get(key) != current.get(key)]  # fmt: skip
    for name in LIBRARIES:
        was, now = recorded.get("versions", {}).get(name), current["versions"].get(name)
        if was != now:
            out.append(f"{name}: recorded {was}, here {now}")
    return out


def recorded() -> dict[str, Any]:
    return json.loads(FINGERPRINT.read_text())
