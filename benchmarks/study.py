"""Study runner benchmarks: worker scaling and per-run overhead, local processes and Ray.

Claims measured (goals from issue #5):

1. throughput of 2 local workers vs 1 on a CPU-bound train function (goal >= 1.8x on 2 cores);
2. per-run overhead of the runner + SQLite store, excluding training (goal <= 50 ms/run
   locally): a no-op train over many runs, ``(T(n_big) - T(n_small)) / (n_big - n_small)``
   so that pool start-up cancels out; printed next to the peer, a bare
   ``ProcessPoolExecutor.map`` over the same no-op (no store, no claims);
3. the same on Ray, against bare Ray tasks;
4. command studies (issue #14): the runner's overhead per command run over launching the
   same commands with ``subprocess.run`` in a loop (goal <= 30 ms/run), measured on a
   trivial command (``echo`` of a JSON object) as ``(T(big) - T(small)) / (big - small)``
   for both sides, alternated in one process; and 2 workers vs 1 on a CPU-bound command
   (a Python loop of about a second; goal >= 1.8x on 2 cores).

Scaling times are the best of ``--repeat`` interleaved measurements (pool start-up
included), since a shared machine's other load comes and goes. The load average is
printed with each section: on a shared machine the scaling figures move with it.

Run: ``OMP_NUM_THREADS=1 python benchmarks/study.py [--quick] [--no-ray] [--repeat 3] [--only commands]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from seedwise import Seeds
from seedwise.study import Study


def cpu_train(seeds: Seeds, config: dict) -> dict[str, float]:
    """CPU-bound: a pure-Python loop of config['work'] iterations seeded by the init stream."""
    x = int(seeds["init"]) % 1000
    for i in range(int(config["work"])):
        x = (x * 1103515245 + 12345 + i) % 2147483648
    return {"x": float(x)}


def wait_train(seeds: Seeds, config: dict) -> dict[str, float]:
    """Wait-bound: sleeps config['sleep'] seconds (scales with workers even when the cores are busy)."""
    time.sleep(float(config["sleep"]))
    return {"x": float(int(seeds["init"]) % 1000)}


def noop_train(seeds: Seeds, config: dict) -> dict[str, float]:
    return {"x": 0.0}


def _noop(_: int) -> dict[str, float]:
    return {"x": 0.0}


def _study(fn, name: str, n: int, store: Path, config: dict | None = None) -> Study:
    return Study(fn, name=name, sources=("init",), design="all", n_seeds=n, store=store, config=config)


def _time_study(fn, name, n, store, config=None, **run) -> float:
    study = _study(fn, name, n, store, config)
    start = time.perf_counter()
    results = study.run(progress=False, **run)
    elapsed = time.perf_counter() - start
    assert results.counts()["done"] == n, results.counts()
    return elapsed


def scaling(tmp: Path, runs: int, work: int, fn=cpu_train, config: dict | None = None, repeat: int = 1,
            **run) -> tuple[float, float]:  # fmt: skip
    """Best-of-``repeat`` wall times (pool start-up included) of ``runs`` runs on 1 and on 2 workers, interleaved."""
    label = f"{run.get('backend', 'local')}-{fn.__name__}"
    config = {"work": work} if config is None else config
    t1 = t2 = float("inf")
    for r in range(repeat):
        t1 = min(t1, _time_study(fn, f"{label}-1-{r}", runs, tmp / f"{label}-1-{r}.sqlite", config, workers=1, **run))
        t2 = min(t2, _time_study(fn, f"{label}-2-{r}", runs, tmp / f"{label}-2-{r}.sqlite", config, workers=2, **run))
    return t1, t2


def overhead(tmp: Path, small: int, big: int, **run) -> float:
    label = f"{run.get('backend', 'local')}-{run.get('workers')}"
    ts = _time_study(noop_train, f"{label}-small", small, tmp / f"{label}-o1.sqlite", **run)
    tb = _time_study(noop_train, f"{label}-big", big, tmp / f"{label}-o2.sqlite", **run)
    return (tb - ts) / (big - small)


def peer_pool_overhead(small: int, big: int, workers: int) -> float:
    ctx = mp.get_context("forkserver")

    def timed(n: int) -> float:
        start = time.perf_counter()
        with cf.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            list(pool.map(_noop, range(n)))
        return time.perf_counter() - start

    return (timed(big) - timed(small)) / (big - small)


def peer_ray_overhead(small: int, big: int) -> float:
    import ray

    task = ray.remote(num_cpus=1)(_noop)

    def timed(n: int) -> float:
        start = time.perf_counter()
        ray.get([task.remote(i) for i in range(n)])
        return time.perf_counter() - start

    timed(4)  # warm the workers
    return (timed(big) - timed(small)) / (big - small)


ECHO = [shutil.which("echo") or "/bin/echo", '{"x": 1}']


def cpu_command(work: int) -> list[str]:
    """A CPU-bound command: a pure-Python loop seeded by the run's {seed.init}, printing its result as JSON."""
    code = (
        "import sys, json; x = int(sys.argv[1]) % 1000\n"
        f"for i in range({work}): x = (x * 1103515245 + 12345 + i) % 2147483648\n"
        "print(json.dumps({'x': float(x)}))"
    )
    return [sys.executable, "-c", code, "{seed.init}"]


