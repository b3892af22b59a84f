"""What a TensorFlow/Keras, JAX or PyTensor user calls: seedwise streams as each framework's
own keys, generators, initialisers and random streams.

``seedwise.frameworks.tensorflow``, ``.jax`` and ``.pytensor`` load on first use, as
attributes (``sw.frameworks.jax.step_key(...)``) or by import (``from seedwise.frameworks
import jax as swjax``); neither imports the framework itself until a function needs it.
Each needs its extra (``pip install 'seedwise[tensorflow]'``...); without it the functions
raise :class:`~seedwise.errors.MissingDependencyError` with the command to install it.

The global-state adapters (seeding, capture and restore of each framework's global RNGs)
live in :mod:`seedwise.process.adapters`; ``ADAPTERS``, ``adapter``, ``installed``,
``Setting`` and ``State`` are re-exported here from their old home.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from seedwise.process.adapters import ADAPTERS, adapter, installed
from seedwise.process.settings import Setting, State

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.frameworks import jax, pytensor, tensorflow

__all__ = ["jax", "pytensor", "tensorflow", "ADAPTERS", "Setting", "State", "adapter", "installed"]

_SUBMODULES = ("jax", "pytensor", "tensorflow")


def __getattr__(name: str) -> ModuleType:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")  # the import binds it as an attribute
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
