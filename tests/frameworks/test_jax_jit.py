"""Step keys inside jit (key_table), a jit-compiled training resumed without a saved key, and
Flax NNX Rngs from seedwise streams; against the real JAX and Flax (CPU)."""

from __future__ import annotations

import numpy as np
import pytest

from seedwise import Seeds
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.frameworks import jax as ja


@pytest.fixture(scope="module")
def jax():
    return pytest.importorskip("jax", reason="needs the jax extra: pip install 'seedwise[jax]'")


@pytest.fixture(scope="module")
def nnx(jax):
    return pytest.importorskip("flax.nnx", reason="needs the flax extra: pip install 'seedwise[flax]'")


def _data(jax, key) -> np.ndarray:
    return np.asarray(jax.random.key_data(key))


def test_key_table_rows_are_the_host_step_keys(jax):
    s = Seeds(6)["dropout"]
    table = ja.key_table(s, 5, start=7)
    assert table.shape == (5,)
    for i in range(5):
        assert np.array_equal(_data(jax, table[i]), _data(jax, ja.step_key(s, 7 + i)))
    assert np.array_equal(_data(jax, ja.key_table(s, 3)), _data(jax, ja.member_keys(s, 3)))
    assert ja.key_table(s, 0).shape == (0,)
    assert np.array_equal(_data(jax, ja.step_key(s, jax.numpy.int32(9))), _data(jax, ja.step_key(s, 9)))
    with pytest.raises(InvalidArgumentError, match="start"):
        ja.key_table(s, 2, start=-1)
    with pytest.raises(InvalidTypeError, match="integer scalar"):
        ja.step_key(s, jax.numpy.float32(3.7))  # never silently truncated to step 3


def test_step_key_under_jit_points_to_key_table(jax):
    with pytest.raises(InvalidTypeError, match="key_table"):
        jax.jit(lambda t: ja.step_key(Seeds(0), t))(3)


@pytest.fixture(scope="module")
def train(jax):
    """SGD steps ``start .. start + len(table) - 1`` with dropout, compiled as one lax.scan (once
    per table length); the step key is ``table[t - start]`` with the traced step ``t``. Returns the
    params and every step's key data."""
    import jax.numpy as jnp

    x = jnp.asarray(Seeds(0)["data"].numpy().normal(size=(32, 4)), jnp.float32)
    y = x @ jnp.array([1.0, -2.0, 0.5, 0.0])

    def loss(p, key):
        h = jnp.tanh(x @ p["w1"])
        h = jnp.where(jax.random.bernoulli(key, 0.8, h.shape), h / 0.8, 0.0)
        return jnp.mean((h @ p["w2"] - y) ** 2)

    @jax.jit
    def run(p, table, start):
        def body(p, t):
            key = table[t - start]
            p = jax.tree_util.tree_map(lambda a, g: a - 0.1 * g, p, jax.grad(loss)(p, key))
            return p, jax.random.key_data(key)

        return jax.lax.scan(body, p, start + jnp.arange(table.shape[0]))

    def train(table, params, start):
        p, keys = run(params, table, start)
        return {k: np.asarray(v) for k, v in p.items()}, np.asarray(keys)

    return train


def test_jitted_training_uses_the_host_step_keys_and_resumes_without_a_saved_key(jax, train):
    seeds = Seeds(11)
    k1, k2 = jax.random.split(seeds["init"].jax())
    params = {"w1": jax.random.normal(k1, (4, 8)), "w2": jax.random.normal(k2, (8,))}
    full, keys = train(ja.key_table(seeds["dropout"], 8), params, 0)
    for t in range(8):
        assert np.array_equal(keys[t], _data(jax, ja.step_key(seeds["dropout"], t)))
    # Interrupted after step 4; the resume rebuilds its keys from the seeds alone.
    half, _ = train(ja.key_table(seeds["dropout"], 4), params, 0)
    resumed, _ = train(ja.key_table(seeds["dropout"], 4, start=4), half, 4)
    assert all(np.array_equal(full[k], resumed[k]) for k in full)
    other, _ = train(ja.key_table(seeds.override(dropout=1)["dropout"], 8), params, 0)
    assert not np.array_equal(full["w1"], other["w1"])


def test_nnx_rngs_streams_are_the_seedwise_streams(jax, nnx):
    seeds = Seeds(5)
    rngs = ja.rngs(seeds, "params", "dropout")
    assert np.array_equal(_data(jax, rngs.params.key[...]), _data(jax, seeds["params"].jax()))
    assert np.array_equal(_data(jax, rngs.dropout.key[...]), _data(jax, seeds["dropout"].jax()))
    assert np.array_equal(_data(jax, ja.rngs(seeds).default.key[...]), _data(jax, seeds.jax()))

    def kernel(s):
        return np.asarray(nnx.Linear(3, 2, rngs=ja.rngs(s, "params", "dropout")).kernel[...])

    assert np.array_equal(kernel(seeds), kernel(Seeds(5)))
    assert np.array_equal(kernel(seeds), kernel(seeds.override(dropout=2)))  # dropout is not init
    assert not np.array_equal(kernel(seeds), kernel(seeds.override(params=2)))
    with pytest.raises(InvalidArgumentError, match="distinct"):
        ja.rngs(seeds, "params", "params")
    with pytest.raises(InvalidTypeError, match="names"):
        ja.rngs(seeds, 3)


def test_nnx_dropout_keyed_by_step_inside_jit(jax, nnx):
    """Per-step dropout with nnx: the Rngs made inside the jitted step from the table."""
    seeds = Seeds(3)
    drop = nnx.Dropout(0.5)
    table = ja.key_table(seeds["dropout"], 4)

    @jax.jit
    def masks(table, t):
        return drop(jax.numpy.ones(16), rngs=nnx.Rngs(dropout=table[t]))

    for t in range(4):
        host = drop(jax.numpy.ones(16), rngs=nnx.Rngs(dropout=ja.step_key(seeds["dropout"], t)))
        assert np.array_equal(np.asarray(masks(table, t)), np.asarray(host))


def test_seeds_saved_in_an_orbax_checkpoint_come_back_equal(jax, tmp_path):
    ocp = pytest.importorskip("orbax.checkpoint", reason="needs the flax extra: pip install 'seedwise[flax]'")
    seeds = Seeds(2**100 + 5).override(init=3)["run"]
    state = {"w": np.arange(4.0, dtype=np.float32)}
    with ocp.CheckpointManager(tmp_path / "ckpt") as mngr:
        mngr.save(5, args=ocp.args.Composite(state=ocp.args.StandardSave(state), seeds=ja.seeds_save_args(seeds)))
        mngr.wait_until_finished()
    with ocp.CheckpointManager(tmp_path / "ckpt") as mngr:  # a new manager, as after a restart
        restored = mngr.restore(
            5, args=ocp.args.Composite(state=ocp.args.StandardRestore(state), seeds=ja.seeds_restore_args())
        )
    back = ja.seeds_from_checkpoint(restored["seeds"])
    assert back == seeds
    assert np.array_equal(_data(jax, ja.step_key(back["dropout"], 9)), _data(jax, ja.step_key(seeds["dropout"], 9)))
    assert np.array_equal(restored["state"]["w"], state["w"])
    with pytest.raises(InvalidTypeError, match="restored seeds item"):
        ja.seeds_from_checkpoint("not a dict")
