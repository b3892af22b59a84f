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

* :func:`rng_state` / :func:`load_rng_state`: the position of every generator of a
  ``RandomStream`` (or of a list of shared generators) as JSON-able data, and back, so a
  run resumed in a fresh process continues the same draws. :class:`seedwise.RNGState`
  holds process-global state only, and PyTensor has none: these generators belong to
  the graph, so they are saved with it (next to the weights), not with the process.

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
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import as_seeds

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.seeds import SeedLike

__all__ = ["random_stream_from_seeds", "shared_rng", "rng_state", "load_rng_state", "RNG_STATE_FORMAT"]

#: Version of :func:`rng_state`'s output.
RNG_STATE_FORMAT = 1
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


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


def _shared_generators(rngs: Any) -> list[Any]:
    """The shared generator variables of a ``RandomStream`` (in creation order) or a list of them."""
    updates = getattr(rngs, "state_updates", None)
    variables = [var for var, _ in updates] if updates is not None else rngs
    if not isinstance(variables, (list, tuple)) or not all(
        isinstance(getattr(v, "get_value", lambda: None)(), np.random.Generator) for v in variables
    ):
        raise InvalidTypeError(
            f"rngs must be a pytensor RandomStream or a list of shared generator variables (shared_rng), "
            f"got {type(rngs).__name__}"
        )
    return list(variables)


def rng_state(rngs: Any) -> dict[str, Any]:
    """Where every generator of ``rngs`` stands, as JSON-able data (no pickle).

    Args:
        rngs: a ``RandomStream`` (its random variables' generators, in the order they were
            created) or a list of shared generator variables (e.g. from :func:`shared_rng`).

    Save it with the weights (``json.dump``); :func:`load_rng_state` puts it back into
    the same graph built again, in this or a fresh process.
    """
    states = []
    for var in _shared_generators(rngs):
        state = var.get_value(borrow=True).bit_generator.state
        states.append({"name": var.name, "state": state})
    return {"format": RNG_STATE_FORMAT, "generators": states}


def load_rng_state(rngs: Any, state: dict[str, Any]) -> None:
    """Put the generators of ``rngs`` where :func:`rng_state` found them.

    ``rngs`` must have as many generators, in the same order (the same graph built from
    the same stream); a mismatch raises instead of restoring the wrong variables.
    """
    variables = _shared_generators(rngs)
    if not isinstance(state, dict) or state.get("format") != RNG_STATE_FORMAT:
        raise InvalidArgumentError(
            f"state must be the dict rng_state() returned (format {RNG_STATE_FORMAT}), "
            f"got {type(state).__name__} with format {getattr(state, 'get', lambda _: None)('format')!r}"
        )
    saved = state["generators"]
    if len(saved) != len(variables):
        raise InvalidArgumentError(
            f"the state holds {len(saved)} generators but rngs has {len(variables)}: build the same graph "
            "(the same random variables, created in the same order) before load_rng_state"
        )
    generators = []
    for i, (var, entry) in enumerate(zip(variables, saved, strict=True)):
        kind = entry["state"].get("bit_generator")
        if kind not in _BIT_GENERATORS:
            raise InvalidArgumentError(
                f"generator {i}: unknown bit generator {kind!r}; expected one of {_BIT_GENERATORS}"
            )
        if entry["name"] != var.name:
            raise InvalidArgumentError(f"generator {i} was saved as {entry['name']!r} but is named {var.name!r} here")
        bit_generator = getattr(np.random, kind)(0)  # any seed: the saved state replaces it
        bit_generator.state = entry["state"]
        generators.append(np.random.Generator(bit_generator))
    for var, generator in zip(variables, generators, strict=True):  # decide, then do
        var.set_value(generator, borrow=True)
