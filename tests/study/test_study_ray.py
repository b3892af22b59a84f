"""The Ray backend on a real local Ray instance (one per test session)."""

from __future__ import annotations

import pytest
import study_fns

from seedwise.study import Study

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="session")
def local_ray():
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                 configure_logging=False)  # fmt: skip
    yield ray
    ray.shutdown()


def _metrics(results):
    return {r["cell"]: r["metrics"] for r in results.runs()}


def test_ray_results_identical_to_local(local_ray, tmp_path):
    kwargs = {"sources": ("init", "data_order"), "n_seeds": 3, "config": {"epochs": 3}}
    local = Study(study_fns.with_curves, name="local", store=None, **kwargs).run(workers=0, progress=False)
    on_ray = Study(study_fns.with_curves, name="ray", store=tmp_path / "runs.sqlite", **kwargs).run(
        backend="ray", workers=2, progress=False
    )
    assert on_ray.counts() == {"pending": 0, "running": 0, "done": 9, "failed": 0}
    assert _metrics(on_ray) == _metrics(local)
    assert on_ray.curves().equals(local.curves())
    workers = {r["worker"]["pid"] for r in on_ray.runs()}
    assert len(workers) >= 1 and all(r["worker"]["host"] for r in on_ray.runs())


def test_ray_records_failures_and_goes_on(local_ray):
    results = Study(study_fns.flaky, name="flaky", sources=("init",), design="all", n_seeds=6, store=None).run(
        backend="ray", num_cpus=1, progress=False
    )
    local = Study(study_fns.flaky, name="flaky", sources=("init",), design="all", n_seeds=6, store=None).run(
        workers=0, progress=False
    )
    assert results.table()["status"].tolist() == local.table()["status"].tolist()
    assert results.counts()["failed"] >= 1 and results.counts()["done"] >= 1
    assert all("diverged" in r["error"] for r in results.runs() if r["status"] == "failed")


def test_command_study_on_ray_equals_the_function_study(local_ray, tmp_path):
    import sys
    from pathlib import Path

    script = str(Path(__file__).parent / "scripts" / "from_env.py")
    kwargs = {"sources": ("init", "data_order"), "n_seeds": 2}
    on_ray = Study([sys.executable, script], name="cmd", store=tmp_path / "runs.sqlite", **kwargs).run(
        backend="ray", workers=2, progress=False
    )
    local = Study(study_fns.synthetic_with_curve, name="fn", store=None, **kwargs).run(workers=0, progress=False)
    assert on_ray.counts()["done"] == 6, on_ray.table()["error"].tolist()
    assert _metrics(on_ray) == _metrics(local)
    assert on_ray.curves().equals(local.curves())
