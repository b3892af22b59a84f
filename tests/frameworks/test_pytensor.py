"""seedwise.frameworks.pytensor: random streams, against the real PyTensor (compiled functions).
(The adapter: tests/process/adapters/.)
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from seedwise import Seeds
from seedwise.frameworks import pytensor as pa


@pytest.fixture(scope="module")
def pytensor():
    return pytest.importorskip("pytensor", reason="needs the pytensor extra: pip install 'seedwise[pytensor]'")


def _draws(pytensor, seeds: Seeds, calls: int = 3) -> list[np.ndarray]:
    rs = seeds.pytensor()
    f = pytensor.function([], rs.normal(size=5))
    return [f() for _ in range(calls)]


def test_compiled_random_function_repeats_across_compilations(pytensor):
    a = _draws(pytensor, Seeds(1)["noise"])
    b = _draws(pytensor, Seeds(1)["noise"])
    c = _draws(pytensor, Seeds(2)["noise"])
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], a[1])  # the function advances its generator
    assert not np.array_equal(a[0], c[0])


def test_random_stream_seed_known_answer(pytensor):
    """The RandomStream's seed is a fixed function of the stream: 128 bits as a SeedSequence entropy list."""
    assert Seeds(0).pytensor().default_instance_seed == [407597884, 1461793771, 1215873369, 1614465610]


def test_random_stream_seed_rewinds(pytensor):
    rs = Seeds(3).pytensor()
    f = pytensor.function([], rs.uniform(size=4))
    first = f()
    f()
    rs.seed()  # back to the stream's own seed, not a global one
    assert np.array_equal(f(), first)


def test_shared_rng_same_stream_same_draws(pytensor):
    def run(seeds):
        rng = pa.shared_rng(seeds, name="rng")
        next_rng, x = rng.normal(size=4)
        f = pytensor.function([], x, updates={rng: next_rng})
        return np.stack([f(), f()])

    a, b, c = run(Seeds(5)["x"]), run(Seeds(5)["x"]), run(Seeds(5)["y"])
    assert np.array_equal(a, b)
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(a, c)


def _logistic_regression(pytensor, seeds: Seeds, steps: int = 20) -> np.ndarray:
    """Random init from ``seeds.pytensor()``, then full-batch gradient descent (compiled)."""
    import pytensor.tensor as pt

    rng = Seeds(0)["data"].numpy()  # the same data whatever the seeds
    x_val = rng.normal(size=(50, 3))
    y_val = (x_val @ np.array([1.5, -1.0, 0.5]) + 0.3 * rng.normal(size=50) > 0).astype(float)

    # FAST_COMPILE (Python kernels): the default mode compiles with numba, ~40 s on CI cores.
    mode = "FAST_COMPILE"
    rs = seeds.pytensor()
    init = pytensor.function([], rs.normal(0.0, 0.1, size=3), mode=mode)
    w = pytensor.shared(init(), name="w")
    x, y = pt.matrix("x"), pt.vector("y")
    p = pt.sigmoid(x @ w)
    loss = -pt.mean(y * pt.log(p) + (1 - y) * pt.log(1 - p))
    train = pytensor.function([x, y], loss, updates={w: w - 0.5 * pytensor.grad(loss, w)}, mode=mode)
    for _ in range(steps):
        train(x_val, y_val)
    return w.get_value()


def test_logistic_regression_repeatable_and_seed_sensitive(pytensor):
    a = _logistic_regression(pytensor, Seeds(1)["init"])
    b = _logistic_regression(pytensor, Seeds(1)["init"])
    c = _logistic_regression(pytensor, Seeds(2)["init"])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


ABSENT = textwrap.dedent(
    """
    import sys
    sys.modules["pytensor"] = None  # as if the extra were not installed
    import seedwise as sw
    from seedwise import Seeds
    from seedwise.errors import MissingDependencyError
    from seedwise.frameworks import pytensor as pa
    from seedwise.process.adapters import pytensor as pytensor_adapter

    assert not pytensor_adapter.available() and pytensor_adapter.version() is None
    for call in (lambda: Seeds(0).pytensor(), lambda: pa.shared_rng(Seeds(0))):
        try:
            call()
        except MissingDependencyError as exc:
            assert "seedwise[pytensor]" in str(exc), exc
        else:
            raise AssertionError("no MissingDependencyError")
    light = ["python", "numpy", "pytensor"]
    report = sw.seed_everything(0, frameworks=light)
    assert any(s.framework == "pytensor" and "not installed" in s.note for s in report.settings)
    assert "pytensor" not in sw.RNGState.capture(frameworks=light).frameworks
    print("ok")
    """
)


def test_without_pytensor_everything_else_works():
    out = subprocess.run([sys.executable, "-c", ABSENT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
