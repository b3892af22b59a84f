"""Old home of the adapter records and dependency helpers; re-exports them. Import from
:mod:`seedwise.process.settings` (``Setting``, ``State``) and ``seedwise._optional``."""

from seedwise._deprecated import moved
from seedwise._optional import distribution_version, module_available, require
from seedwise.process.settings import Setting, State

__all__ = ["Setting", "State", "module_available", "distribution_version", "require"]

moved("seedwise.frameworks._base", "seedwise.process.settings and seedwise._optional")
