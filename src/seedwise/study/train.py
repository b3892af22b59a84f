"""Deprecated: ``seedwise.study.train`` split into :mod:`~seedwise.study.spec` (``TrainSpec``),
:mod:`~seedwise.study.reporter` (``Reporter``) and :mod:`~seedwise.study.worker` (``execute``).

Kept for one release; import from the new modules.
"""

from __future__ import annotations

from seedwise._deprecated import moved
from seedwise.study.reporter import Reporter, check_metrics, takes_report
from seedwise.study.spec import TrainSpec
from seedwise.study.worker import execute, worker_fingerprint

__all__ = ["TrainSpec", "execute", "Reporter", "check_metrics", "takes_report", "worker_fingerprint"]

moved(
    "seedwise.study.train",
    "seedwise.study.spec (TrainSpec), seedwise.study.reporter (Reporter) and seedwise.study.worker (execute)",
)
