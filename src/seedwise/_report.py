"""Old path of :mod:`seedwise.process.settings`; it re-exports :class:`SettingsReport`. Import from there."""

from seedwise._deprecated import moved
from seedwise.process.settings import SettingsReport

__all__ = ["SettingsReport"]

moved("seedwise._report", "seedwise.process.settings")
