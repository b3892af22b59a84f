"""JAX: typed PRNG keys from a :class:`~seedwise.Seeds` stream.

JAX has no global random state: every draw takes an explicit key, which is exactly
seedwise's model. The work is in the conversions:

* :func:`key_from_seeds` (``Seeds.jax()``): the typed key of a stream. Its key data are
  words drawn from the stream's own :class:`numpy.random.SeedSequence`, so the same
  stream gives the same key in any process, on any machine;
* :func:`member_keys` and :func:`step_key`: keys that agree with seedwise's derivation,
  ``member_keys(s, k)[i] == key_from_seeds(s[i])`` and ``step_key(s, t) ==
  key_from_seeds(s[t])``, so ensemble member 3 or step 1000 get the same key whether
  they are made by JAX code or by any other seedwise consumer, and whatever ``k`` is.
  Inside jitted code keep using ``jax.random.split`` / ``fold_in`` on these keys.

XLA's deterministic ops (``deterministic=True``) are switched by
:mod:`seedwise.process.adapters.jax`. Nothing here imports JAX until a function needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise import _conversions
from seedwise._validate import check_int
from seedwise.seeds import as_seeds

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.seeds import SeedLike

__all__ = ["key_from_seeds", "member_keys", "step_key"]


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
    k = check_int("k", k, low=0)
    jax, shape = _conversions.jax_key_shape(impl)
    stream = as_seeds(seeds)
    if k:
        data = np.stack([_conversions.jax_key_data(child, shape) for child in stream.spawn(k)])
    else:
        data = np.zeros((0, *shape), np.uint32)
    return jax.random.wrap_key_data(data, impl=impl)


def step_key(seeds: SeedLike, step: int, *, impl: str | None = None) -> Any:
    """The key of ``seeds[step]``: a pure function of the stream and the step.

    A resumed run asks for the key of step 1000 and gets it without replaying 999 splits.
    """
    step = check_int("step", step, low=0)
    return key_from_seeds(as_seeds(seeds)[step], impl=impl)
