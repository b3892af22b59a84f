"""A JAX script: a key from Seeds.from_env(), a jitted linear fit, its metrics as the last JSON line of stdout."""

import json

import jax
import jax.numpy as jnp

import seedwise as sw

seeds = sw.Seeds.from_env()
x = jax.random.normal(sw.Seeds(0)["data"].jax(), (64, 3))
y = x @ jnp.array([1.0, -2.0, 0.5])
w = jax.random.normal(seeds["init"].jax(), (3,))


@jax.jit
def step(w):
    grad = jax.grad(lambda w: jnp.mean((x @ w - y) ** 2))(w)
    return w - 0.1 * grad


for _ in range(5):
    w = step(w)
print("compiled and trained")
print(json.dumps({"mse": float(jnp.mean((x @ w - y) ** 2)), "w0": float(w[0])}))
