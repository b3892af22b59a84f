"""seedwise: named, seeded, reproducible, measurable and reducible randomness for deep learning.

Importing seedwise changes no global state and imports no framework: submodules
(``seedwise.augment``, ``seedwise.study`` ...) and the heavy names load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seedwise._version import __version__
from seedwise.errors import (
    InvalidArgumentError,
    InvalidTypeError,
    MissingDependencyError,
    SeedwiseError,
    StateFileError,
    StoreError,
)
from seedwise.seeds import Seeds, as_seeds

if TYPE_CHECKING:  # pragma: no cover
    from seedwise import (
        audit,
        augment,
        bayes,
        data,
        ensemble,
        frameworks,
        init,
        metrics,
        report,
        stateless,
        stats,
        study,
    )
    from seedwise.process import determinism
    from seedwise.process.determinism import DeterminismReport, deterministic
    from seedwise.process.fingerprint import fingerprint
    from seedwise.process.seeding import SeedReport, keyed, seed_everything
    from seedwise.process.state import RNGState
    from seedwise.study import Results, Study

_SUBMODULES = {
    "audit",
    "augment",
    "bayes",
    "data",
    "determinism",
    "ensemble",
    "frameworks",
    "init",
    "metrics",
    "report",
    "stateless",
    "stats",
    "study",
}
# Public submodules whose code lives elsewhere now (their old module paths re-export it).
_MOVED = {"determinism": "seedwise.process.determinism"}
_NAMES = {
    "seed_everything": "seedwise.process.seeding",
    "keyed": "seedwise.process.seeding",
    "SeedReport": "seedwise.process.seeding",
    "deterministic": "seedwise.process.determinism",
    "DeterminismReport": "seedwise.process.determinism",
    "RNGState": "seedwise.process.state",
    "fingerprint": "seedwise.process.fingerprint",
    "Study": "seedwise.study",
    "Results": "seedwise.study",
}

__all__ = [
    "__version__",
    # core
    "Seeds",
    "as_seeds",
    "SeedwiseError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "MissingDependencyError",
    "StateFileError",
    "StoreError",
    # process state
    "seed_everything",
    "keyed",
    "SeedReport",
    "deterministic",
    "DeterminismReport",
    "RNGState",
    "fingerprint",
    # studies
    "Study",
    "Results",
    # submodules
    "audit",
    "augment",
    "bayes",
    "data",
    "determinism",
    "ensemble",
    "frameworks",
    "init",
    "metrics",
    "report",
    "stateless",
    "stats",
    "study",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(_MOVED.get(name, f"seedwise.{name}"))
        globals()[name] = module
        return module
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seedwise' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
