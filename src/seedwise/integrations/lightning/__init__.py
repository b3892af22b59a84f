"""seedwise inside Lightning (extra ``lightning``): a callback and a DataModule.

* :class:`SeedwiseCallback` -- sets the loaders' epoch, checks their shards against the
  trainer's rank and world size, keys the global RNGs (dropout) per (global step, rank),
  logs the run's seeds tree, ``seed_everything`` report and fingerprint as logger
  hyperparameters, and checks a resumed epoch's batch count;
* :class:`SeedwiseDataModule` -- seedwise loaders for the splits you give it, with the
  trainer's rank and world size and, optionally, a global batch size.

See docs/integrations.md. Lightning 2 (the ``lightning`` package, ``import lightning as L``).
"""

from __future__ import annotations

from seedwise.errors import MissingDependencyError

try:
    import lightning.pytorch  # noqa: F401
except ModuleNotFoundError as exc:  # pragma: no cover - the extra is installed where the tests run
    if (exc.name or "").split(".")[0] != "lightning":
        raise
    raise MissingDependencyError("lightning", "lightning", "seedwise.integrations.lightning") from None

from seedwise.integrations.lightning.callback import SeedwiseCallback
from seedwise.integrations.lightning.datamodule import SeedwiseDataModule

__all__ = ["SeedwiseCallback", "SeedwiseDataModule"]
