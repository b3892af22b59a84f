"""Multi-seed studies: vary each source of randomness, store every run, measure what each source does.

``Study(train, name=..., sources=..., design=..., n_seeds=8, store="runs.sqlite")`` then
``study.run(workers=2)`` (or ``backend="ray"``) returns :class:`Results`. ``train`` is a
function, or a command line (``["python", "train.py", "--seed", "{seed}"]``) run once per
run in its own process; inside it, ``Seeds.from_env()`` gives the run's seeds and
:func:`report` records metrics. See docs/study.md.

Modules: :mod:`~seedwise.study.design` (which runs, which seeds),
:mod:`~seedwise.study.store` (SQLite), :mod:`~seedwise.study.spec` (where a training
function lives), :mod:`~seedwise.study.reporter` (what a run reports),
:mod:`~seedwise.study.worker` (how a worker runs one cell), :mod:`~seedwise.study.runner`
(local processes / Ray), :mod:`~seedwise.study.command` (command runs: placeholders),
:mod:`~seedwise.study.launch` (a command as a process), :mod:`~seedwise.study.collect`
(its metrics), :mod:`~seedwise.study.results` (tables and statistics).
"""

from __future__ import annotations

from seedwise.study.api import Study
from seedwise.study.command import Command, command_seed, source_seed
from seedwise.study.design import DESIGNS, SOURCES, Cell, Design
from seedwise.study.reporter import report
from seedwise.study.results import Results, VarianceReport, load_results
from seedwise.study.store import Store

__all__ = [
    "DESIGNS", "SOURCES", "Cell", "Command", "Design", "Results", "Store", "Study", "VarianceReport",
    "command_seed", "load_results", "report", "source_seed",
]  # fmt: skip
