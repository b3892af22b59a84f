"""JAX: typed PRNG keys from a :class:`~seedwise.Seeds` stream, and XLA's deterministic ops.

JAX has no global random state: every draw takes an explicit key, which is exactly
seedwise's model. So :func:`seed` changes nothing (it says so), :func:`capture` /
:func:`restore` hold nothing, and the work is in the conversions:

* :func:`key_from_seeds` (``Seeds.jax()``): the typed key of a stream. Its key data are
  words drawn from the stream's own :class:`numpy.random.SeedSequence`, so the same
  stream gives the same key in any process, on any machine;
* :func:`member_keys` and :func:`step_key`: keys that agree with seedwise's derivation,
  ``member_keys(s, k)[i] == key_from_seeds(s[i])`` and ``step_key(s, t) ==
  key_from_seeds(s[t])``, so ensemble member 3 or step 1000 get the same key whether
  they are made by JAX code or by any other seedwise consumer, and whatever ``k`` is.
  Inside jitted code keep using ``jax.random.split`` / ``fold_in`` on these keys.

:func:`deterministic` sets ``--xla_gpu_deterministic_ops=true`` in ``XLA_FLAGS``, which
XLA reads once, when JAX starts its backend; set later, the report says it came too late.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise._validate import check_int
from seedwise.errors import InvalidArgumentError
from seedwise.frameworks._base import Setting, State, distribution_version, module_available, require

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.seeds import SeedLike

__all__ = [
    "NAME",
    "DETERMINISTIC_FLAG",
    "available",
    "version",
    "seed",
    "capture",
    "restore",
    "deterministic",
    "key_from_seeds",
    "member_keys",
    "step_key",
]

NAME = "jax"
_EXTRA = "jax"
_FLAG_NAME = "--xla_gpu_deterministic_ops"
#: The XLA flag :func:`deterministic` adds to ``XLA_FLAGS``.
DETERMINISTIC_FLAG = f"{_FLAG_NAME}=true"
# True while XLA_FLAGS differs from what the (already started) backend read.
_CHANGED_LATE = False


def _jax(feature: str) -> Any:
    return require("jax", _EXTRA, feature)


# -- adapter protocol ---------------------------------------------------------------


def available() -> bool:
    return module_available("jax")


def version() -> str | None:
    return distribution_version("jax") if available() else None


def seed(seed: int) -> list[Setting]:
    """JAX has no global RNG to seed; the returned setting says so."""
    return [
        Setting(
            NAME,
            "global RNG",
            "none",
            note="JAX has no global random state; pass keys explicitly: Seeds.jax(), "
            "seedwise.frameworks.jax.member_keys / step_key",
        )
    ]


def capture() -> State:
    """An empty state: JAX keeps no global random state."""
    return State(NAME)


def restore(state: State) -> None:
    """Nothing to restore (see :func:`capture`)."""


def _backend_initialised() -> bool:
    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge
    except ImportError:  # pragma: no cover - depends on the JAX version
        return True  # cannot tell: assume the worst
    check = getattr(xla_bridge, "backends_are_initialized", None)
    return True if check is None else bool(check())


def _without_flag(flags: str) -> list[str]:
    return [f for f in flags.split() if f.split("=", 1)[0] != _FLAG_NAME]


def deterministic(enable: bool) -> list[Setting]:
    """Add (or remove) ``--xla_gpu_deterministic_ops=true`` in ``XLA_FLAGS``.

    XLA reads ``XLA_FLAGS`` once, when JAX initialises its backend (the first array op);
    when that has already happened the setting is reported with ``ok=False``. On CPU,
    XLA's kernels are deterministic anyway; the flag matters on GPU (scatter, reductions).
    """
    global _CHANGED_LATE
    current = os.environ.get("XLA_FLAGS", "")
    kept = _without_flag(current)
    wanted = kept + [DETERMINISTIC_FLAG] if enable else kept
    new = " ".join(wanted)
    changed = new != " ".join(current.split())
    if changed:
        if new:
            os.environ["XLA_FLAGS"] = new
        else:
            os.environ.pop("XLA_FLAGS", None)
    late = _backend_initialised()
    if late and changed:
        _CHANGED_LATE = not _CHANGED_LATE
    # Too late only if the flag now differs from what the backend read when it started.
    ineffective = late and _CHANGED_LATE
    value = DETERMINISTIC_FLAG if enable else f"{_FLAG_NAME} unset"
    if ineffective:
        fix = f"XLA_FLAGS='{DETERMINISTIC_FLAG}'" if enable else f"XLA_FLAGS without {_FLAG_NAME}"
        note = (
            "JAX had already initialised its backend, which read XLA_FLAGS then: start Python with "
            f"{fix} in the environment, or call this before the first JAX operation"
        )
    else:
        note = "read by XLA when JAX initialises its backend; affects GPU kernels (CPU ones are deterministic)"
    return [Setting(NAME, "XLA_FLAGS", value, ok=not ineffective, note=note)]


# -- conversions from Seeds -----------------------------------------------------------


_KEY_SHAPES: dict[str, tuple[int, ...]] = {}


def _key_shape(impl: str | None) -> tuple[Any, tuple[int, ...]]:
    """(jax module, shape of the uint32 key data) for the PRNG implementation ``impl``."""
    jax = _jax("Seeds.jax()")
    if impl is not None and not isinstance(impl, str):
        from seedwise.errors import InvalidTypeError

        raise InvalidTypeError(f"impl must be a JAX PRNG implementation name or None, got {type(impl).__name__}")
    name = impl if impl is not None else str(jax.config.jax_default_prng_impl)
    if name not in _KEY_SHAPES:
        try:
            probe = jax.random.key(0, impl=name)
        except ValueError as exc:
            raise InvalidArgumentError(f"impl={impl!r} is not a JAX PRNG implementation: {exc}") from None
        _KEY_SHAPES[name] = tuple(int(n) for n in jax.random.key_data(probe).shape)
    return jax, _KEY_SHAPES[name]


def _data(seeds: SeedLike, shape: tuple[int, ...]) -> np.ndarray:
    from seedwise.seeds import as_seeds

    n_words = int(np.prod(shape))
    return as_seeds(seeds)._purpose("jax").generate_state(n_words, np.uint32).reshape(shape)


def key_from_seeds(seeds: SeedLike, impl: str | None = None) -> Any:
    """The typed JAX key (``jax.random.key`` style) of the stream ``seeds``.

    Args:
        seeds: a :class:`~seedwise.Seeds` (or an int, taken as ``Seeds(int)``).
        impl: a JAX PRNG implementation (``"threefry2x32"``, ``"rbg"``...); None uses
            JAX's default. The key data are the first words of the stream's ``"jax"``
            state, as many as ``impl`` needs (two for threefry: 64 bits).
    """
    jax, shape = _key_shape(impl)
    return jax.random.wrap_key_data(_data(seeds, shape), impl=impl)


def member_keys(seeds: SeedLike, k: int, *, impl: str | None = None) -> Any:
    """A key array of shape ``(k,)``: entry ``i`` is ``key_from_seeds(seeds[i])``.

    Made for ``jax.vmap`` over ensemble members; member ``i`` gets the same key whatever
    ``k`` is, and the same stream as ``seeds.spawn(k)[i]`` gives any other consumer.
    """
    from seedwise.seeds import as_seeds

    k = check_int("k", k, low=0)
    jax, shape = _key_shape(impl)
    stream = as_seeds(seeds)
    data = np.stack([_data(child, shape) for child in stream.spawn(k)]) if k else np.zeros((0, *shape), np.uint32)
    return jax.random.wrap_key_data(data, impl=impl)


def step_key(seeds: SeedLike, step: int, *, impl: str | None = None) -> Any:
    """The key of ``seeds[step]``: a pure function of the stream and the step.

    A resumed run asks for the key of step 1000 and gets it without replaying 999 splits.
    """
    from seedwise.seeds import as_seeds

    step = check_int("step", step, low=0)
    return key_from_seeds(as_seeds(seeds)[step], impl=impl)
