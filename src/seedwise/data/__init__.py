"""Seeded data order and a reproducible DataLoader.

* :class:`SeededSampler` -- the order of each epoch as a pure function of (stream, epoch),
  sharded by rank so that the ranks together see exactly the single-process order;
* :class:`DataLoader` -- torch's ``DataLoader`` arguments with that order, augmentation
  keyed by (epoch, sample index), seeded worker globals, the epoch and shard taken from
  whatever a trainer signals, and ``state_dict`` / ``load_state_dict`` that resume
  mid-epoch at the exact next sample, on any number of processes (:class:`ResumePoint`
  says where); with ``with_keys=True`` each batch comes with its :class:`SampleKeys`
  (epoch and sample indices), the position of per-sample randomness in the training step;
* ``GStreamerSource`` -- frames from a GStreamer pipeline (``seedwise.data.gstreamer``,
  loaded on first use; needs the ``gstreamer`` extra).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seedwise.data import _stream  # noqa: F401  # registers the loader of streams with DataLoader
from seedwise.data._batches import SampleKeys
from seedwise.data._resume import ResumePoint
from seedwise.data.loader import DataLoader
from seedwise.data.order import epoch_batches, epoch_order
from seedwise.data.sampler import SeededSampler

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.data.gstreamer import GStreamerSource

__all__ = [
    "DataLoader",
    "SeededSampler",
    "ResumePoint",
    "SampleKeys",
    "GStreamerSource",
    "epoch_order",
    "epoch_batches",
]

#: Names loaded on first use, and the module that defines each.
_LAZY = {"GStreamerSource": "seedwise.data.gstreamer"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seedwise.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
