"""Keras's random layers keyed by (stream, layer path, step): :class:`SeedGeneratorKeys`.

A Keras 3 layer that draws random numbers (``Dropout``, ``GaussianNoise``,
``SpatialDropout*``, ``RandomFlip``...) owns a ``keras.random.SeedGenerator``: a variable
``[seed, counter]`` whose counter each draw advances. Keras saves neither it nor its
counter in ``.keras`` files or ``save_weights``, so a resumed run draws other masks than
the uninterrupted one. seedwise sets every generator's state before each training step
to a pure function of the stream, the generator's path (see :mod:`._paths`) and the
global step: ``stateless.raw(seeds[path], step, size=2)``, each word reduced to 31 bits
(Keras's TensorFlow backend reduces a seed modulo ``2**31 - 2`` before its stateless
ops). A step's draws then depend on nothing saved, and a resume from any checkpoint that
holds ``optimizer.iterations`` draws the masks of the uninterrupted run. Draws within one
step advance the counter as Keras does (``[a, b]``, ``[a, b + 1]``...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seedwise import stateless
from seedwise._validate import check_int
from seedwise.frameworks.tensorflow import _paths
from seedwise.seeds import SeedLike, as_seeds

__all__ = ["SeedGeneratorKeys", "key_seed_generators", "generator_state"]

_WORD = np.uint64(2**31 - 2)


def generator_state(seeds: SeedLike, path: str, step: int) -> np.ndarray:
    """The ``[seed, counter]`` pair the generator at ``path`` gets at ``step`` (int64, each in ``[0, 2**31 - 2)``)."""
    words = stateless.raw(as_seeds(seeds)[path], np.uint64(step), size=2)
    return (words % _WORD).astype(np.int64)


class SeedGeneratorKeys:
    """Every ``SeedGenerator`` of ``model``, ready to be keyed by step from the stream ``seeds``."""

    def __init__(self, model: Any, seeds: SeedLike):
        stream = as_seeds(seeds)
        self.parts = _paths.seed_generators(model)
        self._streams = [stream[p.path] for p in self.parts]
        for s in self._streams:
            s.key  # noqa: B018  (derive each key once, here, not on every step)

    @property
    def paths(self) -> list[str]:
        """The generators' paths, in model order."""
        return [p.path for p in self.parts]

    def assign(self, step: int) -> None:
        """Set every generator's state for training step ``step``."""
        counter = np.uint64(step)
        for part, stream in zip(self.parts, self._streams):
            words = stateless.raw(stream, counter, size=2) % _WORD
            state = part.obj.state
            state.assign(words.astype(str(state.dtype)))


def key_seed_generators(model: Any, seeds: SeedLike, step: int) -> list[str]:
    """Key every ``SeedGenerator`` of ``model`` for ``step`` (a custom training loop calls it before each step).

    Returns the generators' paths. :class:`~seedwise.frameworks.tensorflow.SeedCallback`
    does this for ``model.fit``.
    """
    keys = SeedGeneratorKeys(model, seeds)
    keys.assign(check_int("step", step, low=0))
    return keys.paths
