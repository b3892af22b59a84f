"""The engine protocol: how an ensemble holds, runs and steps its K members.

:class:`~seedwise.ensemble.Ensemble` chooses its engine once, when it is built
(``vectorize=True``: :class:`~seedwise.ensemble._vectorized.VectorizedEngine`, the members'
tensors stacked, one optimiser; ``vectorize=False``:
:class:`~seedwise.ensemble._loop.LoopEngine`, K modules and K optimisers), and never looks
at the flag again. Everything that does not depend on how members are held stays in the
ensemble: argument checks, dropout keys, the step and epoch counters, the data order, the
file format. Both engines draw exactly the same randomness: member ``i``'s dropout masks
come from row ``i`` of the keys at the position given, whatever the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np
import torch
from torch import nn

__all__ = ["Engine", "MemberKeys", "LossFn", "MakeOptimizer", "Tensors", "OptimizerState"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: ``params -> optimiser`` with the ensemble's settings (one call per optimiser an engine needs)
MakeOptimizer = Callable[[list[torch.Tensor]], torch.optim.Optimizer]
Tensors = dict[str, torch.Tensor]
#: An optimiser's tensor state by parameter index, with the member dimension first
#: (a 0-d tensor, such as Adam's step count, is the same for every member), and its
#: parameter groups.
OptimizerState = tuple[dict[int, Tensors], list[dict[str, Any]]]


class MemberKeys(NamedTuple):
    """The K members' dropout keys, row ``i`` the key of ``seeds[i]["dropout"]``."""

    device: torch.Tensor  #: ``(K, 4)`` int32 on the ensemble's device (``vmap``'s batched input)
    host: np.ndarray  #: the same words as ``(K, 4)`` uint32 on the host (the mask kernels)


class Engine(Protocol):
    """What an ensemble asks of the way its members are held."""

    @property
    def params(self) -> Tensors:
        """The stacked parameters (leaves, member dimension first); empty for the loop."""
        ...

    @property
    def buffers(self) -> Tensors:
        """The stacked buffers; empty for the loop."""
        ...

    @property
    def optimizer(self) -> torch.optim.Optimizer | None:
        """The one optimiser of the stacked parameters; ``None`` for the loop."""
        ...

    def forward(
        self, x: torch.Tensor, *, train: bool, keys: MemberKeys | None, position: int, per_member: bool
    ) -> torch.Tensor:
        """The members' outputs ``(K, B, ...)``, differentiable."""
        ...

    def train_step(
        self, x: torch.Tensor, y: torch.Tensor, *, keys: MemberKeys | None, position: int, per_member: bool
    ) -> torch.Tensor:
        """One optimiser step of every member; the K losses."""
        ...

    def optimizers(self) -> list[torch.optim.Optimizer]:
        """Every optimiser (to set the learning rate)."""
        ...

    def state_tensors(self) -> tuple[Tensors, Tensors]:
        """``(params, buffers)`` stacked along the member dimension, detached copies."""
        ...

    def members(self) -> list[nn.Module]:
        """K independent ``nn.Module`` copies, in eval mode."""
        ...

    def optimizer_state(self) -> OptimizerState:
        """The optimiser state, stacked over members."""
        ...

    def load_tensor(self, kind: Literal["param", "buffer"], name: str, value: torch.Tensor, path: str) -> None:
        """Copy the stacked ``value`` into every member's parameter or buffer ``name``."""
        ...

    def load_optimizer_state(self, state: OptimizerState) -> None:
        """Restore what :meth:`optimizer_state` returned (parameter groups' ``params`` filled in)."""
        ...
