"""TensorFlow (and Keras 3 on top of it): global generator, op seeds, op determinism,
and conversions from a :class:`~seedwise.Seeds` stream.

What TensorFlow keeps as global random state, and what this adapter does with it:

* the **global generator** (``tf.random.get_global_generator()``, a Philox
  ``tf.random.Generator``): :func:`seed` re-keys it in place (so ``tf.function``\\ s that
  captured it see the new state), :func:`capture` / :func:`restore` save and put back its
  state exactly;
* the **global op seed** (``tf.random.set_seed``): :func:`seed` sets it, so stateful ops
  such as ``tf.random.uniform`` and ``tf.data`` shuffles repeat from run to run. Its
  internal op-seed counter and the stateful kernels' hidden positions cannot be read
  back, so :func:`capture` cannot save them: after :func:`restore`, a stateful op does
  **not** continue where it left off. Use the global generator, a generator from
  :func:`generator_from_seeds`, or stateless ops with :func:`stateless_seed` instead;
* **Keras 3's global** ``SeedGenerator`` (used by ``keras.random`` calls and layers
  without a seed): :func:`seed` drops it so Keras rebuilds it from Python's ``random``
  (which the ``python`` adapter seeds), and :func:`capture` / :func:`restore` save its
  state when it exists. Keras initialisers without a seed draw their seed from Python's
  ``random`` too; :func:`initializer` gives one keyed by parameter name instead.

Nothing here imports TensorFlow until it is needed; :func:`capture` does not import it
at all when it has not been imported yet (there is no TensorFlow state to capture then).
"""

from __future__ import annotations

import importlib
import random
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise._validate import check_choice
from seedwise.errors import MissingDependencyError
from seedwise.frameworks._base import Setting, State, distribution_version, module_available

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.seeds import SeedLike

__all__ = [
    "NAME",
    "INITIALIZERS",
    "available",
    "version",
    "seed",
    "capture",
    "restore",
    "deterministic",
    "generator_from_seeds",
    "stateless_seed",
    "initializer",
    "initializer_seed",
]

NAME = "tensorflow"
_EXTRA = "tensorflow"
# The distributions that provide the ``tensorflow`` module, most common first.
_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel", "tf-nightly")
_KERAS_GLOBAL = "global_seed_generator"

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


def _import_keeping_globals(module: str) -> Any:
    """``import module``, then put Python's and NumPy's global RNG states back.

    Importing TensorFlow (and Keras) draws from both; undoing that here means
    ``seed_everything`` (which seeds them before this adapter runs) and
    ``RNGState.restore`` (which restores them first) are not undone by an import.
    """
    loaded = sys.modules.get(module)
    if loaded is not None:
        return loaded
    python_state = random.getstate()
    numpy_state = np.random.get_state()  # global-rng-ok: saved to undo the import's draws
    try:
        return importlib.import_module(module)
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # global-rng-ok


def _tf(feature: str) -> Any:
    """Import TensorFlow (keeping the global RNGs), or raise :class:`MissingDependencyError`."""
    try:
        return _import_keeping_globals("tensorflow")
    except ImportError:
        raise MissingDependencyError("tensorflow", _EXTRA, feature) from None


def _keras(feature: str) -> Any:
    """Import Keras (keeping the global RNGs), or raise :class:`MissingDependencyError`."""
    try:
        return _import_keeping_globals("keras")
    except ImportError:
        raise MissingDependencyError("keras", _EXTRA, feature) from None


def _as_int64(value: int) -> int:
    """Reinterpret the low 64 bits of ``value`` as a signed int64 (TF's key dtype)."""
    return int(np.array(value & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64).view(np.int64))


# -- adapter protocol ---------------------------------------------------------------


def available() -> bool:
    return module_available("tensorflow")


def version() -> str | None:
    if not available():
        return None
    for dist in _DISTRIBUTIONS:
        found = distribution_version(dist)
        if found is not None:
            return found
    return None


def seed(seed: int) -> list[Setting]:
    """Seed TensorFlow's global op seed and global generator from a 64-bit int."""
    tf = _tf("seeding TensorFlow")
    tf.random.set_seed(seed)
    settings = [
        Setting(
            NAME,
            "tf.random.set_seed",
            str(seed),
            note="global op seed; its per-op counter cannot be captured, so RNGState does not restore it",
        )
    ]
    generator = tf.random.get_global_generator()
    counter = [0] * (int(generator.state.shape[0]) - 1)
    generator.reset_from_key_counter(key=_as_int64(seed), counter=counter)
    settings.append(
        Setting(NAME, "tf.random.get_global_generator", f"key={_as_int64(seed)}, counter=0", note="re-keyed in place")
    )
    if sys.modules.get("keras") is not None:
        try:
            from keras.src.backend.common import global_state

            global_state.set_global_attribute(_KERAS_GLOBAL, None)
            settings.append(
                Setting(NAME, "keras global SeedGenerator", "reset", note="rebuilt from Python's random on next use")
            )
        except (ImportError, AttributeError) as exc:  # pragma: no cover - depends on the Keras version
            settings.append(
                Setting(NAME, "keras global SeedGenerator", "unchanged", ok=False, note=f"Keras internals moved: {exc}")
            )
    return settings


def _keras_seed_generator(create: bool) -> Any:
    """Keras's global SeedGenerator; None if Keras is not loaded (or, unless ``create``, it has none)."""
    if sys.modules.get("keras") is None and not create:
        return None
    _keras("restoring Keras's RNG state")
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
    except ImportError:  # pragma: no cover - depends on the Keras version
        return None
    if create:
        return seed_generator.global_seed_generator()
    return global_state.get_global_attribute(_KERAS_GLOBAL)


