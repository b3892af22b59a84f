"""Statistics for multi-seed studies: summaries, comparisons, variance and seeds needed.

Every function that resamples takes its :class:`~seedwise.Seeds` explicitly (keyword
``seeds=``, required) and draws only from it: same seeds, same numbers; no global RNG
is read or advanced. Results are frozen dataclasses with ``to_dict()`` (JSON-ready),
``table()`` (a rich table; ``rich.print(result)`` works) and a one-line ``repr``.
See docs/stats.md for the methods and their references.
"""

from __future__ import annotations

from seedwise.stats.describe import Description, describe
from seedwise.stats.intervals import Interval, bootstrap_ci, iqm, t_interval, variance_interval

__all__ = [
    "Description",
    "Interval",
    "bootstrap_ci",
    "describe",
    "iqm",
    "t_interval",
    "variance_interval",
]
