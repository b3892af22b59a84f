"""The members' optimiser: a named torch optimiser (fused where torch has the kernels) or the user's own."""

from __future__ import annotations

from collections.abc import Callable

import torch

from seedwise._validate import check_choice
from seedwise.errors import InvalidTypeError

__all__ = ["OPTIMIZERS", "OptimizerSpec", "make_optimizer"]

#: The optimisers :func:`make_optimizer` builds by name.
OPTIMIZERS = ("adam", "sgd")

#: A name from :data:`OPTIMIZERS`, or a callable ``params -> torch.optim.Optimizer``.
OptimizerSpec = str | Callable[[list[torch.Tensor]], torch.optim.Optimizer]


def make_optimizer(
    spec: OptimizerSpec, params: list[torch.Tensor], *, lr: float, weight_decay: float = 0.0, momentum: float = 0.0
) -> torch.optim.Optimizer:
    """``"adam"`` -> ``torch.optim.Adam``, ``"sgd"`` -> ``torch.optim.SGD`` (fused kernels where
    torch has them), or ``spec(params)``."""
    if callable(spec):
        opt = spec(params)
        if not isinstance(opt, torch.optim.Optimizer):
            got = type(opt).__name__
            raise InvalidTypeError(
                f"optimizer must return a torch.optim.Optimizer when called with the parameters, got {got}"
            )
        return opt
    check_choice("optimizer", spec, OPTIMIZERS)
    fused = _fusable(params)
    if spec == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fused)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, fused=fused)


def _fusable(params: list[torch.Tensor]) -> bool | None:
    """``True`` when torch's fused (one kernel per tensor) Adam/SGD applies to ``params``.

    The fused kernels compute the same per-element update as the default implementation
    (to float rounding) in one pass per tensor instead of about ten elementwise kernels;
    for an ensemble's few large stacked tensors that is most of the optimiser's cost.
    ``None`` (torch's default choice) for other devices and dtypes.
    """
    ok = bool(params) and all(
        p.device.type in ("cpu", "cuda") and p.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64)
        for p in params
    )
    return True if ok else None
