"""Report every environment variable a block changed: seedwise's own settings, or an import's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from seedwise.process.adapters import Adapter
from seedwise.process.settings import Setting

__all__ = ["reporting_environment"]


@contextmanager
def reporting_environment(module: Adapter, settings: list[Setting]) -> Iterator[None]:
    """Inside the block, ``module`` adds its settings to ``settings``; on exit, add one more
    :class:`Setting` for each environment variable the block changed that they do not name.

    Importing a framework changes the environment (TensorFlow sets ``TF2_BEHAVIOR``,
    ``KMP_DUPLICATE_LIB_OK``, ``LD_LIBRARY_PATH``...); a report that lists what seedwise did
    lists those too, with their cause.
    """
    before = dict(os.environ)
    was_imported = module.imported()
    yield
    if not was_imported and module.imported():
        cause = f"set by importing {module.NAME}, which seedwise did because frameworks= names it"
    else:
        cause = f"changed while seedwise set up {module.NAME}"
    named = {s.name for s in settings}
    for var in sorted(set(before) | set(os.environ)):
        old, new = before.get(var), os.environ.get(var)
        if old == new or var in named:
            continue
        was = "unset" if old is None else repr(old)
        settings.append(Setting(module.NAME, var, "(unset)" if new is None else new, note=f"{cause}; was {was}"))
