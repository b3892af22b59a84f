"""JAX with seedwise: typed keys from a stream, step-key tables for ``jit``, Flax NNX ``Rngs``.

See :mod:`._keys` (``key_from_seeds``, ``member_keys``, ``step_key``, ``key_table``) and
:mod:`._nnx` (``rngs``), :mod:`._orbax` (the seeds in an Orbax checkpoint). Nothing here
imports JAX, Flax or Orbax until a function needs it.
"""

from __future__ import annotations

from seedwise.frameworks.jax._keys import key_from_seeds, key_table, member_keys, step_key
from seedwise.frameworks.jax._nnx import rngs
from seedwise.frameworks.jax._orbax import seeds_from_checkpoint, seeds_restore_args, seeds_save_args

__all__ = [
    "key_from_seeds",
    "member_keys",
    "step_key",
    "key_table",
    "rngs",
    "seeds_save_args",
    "seeds_restore_args",
    "seeds_from_checkpoint",
]
