"""PyTensor (Theano's successor): seeded random streams from a :class:`~seedwise.Seeds`.

PyTensor has no global RNG. Each random variable owns a shared NumPy ``Generator``
that a compiled function advances; the generators come from a ``RandomStream``
(Theano's ``RandomStreams``) or from ``pytensor.shared(np.random.default_rng(...))``.
Theano users also seeded NumPy's global RNG for the initial weights, which
:func:`seedwise.seed_everything` does through the ``numpy`` adapter. So:

* :func:`random_stream_from_seeds` (``Seeds.pytensor()``) gives a ``RandomStream`` whose
  variables draw the same numbers in every run for the same stream;
* :func:`shared_rng` gives one shared generator, PyTensor 3's recommended form
  (``next_rng, x = rng.normal(size=5)``).

Same stream, same draws, holds for the same graph: a ``RandomStream`` hands its i-th
random variable the i-th child of its seed, so creating the variables in a different
order changes which variable gets which numbers (use one stream per variable, e.g.
``Seeds.pytensor()`` of ``seeds["dropout"]``, when that matters).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise import _conversions
from seedwise._optional import require
from seedwise.seeds import as_seeds

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.seeds import SeedLike

__all__ = ["random_stream_from_seeds", "shared_rng"]


def random_stream_from_seeds(seeds: SeedLike) -> Any:
    """A ``pytensor.tensor.random.utils.RandomStream`` seeded from the stream ``seeds``.

    ``rs.normal(size=5)`` compiled with ``pytensor.function`` returns the same draws in
    every run for the same stream (and a different sequence for a different one);
    ``rs.seed()`` rewinds every variable of the stream to its first draw.

    PyTensor 3 deprecates ``RandomStream`` in favour of :func:`shared_rng`; seedwise keeps
    it for Theano-style code and silences only the constructor's ``FutureWarning``.
    """
    return _conversions.pytensor_random_stream(as_seeds(seeds))


def shared_rng(seeds: SeedLike, *, name: str | None = None) -> Any:
    """A shared random generator variable seeded from the stream ``seeds``.

    PyTensor 3 style::

        rng = shared_rng(seeds["noise"], name="rng")
        next_rng, x = rng.normal(size=5)
        f = pytensor.function([], x, updates={rng: next_rng})

    The generator is NumPy's PCG64, seeded with a ``SeedSequence`` from the stream.
    """
    pytensor = require("pytensor", "pytensor", "seedwise.frameworks.pytensor.shared_rng")
    entropy = _conversions.pytensor_entropy(as_seeds(seeds), "pytensor-shared")
    generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
    return pytensor.shared(generator, name=name, borrow=True)
