"""Old path of :mod:`seedwise.process.settings`; it re-exports :class:`SettingsReport`. Import from there."""

from seedwise.process.settings import SettingsReport

__all__ = ["SettingsReport"]
