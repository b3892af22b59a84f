"""Old import paths kept for one release: each warns once, naming the new path."""

from __future__ import annotations

import warnings

__all__ = ["moved", "REMOVED_IN"]

#: The release that removes the old paths.
REMOVED_IN = "0.3"


def moved(old: str, new: str) -> None:
    """Warn that module ``old`` moved to ``new`` (called at the old module's import)."""
    warnings.warn(
        f"{old} is deprecated and will be removed in seedwise {REMOVED_IN}: import from {new}",
        DeprecationWarning,
        stacklevel=3,
    )
