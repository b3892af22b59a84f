"""TensorFlow (and Keras 3 on top of it): global generator, op seeds, op determinism.

What TensorFlow keeps as global random state, and what this adapter does with it:

* the **global op seed** (``tf.random.set_seed``): :func:`seed` sets it, so stateful ops
  such as ``tf.random.uniform`` and ``tf.data`` shuffles repeat from run to run. Its
  internal op-seed counter and the stateful kernels' hidden positions cannot be read
  back, so :func:`capture` cannot save them: after :func:`restore`, a stateful op does
  **not** continue where it left off. Use the global generator, a generator from
  ``Seeds.tensorflow()``, or stateless ops with
  :func:`seedwise.frameworks.tensorflow.stateless_seed` instead;
* the **global generator** (``tf.random.get_global_generator()``, a Philox
  ``tf.random.Generator``): :func:`seed` re-keys it in place (so ``tf.function``\\ s that
  captured it see the new state), :func:`capture` / :func:`restore` save and put back its
  state exactly. TensorFlow creates it on first use, and creating it starts TensorFlow's
  runtime (after which ``tf.config.threading`` and device configuration raise), so this
  adapter never creates it before the runtime has started: :func:`seed` then reports it
  as not created (with what to do), and :func:`capture` records that it does not exist;
* **Keras 3's global** ``SeedGenerator`` (used by ``keras.random`` calls and layers
  without a seed): :func:`seed` drops it so Keras rebuilds it from Python's ``random``
  (which the ``python`` adapter seeds), and :func:`capture` / :func:`restore` save its
  state when it exists.

Nothing here starts TensorFlow's runtime, except :func:`restore` of a state that holds a
global generator (there must be one to put it into). Nothing imports TensorFlow except
:func:`seed`, :func:`deterministic` and :func:`restore` of a state captured with TensorFlow
loaded (seedwise calls them only when TensorFlow is imported or named); such an import
leaves Python's and NumPy's global RNGs as they were.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from seedwise._optional import distribution_version, import_keeping_global_rngs, module_available
from seedwise.process.settings import Setting, State

__all__ = ["NAME", "available", "imported", "version", "seed", "capture", "restore", "deterministic"]

NAME = "tensorflow"
# The distributions that provide the ``tensorflow`` module, most common first.
_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel", "tf-nightly")
_KERAS_GLOBAL = "global_seed_generator"
_PHILOX = 1  # tf.random.Algorithm.PHILOX, the algorithm TensorFlow gives its global generator
_UNKNOWN = object()


def _tf(feature: str) -> Any:
    """Import TensorFlow (keeping the global RNGs), or raise :class:`MissingDependencyError`."""
    return import_keeping_global_rngs("tensorflow", "tensorflow", feature)


def _as_int64(value: int) -> int:
    """Reinterpret the low 64 bits of ``value`` as a signed int64 (TF's key dtype)."""
    return int(np.array(value & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64).view(np.int64))


def runtime_started() -> bool:
    """Whether TensorFlow's runtime (eager context) has started; False when TF is not imported.

    Once it has, ``tf.config.threading`` setters and ``tf.config.set_logical_device_configuration``
    raise ``RuntimeError``.
    """
    if sys.modules.get("tensorflow") is None:
        return False
    try:
        from tensorflow.python.eager import context
    except ImportError:  # pragma: no cover - depends on the TF version
        return True  # cannot tell: assume it has
    handle = getattr(context.context(), "_context_handle", _UNKNOWN)
    return True if handle is _UNKNOWN else handle is not None


def _existing_global_generator(tf: Any) -> Any:
    """TensorFlow's global generator if it exists (None if TensorFlow has not created it yet)."""
    try:
        from tensorflow.python.ops import stateful_random_ops
    except ImportError:  # pragma: no cover - depends on the TF version
        return tf.random.get_global_generator()
    if not hasattr(stateful_random_ops, "global_generator"):  # pragma: no cover - depends on the TF version
        return tf.random.get_global_generator()
    return stateful_random_ops.global_generator


# -- the protocol ---------------------------------------------------------------------


def available() -> bool:
    return module_available("tensorflow")


def imported() -> bool:
    return sys.modules.get("tensorflow") is not None


def version() -> str | None:
    if not available():
        return None
    for dist in _DISTRIBUTIONS:
        found = distribution_version(dist)
        if found is not None:
            return found
    return None


_NOT_CREATED = (
    "TensorFlow creates its global generator on first use, and creating it starts TensorFlow's runtime "
    "(tf.config.threading and device settings then raise), so seedwise left it alone. If your code uses "
    "tf.random.get_global_generator(): configure threads and devices, call it once, then seed_everything "
    "(which re-keys it in place); or draw from Seeds.tensorflow() instead"
)


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
    key = _as_int64(seed)
    generator = _existing_global_generator(tf)
    if generator is not None:
        counter = [0] * (int(generator.state.shape[0]) - 1)
        generator.reset_from_key_counter(key=key, counter=counter)
        settings.append(
            Setting(NAME, "tf.random.get_global_generator", f"key={key}, counter=0", note="re-keyed in place")
        )
    elif runtime_started():
        tf.random.set_global_generator(tf.random.Generator.from_key_counter(key=key, counter=[0, 0], alg=_PHILOX))
        settings.append(Setting(NAME, "tf.random.get_global_generator", f"key={key}, counter=0", note="created"))
    else:
        settings.append(Setting(NAME, "tf.random.get_global_generator", "not created", ok=False, note=_NOT_CREATED))
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
    import_keeping_global_rngs("keras", "tensorflow", "restoring Keras's RNG state")
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
    except ImportError:  # pragma: no cover - depends on the Keras version
        return None
    if create:
        return seed_generator.global_seed_generator()
    return global_state.get_global_attribute(_KERAS_GLOBAL)


def capture() -> State:
    """The global generator's state, if it exists (and Keras's global SeedGenerator's, if that does)."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return State(NAME, meta={"loaded": False})
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {
        "loaded": True,
        "not_captured": "tf.random.set_seed op-seed counter and stateful-op kernels",
    }
    generator = _existing_global_generator(tf)
    if generator is not None:
        arrays["global_generator"] = np.asarray(generator.state.numpy(), dtype=np.int64).copy()
        meta["algorithm"] = int(generator.algorithm)
    keras_generator = _keras_seed_generator(create=False)
    if keras_generator is not None:
        value = keras_generator.state.value  # a tf.Variable on the TF backend, an array on others
        arrays["keras_seed_generator"] = np.array(value.numpy() if hasattr(value, "numpy") else value)
    return State(NAME, arrays=arrays, meta=meta)


def restore(state: State) -> None:
    """Put back a state from :func:`capture` (the global generator is changed in place).

    A state captured before TensorFlow was imported, or before it created its global
    generator, leaves the generator as it is now: there was no state to put back.
    """
    if not state.meta.get("loaded", True):
        return  # captured before TensorFlow was imported: there was no state to restore
    tf = _tf("restoring TensorFlow's RNG state")
    if "global_generator" in state.arrays:
        saved = np.asarray(state.arrays["global_generator"], dtype=np.int64)
        algorithm = int(state.meta["algorithm"])
        generator = _existing_global_generator(tf)
        if (
            generator is not None
            and int(generator.algorithm) == algorithm
            and tuple(generator.state.shape) == saved.shape
        ):
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
