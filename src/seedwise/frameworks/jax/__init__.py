"""JAX with seedwise: typed keys from a stream, step-key tables for ``jit``, Flax NNX ``Rngs``.

See :mod:`._keys` (``key_from_seeds``, ``member_keys``, ``step_key``, ``key_table``) and
:mod:`._nnx` (``rngs``). Nothing here imports JAX or Flax until a function needs it.
"""

from __future__ import annotations

from seedwise.frameworks.jax._keys import key_from_seeds, key_table, member_keys, step_key
from seedwise.frameworks.jax._nnx import rngs

__all__ = ["key_from_seeds", "member_keys", "step_key", "key_table", "rngs"]
