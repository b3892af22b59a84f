"""seedwise.frameworks.jax: key conversions, against the real JAX (CPU). (The adapter: tests/process/adapters/.)"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from seedwise import Seeds
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.frameworks import jax as ja


@pytest.fixture(scope="module")
def jax():
    return pytest.importorskip("jax", reason="needs the jax extra: pip install 'seedwise[jax]'")


def _data(jax, key) -> np.ndarray:
    return np.asarray(jax.random.key_data(key))


# -- keys ---------------------------------------------------------------------------------


def test_key_is_typed_and_pinned(jax):
    """Known answer: the key data of Seeds(0) is fixed forever (users' seeds must keep meaning)."""
    key = Seeds(0).jax()
    assert jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    assert key.shape == ()
    assert _data(jax, key).tolist() == [2670830906, 2851266157]


def test_same_stream_same_key_different_stream_different_key(jax):
    a = _data(jax, Seeds(4)["init"].jax())
    assert np.array_equal(a, _data(jax, Seeds(4)["init"].jax()))
    assert not np.array_equal(a, _data(jax, Seeds(5)["init"].jax()))
    assert not np.array_equal(a, _data(jax, Seeds(4)["dropout"].jax()))
    assert not np.array_equal(a, _data(jax, Seeds(4).override(init=9)["init"].jax()))


def test_other_impls(jax):
    rbg = Seeds(0).jax(impl="rbg")
    assert _data(jax, rbg).shape == (4,)
    assert str(jax.random.key_impl(rbg)) == "rbg"
    # The first words are the threefry key's: one stream, one entropy.
    assert np.array_equal(_data(jax, rbg)[:2], _data(jax, Seeds(0).jax()))
    with pytest.raises(InvalidArgumentError, match="threefry2x32"):
        Seeds(0).jax(impl="mersenne")
    with pytest.raises(InvalidTypeError):
        Seeds(0).jax(impl=3)


def test_member_keys_agree_with_spawn(jax):
    s = Seeds(3)["ensemble"]
    keys = ja.member_keys(s, 4)
    assert keys.shape == (4,)
    for i, child in enumerate(s.spawn(4)):
        assert np.array_equal(_data(jax, keys[i]), _data(jax, child.jax()))
    # Member 2 of 4 is member 2 of 16.
    assert np.array_equal(_data(jax, keys[2]), _data(jax, ja.member_keys(s, 16)[2]))
    assert ja.member_keys(s, 0).shape == (0,)
    with pytest.raises(InvalidArgumentError):
        ja.member_keys(s, -1)


def test_step_key_is_key_of_child(jax):
    s = Seeds(3)["noise"]
    assert np.array_equal(_data(jax, ja.step_key(s, 1000)), _data(jax, s[1000].jax()))
    assert not np.array_equal(_data(jax, ja.step_key(s, 1)), _data(jax, ja.step_key(s, 2)))
    with pytest.raises(InvalidTypeError):
        ja.step_key(s, 1.0)


# -- a tiny model, trained twice ---------------------------------------------------------


@pytest.fixture(scope="module")
def sgd_step(jax):
    """One jitted SGD step of a 2-layer MLP with dropout (compiled once for the module)."""
    import jax.numpy as jnp

    def loss(p, xb, yb, key):
        h = jnp.tanh(xb @ p["w1"] + p["b1"])
        keep = jax.random.bernoulli(key, 0.9, h.shape)
        h = jnp.where(keep, h / 0.9, 0.0)
        return jnp.mean((h @ p["w2"] - yb) ** 2)

    @jax.jit
    def step(p, x, y, key):
        batch_key, dropout_key = jax.random.split(key)
        idx = jax.random.permutation(batch_key, x.shape[0])[:16]
        grads = jax.grad(loss)(p, x[idx], y[idx], dropout_key)
        return jax.tree_util.tree_map(lambda a, g: a - 0.05 * g, p, grads)

    return step


def _train(jax, step, seeds: Seeds, steps: int = 5):
    """Init from Seeds; each step's minibatch and dropout from ``step_key(seeds["train"], t)``."""
    import jax.numpy as jnp

    k1, k2 = jax.random.split(seeds["init"].jax())
    params = {
        "w1": jax.random.normal(k1, (4, 16)) * 0.5,
        "b1": jnp.zeros(16),
        "w2": jax.random.normal(k2, (16, 1)) * 0.25,
    }
    data = Seeds(0)["data"].numpy()  # the same data whatever the seeds
    x = data.normal(size=(64, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0], np.float32))[:, None]
    for t in range(steps):
        params = step(params, x, y, ja.step_key(seeds["train"], t))
    return {k: np.asarray(v) for k, v in params.items()}


def test_mlp_training_repeatable_and_seed_sensitive(jax, sgd_step):
    a = _train(jax, sgd_step, Seeds(1))
    b = _train(jax, sgd_step, Seeds(1))
    c = _train(jax, sgd_step, Seeds(2))
    d = _train(jax, sgd_step, Seeds(1).override(train=5))  # same init, other data order / dropout
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["w1"], c["w1"])
    assert not np.array_equal(a["w2"], d["w2"])


def test_vmapped_ensemble_init_matches_members(jax):
    init = jax.vmap(lambda key: jax.random.normal(key, (3, 2)))
    batch = np.asarray(init(ja.member_keys(Seeds(8)["init"], 3)))
    for i, child in enumerate(Seeds(8)["init"].spawn(3)):
        assert np.array_equal(batch[i], np.asarray(jax.random.normal(child.jax(), (3, 2))))


ABSENT = textwrap.dedent(
    """
    import sys
    sys.modules["jax"] = None  # as if the extra were not installed
    import seedwise as sw
    from seedwise import Seeds
    from seedwise.errors import MissingDependencyError
    from seedwise.frameworks import jax as ja
    from seedwise.process.adapters import jax as jax_adapter

    assert not jax_adapter.available() and jax_adapter.version() is None
    for call in (lambda: Seeds(0).jax(), lambda: ja.member_keys(Seeds(0), 2), lambda: ja.step_key(Seeds(0), 1)):
        try:
            call()
        except MissingDependencyError as exc:
            assert "seedwise[jax]" in str(exc), exc
        else:
            raise AssertionError("no MissingDependencyError")
    light = ["python", "numpy", "jax"]
    report = sw.seed_everything(0, deterministic=True, frameworks=light)
    assert any(s.framework == "jax" and "not installed" in s.note for s in report.settings)
    assert "jax" not in sw.RNGState.capture(frameworks=light).frameworks
    print("ok")
    """
)


def test_without_jax_everything_else_works():
    out = subprocess.run([sys.executable, "-c", ABSENT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
