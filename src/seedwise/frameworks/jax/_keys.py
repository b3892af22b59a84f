"""JAX: typed PRNG keys from a :class:`~seedwise.Seeds` stream.

JAX has no global random state: every draw takes an explicit key, which is exactly
seedwise's model. The work is in the conversions:

* :func:`key_from_seeds` (``Seeds.jax()``): the typed key of a stream. Its key data are
  words drawn from the stream's own :class:`numpy.random.SeedSequence`, so the same
  stream gives the same key in any process, on any machine;
* :func:`member_keys` and :func:`step_key`: keys that agree with seedwise's derivation,
  ``member_keys(s, k)[i] == key_from_seeds(s[i])`` and ``step_key(s, t) ==
  key_from_seeds(s[t])``, so ensemble member 3 or step 1000 get the same key whether
  they are made by JAX code or by any other seedwise consumer, and whatever ``k`` is;
* :func:`key_table`: the step keys of a range of steps as one key array, to index with a
  traced step inside ``jit`` / ``lax.scan`` (``table[step - start] == step_key(s, step)``).
  ``step_key`` itself needs a host int: a child's path word is a BLAKE2b hash of its
  index, which XLA cannot compute, and ``fold_in(s.jax(), t)`` is another key (not
  seedwise's ``s[t]``), so a traced step is refused with the pointer to ``key_table``.

XLA's deterministic ops (``deterministic=True``) are switched by
:mod:`seedwise.process.adapters.jax`. Nothing here imports JAX until a function needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise import _conversions
from seedwise._validate import check_int
from seedwise.errors import InvalidTypeError
from seedwise.seeds import as_seeds

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.seeds import SeedLike

__all__ = ["key_from_seeds", "member_keys", "step_key", "key_table"]


def key_from_seeds(seeds: SeedLike, impl: str | None = None) -> Any:
    """The typed JAX key (``jax.random.key`` style) of the stream ``seeds``.

    Args:
        seeds: a :class:`~seedwise.Seeds` (or an int, taken as ``Seeds(int)``).
        impl: a JAX PRNG implementation (``"threefry2x32"``, ``"rbg"``...); None uses
            JAX's default. The key data are the first words of the stream's ``"jax"``
            state, as many as ``impl`` needs (two for threefry: 64 bits).
    """
    jax, shape = _conversions.jax_key_shape(impl)
    return jax.random.wrap_key_data(_conversions.jax_key_data(as_seeds(seeds), shape), impl=impl)


def member_keys(seeds: SeedLike, k: int, *, impl: str | None = None) -> Any:
    """A key array of shape ``(k,)``: entry ``i`` is ``key_from_seeds(seeds[i])``.

    Made for ``jax.vmap`` over ensemble members; member ``i`` gets the same key whatever
    ``k`` is, and the same stream as ``seeds.spawn(k)[i]`` gives any other consumer.
    """
    return key_table(seeds, check_int("k", k, low=0), impl=impl)


def key_table(seeds: SeedLike, n: int, *, start: int = 0, impl: str | None = None) -> Any:
    """The keys of steps ``start, ..., start + n - 1``: a key array of shape ``(n,)``.

    ``key_table(s, n, start=a)[i] == step_key(s, a + i)``, bit for bit. Pass the table into
    a jitted function and index it with the traced step: ``table[step - start]``. A run
    resumed at step ``a`` builds the table from ``start=a`` (or the whole run's table and
    indexes it at ``a``): it needs no saved key. Building costs a fraction of a millisecond a step
    on the host (a SeedSequence per step), so make it once per run or per chunk of steps.
    """
    n = check_int("n", n, low=0)
    start = check_int("start", start, low=0)
    jax, shape = _conversions.jax_key_shape(impl)
    stream = as_seeds(seeds)
    if n:
        data = np.stack([_conversions.jax_key_data(child, shape) for child in stream.spawn(n, start=start)])
    else:
        data = np.zeros((0, *shape), np.uint32)
    return jax.random.wrap_key_data(data, impl=impl)


def step_key(seeds: SeedLike, step: int, *, impl: str | None = None) -> Any:
    """The key of ``seeds[step]``: a pure function of the stream and the step.

    A resumed run asks for the key of step 1000 and gets it without replaying 999 splits.
    ``step`` is a host int; inside ``jit`` index a :func:`key_table` with the traced step.
    """
    if type(step).__module__.split(".")[0] in ("jax", "jaxlib"):
        dtype, ndim = getattr(step, "dtype", None), getattr(step, "ndim", None)
        if dtype is None or not np.issubdtype(dtype, np.integer) or ndim != 0:
            raise InvalidTypeError(f"step must be an integer scalar, got a JAX array of {dtype} with ndim {ndim}")
        try:
            step = int(step)  # a concrete JAX integer scalar
        except TypeError:  # a tracer: jax.errors.ConcretizationTypeError is a TypeError
            raise InvalidTypeError(
                f"step must be a host int, got {type(step).__name__}: step_key cannot run inside jit or "
                "lax.scan; build table = seedwise.frameworks.jax.key_table(seeds, n_steps) outside and index "
                "table[step] inside (the same keys as step_key)"
            ) from None
    step = check_int("step", step, low=0)
    return key_from_seeds(as_seeds(seeds)[step], impl=impl)
