"""JAX: no global random state to seed, and XLA's deterministic ops through ``XLA_FLAGS``.

JAX has no global random state: every draw takes an explicit key, which is exactly
seedwise's model. So :func:`seed` changes nothing (it says so) and :func:`capture` /
:func:`restore` hold nothing; keys come from ``Seeds.jax()`` and
:mod:`seedwise.frameworks.jax`. Nothing here imports JAX.

:func:`deterministic` sets ``--xla_gpu_deterministic_ops=true`` in ``XLA_FLAGS``, which
XLA reads once, when JAX starts its backend; set later, the report says it came too late.
"""

from __future__ import annotations

import os
import sys

from seedwise._optional import distribution_version, module_available
from seedwise.process.settings import Setting, State

__all__ = [
    "NAME",
    "DETERMINISTIC_FLAG",
    "available",
    "imported",
    "version",
    "seed",
    "capture",
    "restore",
    "deterministic",
]

NAME = "jax"
_FLAG_NAME = "--xla_gpu_deterministic_ops"
#: The XLA flag :func:`deterministic` adds to ``XLA_FLAGS``.
DETERMINISTIC_FLAG = f"{_FLAG_NAME}=true"
# True while XLA_FLAGS differs from what the (already started) backend read.
_CHANGED_LATE = False


def available() -> bool:
    return module_available("jax")


def imported() -> bool:
    return sys.modules.get("jax") is not None


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
