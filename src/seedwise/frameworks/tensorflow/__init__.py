"""TensorFlow and Keras 3 with seedwise: keys, a tf.data source, keyed init and dropout, resumable ``fit``.

* :func:`generator_from_seeds` (``Seeds.tensorflow()``), :func:`stateless_seed`,
  :func:`initializer` / :func:`initializer_seed`: a stream as TensorFlow's own random
  objects and Keras initialisers keyed by parameter name;
* :class:`SeededDataset`: a ``tf.data`` source whose order is
  ``stateless.permutation(seeds["data_order"], epoch, n)``, sharded by rank, with seedwise
  augmentation applied in TensorFlow ops, ``set_epoch``, ``seek`` and ``state_dict``;
* :func:`initialize`: every weight of a Keras model re-drawn from ``seeds[its path]``;
* :class:`SeedCallback` (loads Keras): dropout keyed by (stream, layer path, step) and
  the data positioned by ``optimizer.iterations``, so ``fit`` resumed from a checkpoint
  continues bit for bit; :func:`key_seed_generators` does the keying in a custom loop.

TensorFlow's global random state (op seed, global generator, Keras's global
``SeedGenerator``) is seeded by :func:`seedwise.seed_everything` through
:mod:`seedwise.process.adapters.tensorflow`. Importing this package imports neither
TensorFlow nor Keras; the functions import them when called (keeping Python's and
NumPy's global RNGs as they were).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seedwise.frameworks.tensorflow._dataset import SeededDataset
from seedwise.frameworks.tensorflow._dropout import generator_state, key_seed_generators
from seedwise.frameworks.tensorflow._initialize import initialize
from seedwise.frameworks.tensorflow._keys import (
    INITIALIZERS,
    generator_from_seeds,
    initializer,
    initializer_seed,
    stateless_seed,
)

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.frameworks.tensorflow._callback import SeedCallback

__all__ = [
    "INITIALIZERS",
    "generator_from_seeds",
    "stateless_seed",
    "initializer",
    "initializer_seed",
    "SeededDataset",
    "initialize",
    "SeedCallback",
    "key_seed_generators",
    "generator_state",
]


def __getattr__(name: str) -> Any:
    if name == "SeedCallback":  # a keras.callbacks.Callback subclass: defining it imports Keras
        return importlib.import_module("seedwise.frameworks.tensorflow._callback").SeedCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
