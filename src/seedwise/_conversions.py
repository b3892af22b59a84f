"""A stream's key as a framework's own random object: what ``Seeds.jax()``, ``.tensorflow()``
and ``.pytensor()`` return.

Each conversion takes words from the stream's own :class:`numpy.random.SeedSequence`
under a purpose tag (``"jax"``, ``"tensorflow"``, ``"pytensor"``), so the same stream gives
the same key, generator or random stream in any process, on any machine. The values are
fixed forever: golden tests in ``tests/frameworks/`` pin them.

This module is core: it imports a framework only when a conversion is called (raising
:class:`~seedwise.errors.MissingDependencyError` with the extra to install when it is
absent) and nothing of seedwise above ``seeds.py``, which imports it.
``seedwise.frameworks.<name>`` builds the rest of each framework's API on these.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise._optional import import_keeping_global_rngs, require
from seedwise.errors import InvalidArgumentError, InvalidTypeError

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.seeds import Seeds

__all__ = [
    "words",
    "jax_key",
    "jax_key_data",
    "jax_key_shape",
    "tensorflow_generator",
    "pytensor_entropy",
    "pytensor_random_stream",
]

# Key-data shape of each JAX PRNG implementation, probed once per process.
_JAX_KEY_SHAPES: dict[str, tuple[int, ...]] = {}


def words(seeds: Seeds, purpose: str, n: int, dtype: type[np.unsignedinteger[Any]]) -> np.ndarray:
    """``n`` words of ``dtype`` from the stream's ``SeedSequence`` for ``purpose`` (a fixed tag)."""
    return seeds._purpose(purpose).generate_state(n, dtype)


# -- JAX ------------------------------------------------------------------------------


def jax_key_shape(impl: str | None) -> tuple[Any, tuple[int, ...]]:
    """(the jax module, the shape of the uint32 key data) for the PRNG implementation ``impl``."""
    jax = require("jax", "jax", "Seeds.jax()")
    if impl is not None and not isinstance(impl, str):
        raise InvalidTypeError(f"impl must be a JAX PRNG implementation name or None, got {type(impl).__name__}")
    name = impl if impl is not None else str(jax.config.jax_default_prng_impl)
    if name not in _JAX_KEY_SHAPES:
        try:
            probe = jax.random.key(0, impl=name)
        except ValueError as exc:
            raise InvalidArgumentError(f"impl={impl!r} is not a JAX PRNG implementation: {exc}") from None
        _JAX_KEY_SHAPES[name] = tuple(int(n) for n in jax.random.key_data(probe).shape)
    return jax, _JAX_KEY_SHAPES[name]


def jax_key_data(seeds: Seeds, shape: tuple[int, ...]) -> np.ndarray:
    """The uint32 key data of the stream: the first words of its ``"jax"`` state, in ``shape``."""
    return words(seeds, "jax", int(np.prod(shape)), np.uint32).reshape(shape)


def jax_key(seeds: Seeds, impl: str | None = None) -> Any:
    """The typed JAX key (``jax.random.key`` style) of the stream; ``impl=None`` is JAX's default."""
    jax, shape = jax_key_shape(impl)
    return jax.random.wrap_key_data(jax_key_data(seeds, shape), impl=impl)


# -- TensorFlow ---------------------------------------------------------------------------


def tensorflow_generator(seeds: Seeds) -> Any:
    """A fresh Philox ``tf.random.Generator`` keyed by 64 bits of the stream (counter at zero).

    Importing TensorFlow here leaves Python's and NumPy's global RNGs as they were.
    """
    tf = import_keeping_global_rngs("tensorflow", "tensorflow", "Seeds.tensorflow()")
    key = int(words(seeds, "tensorflow", 1, np.uint64).view(np.int64)[0])
    return tf.random.Generator.from_key_counter(key=key, counter=[0, 0], alg="philox")


# -- PyTensor -----------------------------------------------------------------------------


def pytensor_entropy(seeds: Seeds, purpose: str) -> list[int]:
    """128 bits from the stream, as the int list a ``SeedSequence`` takes as entropy."""
    return [int(w) for w in words(seeds, purpose, 4, np.uint32)]


def pytensor_random_stream(seeds: Seeds) -> Any:
    """A ``pytensor.tensor.random.utils.RandomStream`` seeded from the stream.

    PyTensor 3 deprecates ``RandomStream``; only its constructor's ``FutureWarning`` is
    silenced (Theano-style code still uses it).
    """
    require("pytensor", "pytensor", "Seeds.pytensor()")
    from pytensor.tensor.random.utils import RandomStream

    entropy = pytensor_entropy(seeds, "pytensor")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="RandomStream is deprecated", category=FutureWarning)
        return RandomStream(seed=entropy)  # type: ignore[arg-type]  # it takes SeedSequence entropy too
