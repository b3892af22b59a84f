"""Multi-seed studies: vary each source of randomness, store every run, measure what each source does.

``Study(train, name=..., sources=..., design=..., n_seeds=8, store="runs.sqlite")`` then
``study.run(workers=2)`` (or ``backend="ray"``) returns :class:`Results`. See
docs/study.md.

Modules: :mod:`~seedwise.study.design` (which runs, which seeds),
:mod:`~seedwise.study.store` (SQLite), :mod:`~seedwise.study.spec` (where a training
function lives), :mod:`~seedwise.study.reporter` (what a run reports),
:mod:`~seedwise.study.worker` (how a worker runs one cell), :mod:`~seedwise.study.runner`
(local processes / Ray),
:mod:`~seedwise.study.results` (tables and statistics).
"""

from __future__ import annotations

from seedwise.study.api import Study
from seedwise.study.design import DESIGNS, SOURCES, Cell, Design
from seedwise.study.results import Results, VarianceReport, load_results
from seedwise.study.store import Store

__all__ = ["DESIGNS", "SOURCES", "Cell", "Design", "Results", "Store", "Study", "VarianceReport", "load_results"]
