"""Audit a training step: prove it repeatable, name where two runs diverge, list global-RNG use.

Three tools, each returning a report with ``.ok``, ``.to_dict()`` (JSON-ready), a
readable ``repr``/``str`` and a rich table (``rich.print(report)``):

* :func:`repeatability` runs ``fn(seeds)`` several times and compares everything it
  returns bit for bit;
* :func:`first_divergence` runs ``fn(seeds)`` twice with hooks on every module of a model
  and names the first module, in execution order, whose input, output or gradient differs;
* :func:`global_rng_use` lists the global RNGs a call drew from.

**Fresh RNG states, and why they differ between runs.** The question an audit answers is
"is every random draw controlled by ``seeds``?". So before each run the global RNGs
(Python's ``random``, NumPy's legacy ``np.random``, torch's CPU and CUDA generators, and
TensorFlow's, JAX's or PyTensor's when imported) are seeded to a *different* state per run
(``global_rngs="vary"``, the default; the states derive from fixed seedwise streams, not
from OS entropy, so an audit is itself repeatable). Code that draws from a global RNG
(``nn.Dropout`` outside :func:`seedwise.keyed`, ``torch.rand`` without a generator,
``np.random.rand``) then shows up as a difference, although it would have looked
repeatable had both runs started from the same global state. With
``global_rngs="same"`` every run starts from the same global state instead, which isolates
the nondeterminism that no seed can fix (nondeterministic kernels, time, counters). In
both modes the caller's global RNG states are restored afterwards.

The package, one concept per module (the global RNGs are captured, seeded and restored
through :mod:`seedwise.process.global_rngs`): ``_diff`` (the shared bit-for-bit diffing of results
and tensors), ``_global_rng`` (:func:`global_rng_use`), ``_runs`` (running a step from
fresh global states), ``_repeatability``, ``_recorder`` (the forward and gradient hooks)
and ``_divergence`` (:func:`first_divergence`).
"""

from __future__ import annotations

from seedwise.audit._diff import Difference
from seedwise.audit._divergence import DivergenceReport, first_divergence
from seedwise.audit._global_rng import GlobalRNGReport, RNGUse, global_rng_use
from seedwise.audit._recorder import Divergence
from seedwise.audit._repeatability import RepeatabilityReport, repeatability
from seedwise.audit._runs import GLOBAL_RNG_MODES
from seedwise.audit._runs import GlobalRNGMode as GlobalRNGMode  # the type of global_rngs=

__all__ = [
    "repeatability",
    "first_divergence",
    "global_rng_use",
    "RepeatabilityReport",
    "DivergenceReport",
    "GlobalRNGReport",
    "Difference",
    "Divergence",
    "RNGUse",
    "GLOBAL_RNG_MODES",
]
