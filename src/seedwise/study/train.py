"""Deprecated: ``seedwise.study.train`` split into :mod:`~seedwise.study.spec` (``TrainSpec``),
:mod:`~seedwise.study.reporter` (``Reporter``) and :mod:`~seedwise.study.worker` (``execute``).

Kept for one release; import from the new modules.
"""

from __future__ import annotations

import warnings

from seedwise.study.reporter import Reporter, check_metrics, takes_report
from seedwise.study.spec import TrainSpec
from seedwise.study.worker import execute, worker_fingerprint

__all__ = ["TrainSpec", "execute", "Reporter", "check_metrics", "takes_report", "worker_fingerprint"]

warnings.warn(
    "seedwise.study.train is deprecated: import TrainSpec from seedwise.study.spec, Reporter from "
    "seedwise.study.reporter and execute from seedwise.study.worker",
    DeprecationWarning,
    stacklevel=2,
)