def capture() -> State:
    """The global generator's state (and Keras's global SeedGenerator's, if it exists)."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return State(NAME, meta={"loaded": False})
    generator = tf.random.get_global_generator()
    arrays = {"global_generator": np.asarray(generator.state.numpy(), dtype=np.int64).copy()}
    meta: dict[str, Any] = {
        "loaded": True,
        "algorithm": int(generator.algorithm),
        "not_captured": "tf.random.set_seed op-seed counter and stateful-op kernels",
    }
    keras_generator = _keras_seed_generator(create=False)
    if keras_generator is not None:
        value = keras_generator.state.value  # a tf.Variable on the TF backend, an array on others
        arrays["keras_seed_generator"] = np.array(value.numpy() if hasattr(value, "numpy") else value)
    return State(NAME, arrays=arrays, meta=meta)


def restore(state: State) -> None:
    """Put back a state from :func:`capture` (the global generator is changed in place)."""
    if not state.meta.get("loaded", True) or "global_generator" not in state.arrays:
        return  # captured before TensorFlow was imported: there was no state to restore
    tf = _tf("restoring TensorFlow's RNG state")
    saved = np.asarray(state.arrays["global_generator"], dtype=np.int64)
    algorithm = int(state.meta["algorithm"])
    generator = tf.random.get_global_generator()
    if int(generator.algorithm) == algorithm and tuple(generator.state.shape) == saved.shape:
        generator.reset(saved)
    else:
        tf.random.set_global_generator(tf.random.Generator.from_state(saved, alg=algorithm))
    if "keras_seed_generator" in state.arrays:
        keras_generator = _keras_seed_generator(create=True)
        if keras_generator is not None:
            keras_generator.state.assign(state.arrays["keras_seed_generator"])
    elif sys.modules.get("keras") is not None:
        from keras.src.backend.common import global_state

        global_state.set_global_attribute(_KERAS_GLOBAL, None)


def deterministic(enable: bool) -> list[Setting]:
    """``tf.config.experimental.enable_op_determinism()`` (or its undo)."""
    tf = _tf("TensorFlow deterministic mode")
    if enable:
        tf.config.experimental.enable_op_determinism()
        return [
            Setting(
                NAME,
                "tf.config.experimental.enable_op_determinism",
                "True",
                note="stateful random ops (tf.random.uniform ...) now raise unless tf.random.set_seed was called; "
                "ops without a deterministic kernel raise UnimplementedError",
            )
        ]
    from tensorflow.python.framework import config as tf_config  # no public undo in tf.config

    disable = getattr(tf_config, "disable_op_determinism", None)
    if disable is None:  # pragma: no cover - depends on the TF version
        return [Setting(NAME, "op determinism", "unchanged", ok=False, note="this TensorFlow cannot switch it off")]
    disable()
    return [Setting(NAME, "tensorflow.python.framework.config.disable_op_determinism", "False")]


# -- conversions from Seeds -----------------------------------------------------------


def _words(seeds: SeedLike, purpose: str, n: int) -> np.ndarray:
    from seedwise.seeds import as_seeds

    return as_seeds(seeds)._purpose(purpose).generate_state(n, np.uint64)


def generator_from_seeds(seeds: SeedLike) -> Any:
    """A fresh Philox ``tf.random.Generator`` keyed by ``seeds`` (counter at zero).

    Different streams get different Philox keys, so their generators never overlap
    (``tf.random.Generator.from_seed(n)`` puts ``n`` in the *counter*: seeds 5 and 6 give
    the same numbers one block apart).
    """
    tf = _tf("Seeds.tensorflow()")
    key = int(_words(seeds, "tensorflow", 1).view(np.int64)[0])
    return tf.random.Generator.from_key_counter(key=key, counter=[0, 0], alg="philox")


def stateless_seed(seeds: SeedLike, *, dtype: str = "int64") -> Any:
    """The ``seed`` pair for ``tf.random.stateless_*`` ops: a shape-[2] tensor from ``seeds``.

    ``tf.random.stateless_normal(shape, seed=stateless_seed(seeds["noise"][step]))`` is a
    pure function of the stream and the step.
    """
    check_choice("dtype", dtype, ("int64", "int32"))
    tf = _tf("seedwise.frameworks.tensorflow.stateless_seed")
    if dtype == "int64":
        pair = _words(seeds, "tensorflow-stateless", 2).view(np.int64)
    else:
        pair = (_words(seeds, "tensorflow-stateless", 1).view(np.uint32)).view(np.int32)
    return tf.constant(pair, dtype=getattr(tf, dtype))


def initializer_seed(seeds: SeedLike, name: str) -> int:
    """The 32-bit int seed that :func:`initializer` gives Keras for parameter ``name``.

    Keras turns an int seed into the pair ``[seed, 0]`` of 32-bit words, so 32 bits is all
    it can use. Pure function of the stream and the name; needs no TensorFlow.
    """
    from seedwise.seeds import as_seeds

    if not isinstance(name, str) or not name:
        from seedwise.errors import InvalidArgumentError

        raise InvalidArgumentError(f"name must be the parameter's non-empty name, e.g. 'dense/kernel'; got {name!r}")
    stream = as_seeds(seeds)[name]
    return int(stream._purpose("keras-initializer").generate_state(1, np.uint32)[0])


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
    keras = _keras("seedwise.frameworks.tensorflow.initializer")

    config = dict(kwargs, seed=seed_value)
    return keras.initializers.get({"class_name": scheme, "config": config})
