"""Flax NNX: an ``nnx.Rngs`` whose streams are seedwise streams.

``nnx.Rngs(params=0, dropout=1)`` keys its streams by small ints picked by hand, and an int
seed from a :class:`~seedwise.Seeds` (``int(seeds)``, up to ``2**64``) overflows there.
:func:`rngs` keys each named ``nnx`` stream by the seedwise stream of the same name:
``rngs(seeds, "params", "dropout").params`` starts from ``seeds["params"].jax()``, so the
initial weights follow ``seeds["params"]`` (``override(params=...)`` changes only them) and
adding a stream changes no other.

An ``nnx.Rngs`` stream counts its draws (``RngCount``), which ``nnx.state`` saves with the
model. For dropout keyed by the training step instead (a resume needs no saved count),
make the dropout ``Rngs`` inside the step from a :func:`~seedwise.frameworks.jax.key_table`
entry: ``nnx.Rngs(dropout=table[step])``.
"""

from __future__ import annotations

from typing import Any

from seedwise._optional import require
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.frameworks.jax._keys import key_from_seeds
from seedwise.seeds import SeedLike, as_seeds

__all__ = ["rngs"]


def rngs(seeds: SeedLike, *names: str, impl: str | None = None) -> Any:
    """An ``nnx.Rngs`` with one stream per name, keyed by ``seeds[name]``.

    Args:
        seeds: the stream whose children key the ``Rngs`` streams.
        names: the ``nnx`` stream names (``"params"``, ``"dropout"``...); none gives a
            single ``default`` stream keyed by ``seeds`` itself.
        impl: the JAX PRNG implementation of the keys (None: JAX's default).
    """
    nnx = require("flax.nnx", "flax", "seedwise.frameworks.jax.rngs")
    stream = as_seeds(seeds)
    for name in names:
        if not isinstance(name, str):
            raise InvalidTypeError(f"names must be nnx stream names (str), got {type(name).__name__} {name!r}")
        if not name.isidentifier():
            raise InvalidArgumentError(f"an nnx stream name must be a Python identifier, got {name!r}")
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"names must be distinct, got {list(names)}")
    if not names:
        return nnx.Rngs(default=key_from_seeds(stream, impl=impl))
    return nnx.Rngs(**{name: key_from_seeds(stream[name], impl=impl) for name in names})
