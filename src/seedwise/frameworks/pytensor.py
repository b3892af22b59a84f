"""PyTensor (Theano's successor): seeded random streams from a :class:`~seedwise.Seeds`.

PyTensor has no global RNG. Each random variable owns a shared NumPy ``Generator``
that a compiled function advances; the generators come from a ``RandomStream``
(Theano's ``RandomStreams``) or from ``pytensor.shared(np.random.default_rng(...))``.
Theano users also seeded NumPy's global RNG for the initial weights, which
:func:`seedwise.seed_everything` does through the ``numpy`` adapter. So:

* :func:`seed`, :func:`capture`, :func:`restore`, :func:`deterministic` change nothing
  (the first one says why);
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

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise.frameworks._base import Setting, State, distribution_version, module_available, require

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.seeds import SeedLike

__all__ = [
    "NAME",
    "available",
    "version",
    "seed",
    "capture",
    "restore",
    "deterministic",
    "random_stream_from_seeds",
    "shared_rng",
]

NAME = "pytensor"
_EXTRA = "pytensor"


def _pytensor(feature: str) -> Any:
    return require("pytensor", _EXTRA, feature)


# -- adapter protocol ---------------------------------------------------------------


def available() -> bool:
    return module_available("pytensor")


def version() -> str | None:
    return distribution_version("pytensor") if available() else None


def seed(seed: int) -> list[Setting]:
    """PyTensor has no global RNG to seed; the returned setting says what to do instead."""
    return [
        Setting(
            NAME,
            "global RNG",
            "none",
            note="PyTensor has no global random state (NumPy's, which Theano code used for weights, is "
            "seeded by the numpy adapter); make random variables from Seeds.pytensor() or "
            "seedwise.frameworks.pytensor.shared_rng",
        )
    ]


def capture() -> State:
    """An empty state: PyTensor keeps no global random state."""
    return State(NAME)


def restore(state: State) -> None:
    """Nothing to restore (see :func:`capture`)."""


def deterministic(enable: bool) -> list[Setting]:
    """Nothing to switch: PyTensor's CPU kernels are deterministic."""
    return []


# -- conversions from Seeds -----------------------------------------------------------


def _entropy(seeds: SeedLike, purpose: str) -> list[int]:
    """128 bits from the stream, as the int list a ``SeedSequence`` takes as entropy."""
    from seedwise.seeds import as_seeds

    return [int(w) for w in as_seeds(seeds)._purpose(purpose).generate_state(4, np.uint32)]


def random_stream_from_seeds(seeds: SeedLike) -> Any:
    """A ``pytensor.tensor.random.utils.RandomStream`` seeded from the stream ``seeds``.

    ``rs.normal(size=5)`` compiled with ``pytensor.function`` returns the same draws in
    every run for the same stream (and a different sequence for a different one);
    ``rs.seed()`` rewinds every variable of the stream to its first draw.

    PyTensor 3 deprecates ``RandomStream`` in favour of :func:`shared_rng`; seedwise keeps
    it for Theano-style code and silences only the constructor's ``FutureWarning``.
    """
    _pytensor("Seeds.pytensor()")
    from pytensor.tensor.random.utils import RandomStream

    entropy = _entropy(seeds, "pytensor")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="RandomStream is deprecated", category=FutureWarning)
        return RandomStream(seed=entropy)


def shared_rng(seeds: SeedLike, *, name: str | None = None) -> Any:
    """A shared random generator variable seeded from the stream ``seeds``.

    PyTensor 3 style::

        rng = shared_rng(seeds["noise"], name="rng")
        next_rng, x = rng.normal(size=5)
        f = pytensor.function([], x, updates={rng: next_rng})

    The generator is NumPy's PCG64, seeded with a ``SeedSequence`` from the stream.
    """
    pytensor = _pytensor("seedwise.frameworks.pytensor.shared_rng")
    generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence(_entropy(seeds, "pytensor-shared"))))
    return pytensor.shared(generator, name=name, borrow=True)
