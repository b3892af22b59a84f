"""Update the quick demo's golden tables on purpose: `python tests/demo/update_golden.py`.

Run it (with the seedwise to record on the PYTHONPATH, or installed) when the numerics
change deliberately: a new optimiser, another engine, new library versions. It runs
`seedwise demo --quick` in a fresh folder, 100 columns wide, and writes
tests/demo/golden/quick-tables.txt and quick-fingerprint.json (the CPU and the library
versions the tables hold for). Review the diff before committing it: every changed
number is a changed result for a user who runs the demo.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import golden_tables


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        done = golden_tables.run_demo(Path(tmp) / "demo")
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout[-3000:] + done.stderr[-3000:], file=sys.stderr)
        return done.returncode
    golden_tables.GOLDEN.mkdir(exist_ok=True)
    golden_tables.TABLES.write_text(golden_tables.tables(done.stdout))
    record = {**golden_tables.fingerprint(), "seconds": round(seconds), "recorded": time.strftime("%Y-%m-%d")}
    golden_tables.FINGERPRINT.write_text(json.dumps(record, indent=2) + "\n")
    print(golden_tables.TABLES.read_text())
    print(f"wrote {golden_tables.TABLES} and {golden_tables.FINGERPRINT} ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
