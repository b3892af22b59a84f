"""The vectorised engine: the K members' tensors stacked, run at once, stepped by one optimiser.

The members' parameters are stacked with ``torch.func.stack_module_state`` into tensors
with a leading member dimension. A plain ``nn.Sequential`` of ``Linear``/``Conv`` layers,
batch norm, pooling, elementwise activations and dropout runs on them directly
(:class:`~seedwise.ensemble._stacked.StackedSequential`: one batched matrix product or one
grouped convolution per layer); every other model, and an input that plan cannot take,
runs through ``vmap(functional_call(...))`` over the stacked tensors. Both run dropout
under :class:`~seedwise.stateless.dropout.KeyedDropoutMode` with the members' keys: the same
masks as the loop.

A training step sums the K member losses (the members do not interact, so each member's
gradient is that of its own loss) and steps one ``torch.optim`` optimiser over the stacked
tensors. Adam, AdamW and SGD update each element from its own gradient and state, so this
is exactly per-member Adam/SGD computed K at a time.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import vmap

from seedwise.ensemble._engine import LossFn, MakeOptimizer, MemberKeys, OptimizerState, Tensors
from seedwise.ensemble._functional import stack_members, vmapped_forward
from seedwise.ensemble._members import retie
from seedwise.ensemble._stacked import StackedSequential
from seedwise.errors import StateFileError

__all__ = ["VectorizedEngine"]


class VectorizedEngine:
    """Stacked parameters and buffers, one optimiser; the direct stacked forward or ``vmap``.

    Args:
        members: the K initialised members (stacked here; not used afterwards).
        base: their structure on the meta device (:func:`~seedwise.ensemble._members.meta_base`);
            its ``training`` flag is set by each forward.
        ties: groups of tied parameter names, re-tied in exported members.
        device: where the members live.
        make_optimizer: builds the optimiser of the stacked parameters
            (:func:`~seedwise.ensemble.make_optimizer` with the ensemble's settings).
        loss_fn: ``(outputs (B, C), y (B,)) -> scalar`` for one member.
    """

    def __init__(
        self,
        members: list[nn.Module],
        *,
        base: nn.Module,
        ties: list[list[str]],
        device: torch.device,
        make_optimizer: MakeOptimizer,
        loss_fn: LossFn,
    ) -> None:
        self.k = len(members)
        self._base, self._ties, self._device, self._loss_fn = base, ties, device, loss_fn
        #: the direct stacked forward for plain Sequential networks (None: vmap runs the model)
        self.stacked = StackedSequential.build(base)
        self.params, self.buffers = stack_members(members)
        self.optimizer = make_optimizer(list(self.params.values()))

    # -- running --------------------------------------------------------------------

    def forward(
        self, x: torch.Tensor, *, train: bool, keys: MemberKeys | None, position: int, per_member: bool
    ) -> torch.Tensor:
        self._base.train(train)
        member_shape = tuple(x.shape[1:] if per_member else x.shape)
        if self.stacked is not None and self.stacked.supports(member_shape, train):
            host = None if keys is None else keys.host
            return self.stacked(
                self.params, self.buffers, x, k=self.k, per_member=per_member, keys=host, position=position
            )
        device_keys = None if keys is None else keys.device
        return vmapped_forward(
            self._base, self.params, self.buffers, x, keys=device_keys, position=position, per_member=per_member
        )

    def train_step(
        self, x: torch.Tensor, y: torch.Tensor, *, keys: MemberKeys | None, position: int, per_member: bool
    ) -> torch.Tensor:
        outputs = self.forward(x, train=True, keys=keys, position=position, per_member=per_member)
        losses = self._member_losses(outputs, y, per_member)
        self.optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(losses.sum())
        self.optimizer.step()
        return losses

    def _member_losses(self, outputs: torch.Tensor, y: torch.Tensor, per_member: bool) -> torch.Tensor:
        loss_fn = self._loss_fn
        hard_labels = not y.is_floating_point() and y.dim() == (2 if per_member else 1)
        if loss_fn is F.cross_entropy and outputs.dim() == 3 and hard_labels:
            # one flat cross-entropy over all members (vmap would run nll_loss's Python decomposition)
            k, b = outputs.shape[:2]
            targets = (y if per_member else y.expand(k, b)).reshape(k * b)
            return F.cross_entropy(outputs.reshape(k * b, -1), targets, reduction="none").view(k, b).mean(dim=1)
        losses: torch.Tensor = vmap(loss_fn, in_dims=(0, 0 if per_member else None))(outputs, y)
        return losses

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.optimizer]

    # -- export ---------------------------------------------------------------------

    def state_tensors(self) -> tuple[Tensors, Tensors]:
        return (
            {n: t.detach().clone() for n, t in self.params.items()},
            {n: t.detach().clone() for n, t in self.buffers.items()},
        )

    def members(self) -> list[nn.Module]:
        out = []
        for i in range(self.k):
            member = retie(copy.deepcopy(self._base).to_empty(device=self._device), self._ties)
            with torch.no_grad():
                for name, param in member.named_parameters():
                    param.copy_(self.params[name][i])
                for name, buffer in member.named_buffers():
                    buffer.copy_(self.buffers[name][i])
            out.append(member.eval())
        return out

    # -- persistence ----------------------------------------------------------------

    def optimizer_state(self) -> OptimizerState:
        sd = self.optimizer.state_dict()
        state = {
            idx: {key: value.detach().clone() for key, value in values.items() if isinstance(value, torch.Tensor)}
            for idx, values in sd["state"].items()
        }
        return state, sd["param_groups"]

    def load_tensor(self, kind: Literal["param", "buffer"], name: str, value: torch.Tensor, path: str) -> None:
        dest = (self.params if kind == "param" else self.buffers)[name]
        if dest.shape != value.shape:
            raise StateFileError(
                f"{path!r}: {kind} {name!r} has shape {tuple(value.shape)}, expected {tuple(dest.shape)}"
            )
        dest.copy_(value)

    def load_optimizer_state(self, state: OptimizerState) -> None:
        tensors, groups = state
        self.optimizer.load_state_dict({"state": tensors, "param_groups": groups})
