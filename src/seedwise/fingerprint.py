"""Old path of :mod:`seedwise.process.fingerprint`; it re-exports the same names and warns (DeprecationWarning). Import from there.

``seedwise.fingerprint`` is also the name of the public function: importing this module
makes Python bind the package attribute ``seedwise.fingerprint`` to the module, so the
module is callable too, and ``sw.fingerprint()`` keeps working after such an import.
"""

import sys
import types
from typing import Any

from seedwise._deprecated import moved
from seedwise.process.fingerprint import NUMERIC_ENV_VARS, fingerprint

__all__ = ["fingerprint", "NUMERIC_ENV_VARS"]


class _CallableModule(types.ModuleType):
    def __call__(self, *, import_frameworks: bool = True) -> dict[str, Any]:
        return fingerprint(import_frameworks=import_frameworks)


sys.modules[__name__].__class__ = _CallableModule
moved("seedwise.fingerprint", "seedwise.process.fingerprint (or use sw.fingerprint)")
