"""Import ``rich`` without changing Python's global ``random`` state.

``rich.style`` draws 24 bits from Python's global ``random`` when it is first imported (to
number its style bits), so the first progress bar or table seedwise shows would move the
user's global RNG (docs/reproducibility.md, guarantee 5). :func:`import_rich` imports it
once with the state saved and restored; every later ``import rich...`` finds it loaded.
"""

from __future__ import annotations

import sys

__all__ = ["import_rich"]


def import_rich() -> None:
    """Load ``rich.style`` (and so ``rich``) leaving ``random``'s global state as it was."""
    if "rich.style" in sys.modules:
        return
    import random

    state = random.getstate()  # read and restored, never drawn from
    try:
        import rich.style  # noqa: F401
    finally:
        random.setstate(state)  # global-rng-ok: undoes rich's import-time draw
