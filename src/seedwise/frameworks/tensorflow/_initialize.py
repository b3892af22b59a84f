""":func:`initialize`: re-draw every weight of a Keras model from its own stream, keyed by its path.

Keras draws a layer's initial weights with the layer's initialiser, and an unseeded one
takes its seed from Python's global ``random``: adding a layer shifts every later layer's
weights, and two runs agree only if everything before drew the same. ``initialize``
re-draws each variable in place with the initialiser its layer declares
(``kernel_initializer`` for ``kernel``, ``recurrent_initializer`` for ``recurrent_kernel``
...), seeded with :func:`~seedwise.frameworks.tensorflow.initializer_seed` of
``(seeds, path)``, where ``path`` is the variable's seedwise path (see :mod:`._paths`).
So the initial value of a variable depends on the stream, its path and its initialiser,
and on nothing else: editing one layer leaves every other layer's initial weights
bit-identical, in any process.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from seedwise._optional import import_keeping_global_rngs
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.frameworks.tensorflow import _paths
from seedwise.frameworks.tensorflow._keys import initializer_seed
from seedwise.init._report import InitEntry, InitReport
from seedwise.seeds import SeedLike, as_seeds

__all__ = ["initialize", "KEEP"]

#: A rule value that leaves a variable as it is.
KEEP = "keep"
# Variables whose initialiser attribute is not ``<name>_initializer``.
_ATTRIBUTES = {"recurrent_kernel": "recurrent_initializer"}


def _declared(layer: Any, name: str) -> Any:
    """The initialiser ``layer`` declares for its variable ``name``, or None."""
    for owner in (layer, getattr(layer, "cell", None)):
        if owner is None:
            continue
        found = getattr(owner, _ATTRIBUTES.get(name, f"{name}_initializer"), None)
        if found is not None:
            return found
    return None


def _resolve(keras: Any, spec: Any, where: str) -> Any:
    """A Keras initialiser from a rule value (a name, a config dict or an initialiser)."""
    try:
        found = keras.initializers.get(spec)
    except (ValueError, TypeError) as exc:
        raise InvalidArgumentError(f"{where}: {spec!r} is not a Keras initialiser ({exc})") from None
    if found is None:
        raise InvalidArgumentError(f"{where}: {spec!r} is not a Keras initialiser")
    return found


def _seeded(init: Any, seed: int) -> tuple[Any, bool]:
    """``init`` with ``seed`` when it draws random numbers; (initialiser, whether it is random)."""
    get_config = getattr(init, "get_config", None)
    config = get_config() if callable(get_config) else None
    if isinstance(config, dict) and "seed" in config:
        return type(init).from_config({**config, "seed": seed}), True
    return init, False


def _value(keras: Any, init: Any, variable: Any, layer: Any, short: str) -> Any:
    shape, dtype = tuple(variable.shape), variable.dtype
    if short == "bias" and getattr(layer, "unit_forget_bias", False) and hasattr(layer, "units"):
        units = int(layer.units)  # an LSTM cell: Keras builds its bias as [init, ones, init, init]
        ops = keras.ops
        return ops.concatenate([init((units,), dtype), ops.ones((units,), dtype), init((units * 2,), dtype)])
    return init(shape, dtype)


def initialize(model: Any, seeds: SeedLike, *, rules: Mapping[str, Any] | None = None) -> InitReport:
    """Re-initialise every variable of a built Keras ``model`` in place, each from ``seeds[its path]``.

    Args:
        model: a built Keras 3 model (or layer).
        seeds: the stream to key by, usually ``root["init"]``; variable ``"dense/kernel"``
            is drawn with ``initializer_seed(seeds, "dense/kernel")``.
        rules: ``{pattern: initialiser}`` for particular variables, matched with
            ``fnmatch`` against the paths in the given order, the first match winning over
            the layer's own initialiser: a Keras name (``"he_normal"``), a config dict,
            an initialiser, or ``"keep"`` to leave the variable as it is.

    Returns:
        An :class:`~seedwise.init.InitReport`: path, shape, initialiser and stream of
        each variable (trainable ones as ``parameter``, the others as ``buffer``).

    Raises:
        InvalidArgumentError: an unbuilt model, or a trainable variable whose layer
            declares no initialiser (named, with the fix: a rule).
    """
    keras = import_keeping_global_rngs("keras", "tensorflow", "seedwise.frameworks.tensorflow.initialize")
    if not isinstance(model, keras.layers.Layer):
        raise InvalidTypeError(f"model must be a Keras model or layer, got {type(model).__name__}")
    if not model.built:
        raise InvalidArgumentError(
            "model is not built, so it has no weights yet: build it first (a keras.Input, model.build(shape), "
            "or one call on a batch), then initialize"
        )
    stream = as_seeds(seeds)
    patterns = _check_rules(rules)
    plans = []  # decide every variable's initialiser before drawing any
    for part in _paths.variables(model):
        short = part.path.rsplit("/", 1)[-1]
        rule = next((spec for pattern, spec in patterns if fnmatch.fnmatchcase(part.path, pattern)), None)
        if rule is None:
            init = _declared(part.layer, short)
            if init is None and part.obj.trainable:
                raise InvalidArgumentError(
                    f"variable {part.path!r} ({type(part.layer).__name__}) has no declared initialiser seedwise can "
                    f"seed; pass rules={{{part.path!r}: 'glorot_uniform'}} (or 'keep' to leave it as it is)"
                )
        else:
            init = None if isinstance(rule, str) and rule == KEEP else _resolve(keras, rule, f"rules for {part.path!r}")
        plans.append((part, short, init))
    entries = []
    for part, short, init in plans:
        kind = "parameter" if part.obj.trainable else "buffer"
        shape = tuple(int(d) for d in part.obj.shape)
        if init is None:
            entries.append(InitEntry(part.path, kind, shape, "kept", None))
            continue
        seeded, random = _seeded(init, initializer_seed(stream, part.path))
        part.obj.assign(_value(keras, seeded, part.obj, part.layer, short))
        name = type(init).__name__
        entries.append(InitEntry(part.path, kind, shape, name, repr(stream[part.path]) if random else None))
    return InitReport(seeds=repr(stream), entries=entries)


def _check_rules(rules: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    if rules is None:
        return []
    if not isinstance(rules, Mapping):
        raise InvalidTypeError(f"rules must be a mapping {{path pattern: initialiser}}, got {type(rules).__name__}")
    for pattern in rules:
        if not isinstance(pattern, str) or not pattern:
            raise InvalidTypeError(f"rules keys must be variable paths or fnmatch patterns (str), got {pattern!r}")
    return list(rules.items())
