"""Cost of ``seed_everything(0)`` in a torch-only script: wall time and memory of the call.

The claim (issue 13): a torch script's ``seed_everything(0)`` takes under 50 ms and adds
under 10 MiB, because it seeds only the frameworks already imported and never imports
TensorFlow or JAX itself. The peer is Lightning's ``seed_everything`` (``lightning_fabric``),
which seeds Python, NumPy and torch. ``--base SRC`` adds an older seedwise (a ``src``
folder, e.g. ``git archive 6db0b9e src | tar -x -C /tmp/base``) as a third side.

Each measurement is a fresh process: import torch and the library, then time the first
call (for seedwise this includes loading its lazily imported ``seedwise.process`` modules
and NumPy's ``numpy.random``, which Lightning imports up front) and measure the growth of
the resident set (RSS) across it, then time a second call. The sides alternate, and the
medians are printed with the ratio to the peer.

    python benchmarks/seed_everything.py [--runs 5] [--base /tmp/base/src]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

CHILD = """
import json, sys, time
import psutil
import torch
{setup}
process = psutil.Process()
before = set(sys.modules)
rss = process.memory_info().rss
start = time.perf_counter()
{call}
seconds = time.perf_counter() - start
grown = process.memory_info().rss - rss
heavy = [m for m in ("tensorflow", "keras", "jax", "pytensor") if m in set(sys.modules) - before]
start = time.perf_counter()
{call}
again = time.perf_counter() - start
print(json.dumps({{"ms": seconds * 1e3, "again_ms": again * 1e3, "mib": grown / 2**20, "imported": heavy}}))
"""

SIDES = {
    "seedwise": ("import seedwise as sw", "sw.seed_everything(0)"),
    "lightning": ("from lightning_fabric.utilities.seed import seed_everything", "seed_everything(0)"),
}


def measure(side: str, pythonpath: str | None) -> dict:
    setup, call = SIDES["seedwise" if side == "seedwise (base)" else side]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(setup=setup, call=call)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per side")
    parser.add_argument("--base", help="the src folder of an older seedwise, measured as a third side")
    args = parser.parse_args()

    sides: dict[str, str | None] = {"seedwise": os.environ.get("PYTHONPATH"), "lightning": None}
    if args.base:
        sides["seedwise (base)"] = args.base
    results: dict[str, list[dict]] = {side: [] for side in sides}
    for _ in range(args.runs):
        for side, pythonpath in sides.items():
            results[side].append(measure(side, pythonpath))

    print(f"seed_everything(0) in a torch-only process ({args.runs} fresh processes per side, medians)")
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    peer_ms = statistics.median(r["ms"] for r in results["lightning"])
    print(f"{'side':<18} {'first call ms':>13} {'x peer':>8} {'MiB':>7} {'2nd call ms':>11}  imported by the call")
    for side, runs in results.items():
        ms = statistics.median(r["ms"] for r in runs)
        again = statistics.median(r["again_ms"] for r in runs)
        mib = statistics.median(r["mib"] for r in runs)
        imported = sorted({m for r in runs for m in r["imported"]}) or "-"
        print(f"{side:<18} {ms:13.2f} {ms / peer_ms:8.2f} {mib:7.2f} {again:11.2f}  {imported}")


if __name__ == "__main__":
    main()
