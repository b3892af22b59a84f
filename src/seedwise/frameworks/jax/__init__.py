"""JAX with seedwise: typed keys from a stream (see :mod:`._keys`)."""

from __future__ import annotations

from seedwise.frameworks.jax._keys import key_from_seeds, member_keys, step_key

__all__ = ["key_from_seeds", "member_keys", "step_key"]