def _time_command_study(command: list[str], name: str, n: int, store: Path, workers: int) -> float:
    study = Study(command, name=name, sources=("init",), design="all", n_seeds=n, store=store)
    start = time.perf_counter()
    results = study.run(progress=False, workers=workers)
    elapsed = time.perf_counter() - start
    assert results.counts()["done"] == n, results.table()["error"].tolist()[:1]
    return elapsed


def _time_bare(command: list[str], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - start


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def command_benchmarks(tmp: Path, quick: bool, repeat: int) -> None:
    small, big = (10, 60) if quick else (20, 200)
    print(f"-- command studies ({_load()})")
    overheads, bares = [], []
    for r in range(repeat):  # alternate the sides, best of each
        t_small = _time_command_study(ECHO, f"echo-s-{r}", small, tmp / f"echo-s-{r}.sqlite", workers=1)
        b_small = _time_bare(ECHO, small)
        t_big = _time_command_study(ECHO, f"echo-b-{r}", big, tmp / f"echo-b-{r}.sqlite", workers=1)
        b_big = _time_bare(ECHO, big)
        overheads.append((t_big - t_small) / (big - small))
        bares.append((b_big - b_small) / (big - small))
    ours, bare = min(overheads), min(bares)
    print(
        f"command overhead, 1 worker: study {ours * 1e3:.2f} ms/run, bare subprocess.run loop {bare * 1e3:.2f} "
        f"ms/run -> the runner adds {(ours - bare) * 1e3:.2f} ms/run (goal <= 30 ms)"
    )
    runs, work = (4, 3_000_000) if quick else (8, 6_000_000)
    start = time.perf_counter()
    subprocess.run(cpu_command(work)[:-1] + ["0"], check=True, stdout=subprocess.DEVNULL)
    one = time.perf_counter() - start
    t1 = t2 = float("inf")
    for r in range(repeat):
        t1 = min(t1, _time_command_study(cpu_command(work), f"cpu-1-{r}", runs, tmp / f"cpu-1-{r}.sqlite", workers=1))
        t2 = min(t2, _time_command_study(cpu_command(work), f"cpu-2-{r}", runs, tmp / f"cpu-2-{r}.sqlite", workers=2))
    print(
        f"command throughput ({runs} runs of ~{one:.2f} s): 1 worker {t1:.1f} s, 2 workers {t2:.1f} s -> "
        f"speed-up {t1 / t2:.2f}x (goal >= 1.8x; {_load()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray measurements")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many scaling measurements (default 3)")
    parser.add_argument("--only", choices=("functions", "commands"), default=None, help="one part of the benchmark")
    args = parser.parse_args()
    runs, work = (8, 2_000_000) if args.quick else (16, 4_000_000)
    small, big = (20, 120) if args.quick else (20, 320)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if args.only != "functions":
            command_benchmarks(tmp, args.quick, args.repeat)
            if args.only == "commands":
                return
        print(f"-- function studies ({_load()})")
        start = time.perf_counter()
        cpu_train(Seeds(0), {"work": work})
        print(f"one CPU-bound run: {time.perf_counter() - start:.2f} s; {runs} runs per measurement")
        t1, t2 = scaling(tmp, runs, work, repeat=args.repeat)
        print(
            f"local  throughput: 1 worker {runs / t1:.2f} runs/s, 2 workers {runs / t2:.2f} runs/s -> "
            f"speed-up {t1 / t2:.2f}x (goal >= 1.8x)"
        )
        t1, t2 = scaling(tmp, runs, work, fn=wait_train, config={"sleep": 0.25})
        print(
            f"local  wait-bound runs (0.25 s sleep): speed-up {t1 / t2:.2f}x with 2 workers (the runner's own "
            "concurrency, whatever the free cores)"
        )
        for workers in (0, 2):
            ours = overhead(tmp, small, big, workers=workers)
            line = f"local  overhead, workers={workers}: {ours * 1e3:.2f} ms/run (goal <= 50 ms)"
            if workers:
                peer = peer_pool_overhead(small, big, workers)
                line += f"; bare ProcessPoolExecutor.map {peer * 1e3:.2f} ms/run -> ratio {ours / peer:.1f}x"
            print(line)
        if args.no_ray:
            return
        import ray

        ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        try:
            _time_study(noop_train, "ray-warm", 4, tmp / "ray-warm.sqlite", backend="ray", workers=2)
            t1, t2 = scaling(tmp, runs, work, repeat=args.repeat, backend="ray")
            print(
                f"ray    throughput: 1 task {runs / t1:.2f} runs/s, 2 tasks {runs / t2:.2f} runs/s -> "
                f"speed-up {t1 / t2:.2f}x"
            )
            ours = overhead(tmp, small, big, backend="ray", workers=2)
            peer = peer_ray_overhead(small, big)
            print(
                f"ray    overhead, 2 tasks at once: {ours * 1e3:.2f} ms/run; bare ray.get over all tasks "
                f"{peer * 1e3:.2f} ms/run -> ratio {ours / peer:.1f}x"
            )
        finally:
            ray.shutdown()


if __name__ == "__main__":
    main()
