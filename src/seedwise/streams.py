"""The seed contract's vocabulary: the well-known stream names, stated once.

A training run reads each source of randomness from its own child stream of one root
:class:`~seedwise.Seeds`: ``seeds[INIT]`` for the initial weights, ``seeds[DATA_ORDER]``
for the order of the samples, ``seeds[AUGMENT]`` for augmentation, ``seeds[DROPOUT]``
for dropout masks. seedwise's loaders, studies, ensembles and integrations all read the
same names, so a study that varies ``"init"`` changes exactly what ``seeds["init"]``
feeds. The names are plain strings: ``seeds["init"]`` and ``seeds[streams.INIT]`` are the
same stream, and a user may add any other name (``seeds["split"]``) for a source of
their own.
"""

from __future__ import annotations

__all__ = ["INIT", "DATA_ORDER", "AUGMENT", "DROPOUT", "SPLIT", "DEFAULT_SOURCES", "WELL_KNOWN"]

#: The initial weights (``sw.init.initialize``, ``Ensemble``).
INIT = "init"
#: The order in which samples are visited (``sw.data.DataLoader``, ``SeededSampler``).
DATA_ORDER = "data_order"
#: Augmentation parameters (``sw.augment``; the loader's ``augment=``).
AUGMENT = "augment"
#: Dropout masks (``sw.keyed``, keyed dropout, MC dropout).
DROPOUT = "dropout"
#: How a dataset is split into train / validation / test.
SPLIT = "split"

#: The sources a study varies when it is not told otherwise, in the order reports list them.
DEFAULT_SOURCES: tuple[str, ...] = (INIT, DATA_ORDER, AUGMENT, DROPOUT)
#: Every name above.
WELL_KNOWN: tuple[str, ...] = (INIT, DATA_ORDER, AUGMENT, DROPOUT, SPLIT)
