"""The loop engine: K ordinary modules and K optimisers, run one after the other.

For optimisers that couple elements (LBFGS, gradient-norm clipping, LAMB/LARS trust
ratios), which the vectorised engine cannot run per member. It draws exactly the same
randomness as the vectorised engine (member ``i``'s dropout from row ``i`` of the keys at
the same position) and after training matches it to float rounding (the batched matrix
products sum in a different order).
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from torch import nn

from seedwise.ensemble._engine import LossFn, MakeOptimizer, MemberKeys, OptimizerState, Tensors
from seedwise.ensemble._functional import stack_members
from seedwise.errors import StateFileError
from seedwise.stateless.dropout import KeyedDropoutMode

__all__ = ["LoopEngine"]


class LoopEngine:
    """K modules, K optimisers: ``make_optimizer(member parameters)`` for each member."""

    def __init__(
        self,
        members: list[nn.Module],
        *,
        make_optimizer: MakeOptimizer,
        loss_fn: LossFn,
    ) -> None:
        self.k = len(members)
        self._members = members
        self._optimizers = [make_optimizer(list(m.parameters())) for m in members]
        self._loss_fn = loss_fn
        self.params: Tensors = {}
        self.buffers: Tensors = {}
        self.optimizer: None = None

    def _run(
        self, i: int, x: torch.Tensor, *, keys: MemberKeys | None, position: int, per_member: bool
    ) -> torch.Tensor:
        """Member ``i``'s output, its dropout keyed by row ``i`` at ``position``."""
        with KeyedDropoutMode(None if keys is None else keys.host[i], position):
            out: torch.Tensor = self._members[i](x[i] if per_member else x)
        return out

    def forward(
        self, x: torch.Tensor, *, train: bool, keys: MemberKeys | None, position: int, per_member: bool
    ) -> torch.Tensor:
        outs = []
        for i, member in enumerate(self._members):
            member.train(train)
            outs.append(self._run(i, x, keys=keys, position=position, per_member=per_member))
        return torch.stack(outs)

    def train_step(
        self, x: torch.Tensor, y: torch.Tensor, *, keys: MemberKeys | None, position: int, per_member: bool
    ) -> torch.Tensor:
        losses = []
        for i, (member, opt) in enumerate(zip(self._members, self._optimizers)):
            member.train(True)
            out = self._run(i, x, keys=keys, position=position, per_member=per_member)
            loss = self._loss_fn(out, y[i] if per_member else y)
            opt.zero_grad(set_to_none=True)
            torch.autograd.backward(loss)
            opt.step()
            losses.append(loss)
        return torch.stack(losses)

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return list(self._optimizers)

    # -- export ---------------------------------------------------------------------

    def state_tensors(self) -> tuple[Tensors, Tensors]:
        params, buffers = stack_members(self._members)
        return {n: t.detach() for n, t in params.items()}, {n: t.detach() for n, t in buffers.items()}

    def members(self) -> list[nn.Module]:
        return [copy.deepcopy(m).eval() for m in self._members]

    # -- persistence ----------------------------------------------------------------

    def optimizer_state(self) -> OptimizerState:
        sds = [opt.state_dict() for opt in self._optimizers]
        state: dict[int, Tensors] = {}
        for idx, values in sds[0]["state"].items():
            state[idx] = {
                key: value.detach().clone() if value.dim() == 0 else torch.stack([sd["state"][idx][key] for sd in sds])
                for key, value in values.items()
                if isinstance(value, torch.Tensor)
            }
        return state, sds[0]["param_groups"]

    def load_tensor(self, kind: Literal["param", "buffer"], name: str, value: torch.Tensor, path: str) -> None:
        for i, m in enumerate(self._members):
            dest = m.get_parameter(name) if kind == "param" else m.get_buffer(name)
            if (self.k,) + tuple(dest.shape) != tuple(value.shape):
                raise StateFileError(f"{path!r}: {kind} {name!r} has shape {tuple(value.shape)}")
            dest.copy_(value[i])

    def load_optimizer_state(self, state: OptimizerState) -> None:
        tensors, groups = state
        for i, opt in enumerate(self._optimizers):
            member_state = {
                idx: {k: (v if v.dim() == 0 else v[i]).clone() for k, v in st.items()} for idx, st in tensors.items()
            }
            opt.load_state_dict({"state": member_state, "param_groups": copy.deepcopy(groups)})
