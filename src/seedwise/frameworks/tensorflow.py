"""TensorFlow and Keras 3: a :class:`~seedwise.Seeds` stream as TensorFlow's own random objects.

* :func:`generator_from_seeds` (``Seeds.tensorflow()``): a Philox ``tf.random.Generator``
  keyed by the stream;
* :func:`stateless_seed`: the ``seed`` pair of ``tf.random.stateless_*`` ops, a pure
  function of the stream (``stateless_seed(seeds["noise"][step])``);
* :func:`initializer` / :func:`initializer_seed`: Keras initialisers keyed by parameter
  name, so adding a layer leaves every other layer's initial weights unchanged (Keras's
  unseeded initialisers draw their seed from Python's ``random``).

TensorFlow's global random state (op seed, global generator, Keras's global
``SeedGenerator``) is seeded by :func:`seedwise.seed_everything` through
:mod:`seedwise.process.adapters.tensorflow`. Nothing here imports TensorFlow until a
function needs it, and that import leaves Python's and NumPy's global RNGs as they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise import _conversions
from seedwise._optional import import_keeping_global_rngs
from seedwise._validate import check_choice
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import as_seeds

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.seeds import SeedLike

__all__ = ["INITIALIZERS", "generator_from_seeds", "stateless_seed", "initializer", "initializer_seed"]

_EXTRA = "tensorflow"

#: Keras initialisers that draw random numbers, by their Keras name.
INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "random_uniform",
    "random_normal",
    "truncated_normal",
    "orthogonal",
    "variance_scaling",
)


def generator_from_seeds(seeds: SeedLike) -> Any:
    """A fresh Philox ``tf.random.Generator`` keyed by ``seeds`` (counter at zero).

    Different streams get different Philox keys, so their generators never overlap
    (``tf.random.Generator.from_seed(n)`` puts ``n`` in the *counter*: seeds 5 and 6 give
    the same numbers one block apart).
    """
    return _conversions.tensorflow_generator(as_seeds(seeds))


def stateless_seed(seeds: SeedLike, *, dtype: str = "int64") -> Any:
    """The ``seed`` pair for ``tf.random.stateless_*`` ops: a shape-[2] tensor from ``seeds``.

    ``tf.random.stateless_normal(shape, seed=stateless_seed(seeds["noise"][step]))`` is a
    pure function of the stream and the step.
    """
    check_choice("dtype", dtype, ("int64", "int32"))
    tf = import_keeping_global_rngs("tensorflow", _EXTRA, "seedwise.frameworks.tensorflow.stateless_seed")
    stream = as_seeds(seeds)
    if dtype == "int64":
        pair = _conversions.words(stream, "tensorflow-stateless", 2, np.uint64).view(np.int64)
    else:
        pair = _conversions.words(stream, "tensorflow-stateless", 1, np.uint64).view(np.uint32).view(np.int32)
    return tf.constant(pair, dtype=getattr(tf, dtype))


def initializer_seed(seeds: SeedLike, name: str) -> int:
    """The 32-bit int seed that :func:`initializer` gives Keras for parameter ``name``.

    Keras turns an int seed into the pair ``[seed, 0]`` of 32-bit words, so 32 bits is all
    it can use. Pure function of the stream and the name; needs no TensorFlow.
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"name must be the parameter's non-empty name, e.g. 'dense/kernel'; got {name!r}")
    stream = as_seeds(seeds)[name]
    return int(_conversions.words(stream, "keras-initializer", 1, np.uint32)[0])


def initializer(seeds: SeedLike, name: str, scheme: str = "glorot_uniform", **kwargs: Any) -> Any:
    """A Keras initialiser for parameter ``name``, seeded from ``seeds[name]``.

    ``Dense(4, kernel_initializer=initializer(seeds["init"], "dense/kernel"))`` gets the
    same initial kernel in every run, whatever layers are built before it, because the
    seed depends only on the stream and the parameter's name (Keras's own unseeded
    initialisers draw their seed from Python's global ``random``, so adding a layer shifts
    every later one). Calling the returned initialiser twice gives the same values, as
    Keras documents for int-seeded initialisers.

    Args:
        seeds: the stream for weight initialisation, e.g. ``Seeds(0)["init"]``.
        name: the parameter's name, e.g. ``"encoder/dense_1/kernel"``.
        scheme: one of :data:`INITIALIZERS` (Keras names).
        **kwargs: passed to the Keras initialiser (``stddev=``, ``scale=``, ``mode=``...).
    """
    check_choice("scheme", scheme, INITIALIZERS)
    seed_value = initializer_seed(seeds, name)
    keras = import_keeping_global_rngs("keras", _EXTRA, "seedwise.frameworks.tensorflow.initializer")
    config = dict(kwargs, seed=seed_value)
    return keras.initializers.get({"class_name": scheme, "config": config})
