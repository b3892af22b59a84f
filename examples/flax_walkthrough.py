"""Flax NNX + seedwise, start to finish: an MLP with dropout on scikit-learn's digits, every
training step compiled with ``nnx.jit``, and a resume that needs no saved key.

The seedwise calls are the whole of the glue:

* ``swjax.rngs(seeds, "params")``: the initial weights come from seeds["params"];
* ``stateless.permutation(seeds["data_order"], epoch, n)``: the order of epoch e;
* ``swjax.key_table(seeds["dropout"], n_steps)``: the dropout key of step t is ``table[t]``,
  indexed inside the jitted step by the traced step, and equal to the host-side
  ``swjax.step_key(seeds["dropout"], t)``.

``main()`` shows, by assertions, that two runs give the same weights bit for bit, that a
run stopped after some steps and resumed from its weights alone (no key, no RNG count
saved) ends with the same weights, and that another dropout seed leaves the initial
weights as they were.

Run:  python examples/flax_walkthrough.py        (exit status 0 when every claim holds)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits

import seedwise as sw
from seedwise import stateless
from seedwise.frameworks import jax as swjax

X, Y = load_digits(return_X_y=True)
X = (X / 16).astype("float32")
BATCH, EPOCHS = 128, 2
STEPS_PER_EPOCH = len(X) // BATCH  # the last, incomplete batch is dropped
N_STEPS = EPOCHS * STEPS_PER_EPOCH


class MLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(64, 64, rngs=rngs)
        self.drop = nnx.Dropout(0.3)
        self.head = nnx.Linear(64, 10, rngs=rngs)

    def __call__(self, x, *, rngs: nnx.Rngs):
        return self.head(self.drop(nnx.relu(self.hidden(x)), rngs=rngs))


@nnx.jit
def train_step(model: MLP, x, y, table, step):
    def loss_fn(model):
        logits = model(x, rngs=nnx.Rngs(dropout=table[step]))  # the step's key, from a traced step
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    grads = nnx.grad(loss_fn)(model)
    params = nnx.state(model, nnx.Param)
    nnx.update(model, jax.tree.map(lambda p, g: p - 0.5 * g, params, grads))


def batch(seeds: sw.Seeds, step: int):
    epoch, b = divmod(step, STEPS_PER_EPOCH)
    idx = stateless.permutation(seeds["data_order"], epoch, len(X))[b * BATCH : (b + 1) * BATCH]
    return jnp.asarray(X[idx]), jnp.asarray(Y[idx])


def train(seeds: sw.Seeds, *, start: int = 0, stop: int = N_STEPS, weights=None) -> MLP:
    """Steps ``start .. stop - 1``; a resume passes the weights saved at ``start``."""
    model = MLP(swjax.rngs(seeds, "params"))
    if weights is not None:
        nnx.update(model, weights)
    table = swjax.key_table(seeds["dropout"], N_STEPS)  # the whole run's step keys: from the seeds alone
    for step in range(start, stop):
        train_step(model, *batch(seeds, step), table, step)
    return model


def weights(model: MLP) -> list[np.ndarray]:
    return [np.asarray(w) for w in jax.tree.leaves(nnx.state(model, nnx.Param))]


def same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def main() -> None:
    seeds = sw.Seeds(2026)
    table = swjax.key_table(seeds["dropout"], N_STEPS)
    assert all(
        np.array_equal(jax.random.key_data(table[t]), jax.random.key_data(swjax.step_key(seeds["dropout"], t)))
        for t in range(N_STEPS)
    ), "the table's keys are not the host-side step keys"
    first = weights(train(seeds))
    assert same(first, weights(train(seeds))), "two runs differ"

    half = N_STEPS // 2 + 1  # stop mid-epoch 1, keep only the weights
    saved = nnx.state(train(seeds, stop=half), nnx.Param)
    assert same(first, weights(train(seeds, start=half, weights=saved))), "the resumed run differs"

    init = weights(train(seeds, stop=0))
    assert same(init, weights(train(seeds.override(dropout=1), stop=0))), "dropout seed changed init"
    print("identical weights: across runs and after a resume without a saved key")


if __name__ == "__main__":
    main()
