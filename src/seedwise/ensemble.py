"""Deep ensembles trained all at once: K members in one vectorised forward and backward.

A deep ensemble (Lakshminarayanan et al. 2017) trains K copies of a network from
different random initialisations (and data orders, and dropout masks) and averages their
predictions; it is the strongest simple way to turn seed-to-seed variance into better,
calibrated predictions. :class:`Ensemble` makes every member's randomness explicit:

* **Initialisation.** Member ``i`` is built by ``make_model()`` and re-initialised by
  :func:`seedwise.init.initialize` from ``seeds[i]`` (``== seeds.spawn(k)[i]``), each
  parameter from ``seeds[i][parameter_name]``. Member ``i`` is therefore bit-identical
  whatever ``k`` is: member 3 of an 8-member ensemble is member 3 of a 16-member one.
  ``make_model()`` runs with the global torch RNG saved and restored, so building an
  ensemble leaves the global RNGs as they were.
* **Data order.** :meth:`Ensemble.fit` gives member ``i`` the order
  ``seedwise.stateless.permutation(seeds[i]["data_order"], epoch, n)`` (of the ``seeds``
  given to ``fit``): a pure function of (stream, epoch), so a resumed fit sees the same
  batches.
* **Dropout.** Member ``i``'s dropout masks at training step ``s`` are keyed by
  ``(seeds[i]["dropout"], s, call index)`` through
  :class:`seedwise.bayes.dropout.KeyedDropoutMode`: computed by a counter-based hash
  from the member's key, which enters ``vmap`` as a batched input. ``vmap`` runs with
  ``randomness="error"``: torch's own ``randomness="different"`` would draw every mask
  from the global RNG (so member ``i``'s masks would depend on ``k``), and any other random
  op in the model raises instead of silently breaking reproducibility.

**Vectorised training** (``vectorize=True``) stacks the members' parameters with
``torch.func.stack_module_state`` into tensors with a leading member dimension, runs
``vmap(functional_call(...))`` over them, sums the K member losses (the members do not
interact, so each member's gradient is that of its own loss) and steps one
``torch.optim`` optimiser (the fused kernels) over the stacked tensors. A plain
``nn.Sequential`` of ``Linear``/``Conv`` layers, batch norm, pooling, elementwise
activations and dropout skips the ``vmap`` machinery and runs on the stacked tensors
directly (:class:`seedwise._stacked.StackedSequential`: one batched matrix product or one
grouped convolution per layer, the same dropout masks), which saves a quarter or more of
a step on a CPU; every other model runs through ``vmap``. Adam, AdamW and SGD (with momentum
and weight decay) update each element from its own gradient and state only, so this is
exactly per-member Adam/SGD -- same step count, same bias correction -- computed K at a
time. Optimisers that couple elements (LBFGS, gradient-norm clipping, LAMB/LARS trust
ratios) are **not** per-member when given as a callable; use ``vectorize=False`` for them.

The **loop fallback** (``vectorize=False``) keeps K ordinary modules with K optimisers and
draws exactly the same per-member randomness; after training it matches the vectorised
ensemble to float rounding (the batched matrix products sum in a different order).

Nothing here reads or advances a global RNG, and nothing read back is unpickled:
:meth:`Ensemble.save` writes safetensors with JSON metadata.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from seedwise import stateless
from seedwise._stacked import StackedSequential
from seedwise._validate import check_choice, check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError, StateFileError
from seedwise.seeds import SeedLike, Seeds, as_seeds
from seedwise.stateless.dropout import KeyedDropoutMode, key_words
from seedwise.streams import DATA_ORDER, DROPOUT

__all__ = [
    "Ensemble",
    "COMBINE",
    "OPTIMIZERS",
    "stack_members",
    "member_keys",
    "vmapped_forward",
    "make_optimizer",
    "combine_outputs",
]

COMBINE = ("mean_prob", "mean_logit", "vote")
OPTIMIZERS = ("adam", "sgd")
_FORMAT = 1

OptimizerSpec = Union[str, Callable[[list], torch.optim.Optimizer]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# -- functional pieces ------------------------------------------------------------------


def stack_members(members: Sequence[nn.Module]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(params, buffers)``: each member tensor stacked along a new leading member dimension.

    The stacked parameters are leaf tensors that require grad (``torch.func.stack_module_state``).
    """
    if not members:
        raise InvalidArgumentError("stack_members needs at least one member")
    return stack_module_state(list(members))


def member_keys(seeds: SeedLike, k: int, *, stream: str = DROPOUT, device: Any = "cpu") -> torch.Tensor:
    """``(k, 4)`` int32 dropout keys: row ``i`` is the key of ``seeds[i][stream]``."""
    root = as_seeds(seeds)
    return torch.stack([key_words(root[i][stream], device=device) for i in range(check_int("k", k, low=1))])


def vmapped_forward(
    base: nn.Module,
    params: Mapping[str, torch.Tensor],
    buffers: Mapping[str, torch.Tensor],
    x: torch.Tensor,
    *,
    keys: torch.Tensor | None = None,
    position: int = 0,
    per_member: bool = False,
) -> torch.Tensor:
    """All members' outputs ``(K, B, ...)`` in one vectorised call.

    Args:
        base: a module with the members' structure (any device, e.g. ``"meta"``); its
            ``training`` flag decides whether dropout is on.
        params, buffers: stacked tensors (:func:`stack_members`).
        x: ``(B, ...)`` shared by all members, or ``(K, B, ...)`` with ``per_member=True``.
        keys: ``(K, 4)`` dropout keys (:func:`member_keys`); required when ``base`` is in
            training mode and has dropout.
        position: the dropout position (the training step).
    """

    if keys is not None and (not isinstance(keys, torch.Tensor) or keys.dtype != torch.int32 or keys.dim() != 2
                             or keys.shape[1] != 4):  # fmt: skip
        got = f"{keys.dtype} {tuple(keys.shape)}" if isinstance(keys, torch.Tensor) else type(keys).__name__
        raise InvalidArgumentError(f"keys must be the (K, 4) int32 tensor of member_keys(seeds, K), got {got}")
    host = None if keys is None else keys.detach().cpu().contiguous().numpy().view(np.uint32)
    members = None if keys is None else torch.arange(host.shape[0], device=x.device)  # type: ignore[union-attr]

    def one(p: dict, b: dict, member: torch.Tensor | None, xb: torch.Tensor) -> torch.Tensor:
        with KeyedDropoutMode(host, position, member=member):
            return functional_call(base, (p, b), (xb,))

    in_dims = (0, 0, None if keys is None else 0, 0 if per_member else None)
    return vmap(one, in_dims=in_dims, randomness="error")(dict(params), dict(buffers), members, x)


def make_optimizer(
    spec: OptimizerSpec, params: list[torch.Tensor], *, lr: float, weight_decay: float = 0.0, momentum: float = 0.0
) -> torch.optim.Optimizer:
    """``"adam"`` -> ``torch.optim.Adam``, ``"sgd"`` -> ``torch.optim.SGD`` (fused kernels where
    torch has them), or ``spec(params)``."""
    if callable(spec):
        opt = spec(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise InvalidTypeError(
                f"optimizer must return a torch.optim.Optimizer when called with the parameters, got {type(opt).__name__}"
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


def combine_outputs(outputs: torch.Tensor, combine: str = "mean_prob") -> torch.Tensor:
    """Combine member logits ``(K, B, C)`` into one predictive distribution ``(B, C)``.

    * ``"mean_prob"``: the mean of the members' softmax probabilities (the deep-ensemble rule);
    * ``"mean_logit"``: the softmax of the mean logit (a geometric mean of the members'
      distributions, renormalised; sharper than ``mean_prob``);
    * ``"vote"``: the fraction of members whose top class is each class (majority vote as a
      distribution; its NLL is poor, since a class no member votes for gets probability 0).
    """
    check_choice("combine", combine, COMBINE)
    if outputs.dim() < 3:
        raise InvalidArgumentError(f"outputs must have shape (K, B, C), got {tuple(outputs.shape)}")
    if combine == "mean_prob":
        return outputs.softmax(dim=-1).mean(dim=0)
    if combine == "mean_logit":
        return outputs.mean(dim=0).softmax(dim=-1)
    votes = F.one_hot(outputs.argmax(dim=-1), outputs.shape[-1]).to(outputs.dtype)
    return votes.mean(dim=0)


# -- validation helpers -----------------------------------------------------------------


def _check_real(name: str, value: object, *, low: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise InvalidTypeError(f"{name} must be a float, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < low or (strict and value == low):
        raise InvalidArgumentError(f"{name} must be a finite float {'>' if strict else '>='} {low}, got {value}")
    return value


def _check_tensor(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise InvalidTypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def _resolve_loss(loss: str | LossFn) -> LossFn:
    if callable(loss):
        return loss
    check_choice("loss", loss, ("cross_entropy",))
    return F.cross_entropy


def _tied_names(model: nn.Module) -> list[list[str]]:
    """Groups of parameter names that share one tensor (weights tied between modules)."""
    groups: dict[int, list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(p), []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def _retie(model: nn.Module, ties: list[list[str]]) -> nn.Module:
    """Restore tied parameters after ``.to("meta")`` / ``.to_empty()``, which give each module its own."""
    for first, *others in ties:
        shared = model.get_parameter(first)
        for name in others:
            owner, _, attr = name.rpartition(".")
            setattr(model.get_submodule(owner), attr, shared)
    return model


# -- the ensemble -----------------------------------------------------------------------


class Ensemble:
    """K independently seeded members of one architecture, trained and evaluated together.

    Args:
        make_model: builds one member (``() -> nn.Module``), a classifier mapping
            ``(B, ...)`` to ``(B, C)`` logits. Its own (global-RNG) initialisation is
            discarded: member ``i`` is re-initialised from ``seeds[i]``.
        k: the number of members.
        seeds: the initialisation stream (required), e.g. ``root["init"]``.
        optimizer: ``"adam"`` (default), ``"sgd"``, or a callable ``params -> Optimizer``
            that must update elementwise (see the module docstring).
        lr, weight_decay, momentum: for the named optimisers (``momentum`` for SGD only).
        vectorize: train with ``torch.func.vmap`` (default) or a Python loop over members.
        combine: how :meth:`predict_proba` combines members (:func:`combine_outputs`).
        loss: ``"cross_entropy"`` or a callable ``(outputs (B, C), y (B,)) -> scalar``
            (it runs inside ``vmap`` when vectorised).
        init_scheme: passed to :func:`seedwise.init.initialize` as ``scheme``.
        device: where the members live (default: CPU).

    Dropout during training is keyed per member and step (``seeds=`` of :meth:`train_step`
    / :meth:`fit`); a model with dropout trained without those seeds raises. Prediction
    (``ens(x)``, :meth:`predict_proba`) runs every member in eval mode.
    """

    def __init__(
        self,
        make_model: Callable[[], nn.Module],
        k: int,
        *,
        seeds: SeedLike,
        optimizer: OptimizerSpec = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        vectorize: bool = True,
        combine: Literal["mean_prob", "mean_logit", "vote"] = "mean_prob",
        loss: str | LossFn = "cross_entropy",
        init_scheme: Any = "default",
        device: str | torch.device | None = None,
    ):
        from seedwise.init import initialize

        if isinstance(make_model, nn.Module):
            raise InvalidTypeError(
                f"make_model must be a function that builds a new model (e.g. make_model=lambda: MyNet()), "
                f"got the module instance {type(make_model).__name__}"
            )
        if not callable(make_model):
            raise InvalidTypeError(
                f"make_model must be a callable returning an nn.Module, got {type(make_model).__name__}"
            )
        self.k = check_int("k", k, low=1)
        if seeds is None:
            raise InvalidTypeError(
                "Ensemble needs seeds= (e.g. seeds=root['init']): member i is initialised from seeds[i]"
            )
        self.seeds = as_seeds(seeds, "seeds")
        if not (callable(optimizer) or isinstance(optimizer, str)):
            raise InvalidTypeError(f"optimizer must be 'adam', 'sgd' or a callable, got {type(optimizer).__name__}")
        if isinstance(optimizer, str):
            check_choice("optimizer", optimizer, OPTIMIZERS)
        self.optimizer_spec = optimizer
        self.lr = _check_real("lr", lr, strict=True)
        self.weight_decay = _check_real("weight_decay", weight_decay)
        self.momentum = _check_real("momentum", momentum)
        if self.momentum and optimizer != "sgd":
            raise InvalidArgumentError(
                f"momentum is a setting of optimizer='sgd'; got momentum={momentum} with optimizer={optimizer!r}"
            )
        if not isinstance(vectorize, bool):
            raise InvalidTypeError(f"vectorize must be a bool, got {type(vectorize).__name__}")
        self.vectorize = vectorize
        self.combine = check_choice("combine", combine, COMBINE)
        self.loss = loss
        self._loss_fn = _resolve_loss(loss)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.step = 0  #: optimiser steps taken (the dropout position of the next step)
        self.epoch = 0  #: epochs completed by :meth:`fit` (the data-order position of the next)

        members = []
        for member_seeds in self.seeds.spawn(self.k):
            state = torch.get_rng_state()  # make_model's own (discarded) init must not move the global RNG
            try:
                member = make_model()
            finally:
                torch.set_rng_state(state)
            if not isinstance(member, nn.Module):
                raise InvalidTypeError(f"make_model must return an nn.Module, got {type(member).__name__}")
            member = member.to(self.device)
            initialize(member, member_seeds, scheme=init_scheme)
            members.append(member)

        self._ties = _tied_names(members[0])
        self._base = _retie(copy.deepcopy(members[0]).to("meta"), self._ties)
        #: the direct stacked forward for plain Sequential networks (None: vmap runs the model)
        self._stacked = StackedSequential.build(self._base) if vectorize else None
        if vectorize:
            self._members: list[nn.Module] | None = None
            self.params, self.buffers = stack_members(members)
            self.optimizer: torch.optim.Optimizer | None = make_optimizer(
                optimizer,
                list(self.params.values()),
                lr=self.lr,
                weight_decay=self.weight_decay,
                momentum=self.momentum,
            )
            self._optimizers: list[torch.optim.Optimizer] | None = None
        else:
            self._members = members
            self.params, self.buffers = {}, {}
            self.optimizer = None
            self._optimizers = [
                make_optimizer(
                    optimizer, list(m.parameters()), lr=self.lr, weight_decay=self.weight_decay, momentum=self.momentum
                )
                for m in members
            ]
        self._key_cache: dict[Seeds, tuple[torch.Tensor, np.ndarray]] = {}

    # -- presentation ---------------------------------------------------------------

    def __repr__(self) -> str:
        opt = self.optimizer_spec if isinstance(self.optimizer_spec, str) else "custom"
        return (
            f"Ensemble(k={self.k}, model={type(self._base).__name__}, seeds={self.seeds!r}, optimizer={opt!r}, "
            f"lr={self.lr:g}, vectorize={self.vectorize}, combine={self.combine!r}, step={self.step})"
        )

    def __len__(self) -> int:
        return self.k

    # -- randomness -----------------------------------------------------------------

    def _keys(self, seeds: SeedLike | None) -> tuple[torch.Tensor, np.ndarray] | tuple[None, None]:
        """The members' dropout keys: ``(K, 4)`` int32 on the device and the same as host uint32."""
        if seeds is None:
            return None, None
        root = as_seeds(seeds, "seeds")
        keys = self._key_cache.get(root)
        if keys is None:
            device_keys = member_keys(root, self.k, device=self.device)
            keys = (device_keys, device_keys.cpu().numpy().view(np.uint32))
            if len(self._key_cache) > 16:
                self._key_cache.clear()
            self._key_cache[root] = keys
        return keys

    # -- forward --------------------------------------------------------------------

    def _check_x(self, x: object, per_member: bool, name: str = "x") -> torch.Tensor:
        x = _check_tensor(name, x)
        if per_member and (x.dim() < 2 or x.shape[0] != self.k):
            raise InvalidArgumentError(
                f"with per_member=True, {name} must have shape (K={self.k}, B, ...), got {tuple(x.shape)}"
            )
        if x.dim() == 0:
            raise InvalidArgumentError(f"{name} must be a batch (batch dimension first), got a scalar")
        return x

    def forward(
        self,
        x: torch.Tensor,
        *,
        train: bool = False,
        seeds: SeedLike | None = None,
        position: int | None = None,
        per_member: bool = False,
    ) -> torch.Tensor:
        """Member outputs ``(K, B, C)``; differentiable (for loops written by hand).

        ``train=True`` runs the members in training mode (dropout on, keyed by
        ``seeds[i]["dropout"]`` at ``position``, default :attr:`step`; BatchNorm updates
        its running statistics). ``per_member=True`` takes ``x`` of shape ``(K, B, ...)``.
        """
        x = self._check_x(x, per_member)
        keys, host = self._keys(seeds)
        pos = self.step if position is None else check_int("position", position, low=0, high=2**31)
        if self.vectorize:
            self._base.train(train)
            member_shape = tuple(x.shape[1:] if per_member else x.shape)
            if self._stacked is not None and self._stacked.supports(member_shape, train):
                return self._stacked(
                    self.params, self.buffers, x, k=self.k, per_member=per_member, keys=host, position=pos
                )
            return vmapped_forward(
                self._base, self.params, self.buffers, x, keys=keys, position=pos, per_member=per_member
            )
        outs = []
        for i, member in enumerate(self._members):  # type: ignore[arg-type]
            member.train(train)
            with KeyedDropoutMode(None if host is None else host[i], pos):
                outs.append(member(x[i] if per_member else x))
        return torch.stack(outs)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Member outputs ``(K, B, C)`` in eval mode."""
        return self.forward(x)

    @torch.no_grad()
    def predict_proba(
        self, x: torch.Tensor, *, combine: str | None = None, batch_size: int | None = None
    ) -> torch.Tensor:
        """The combined predictive distribution ``(B, C)`` (eval mode, no grad)."""
        rule = self.combine if combine is None else check_choice("combine", combine, COMBINE)
        x = self._check_x(x, False)
        if batch_size is None:
            return combine_outputs(self.forward(x), rule)
        size = check_int("batch_size", batch_size, low=1)
        return torch.cat([combine_outputs(self.forward(x[i : i + size]), rule) for i in range(0, x.shape[0], size)])

    @torch.no_grad()
    def predict_members(self, x: torch.Tensor) -> torch.Tensor:
        """Each member's softmax probabilities ``(K, B, C)``: the samples :mod:`seedwise.metrics` takes."""
        return self.forward(self._check_x(x, False)).softmax(dim=-1)

    # -- training -------------------------------------------------------------------

    def _member_losses(self, outputs: torch.Tensor, y: torch.Tensor, per_member: bool) -> torch.Tensor:
        loss_fn = self._loss_fn
        hard_labels = not y.is_floating_point() and y.dim() == (2 if per_member else 1)
        if self.vectorize and loss_fn is F.cross_entropy and outputs.dim() == 3 and hard_labels:
            # one flat cross-entropy over all members (vmap would run nll_loss's Python decomposition)
            k, b = outputs.shape[:2]
            targets = (y if per_member else y.expand(k, b)).reshape(k * b)
            return F.cross_entropy(outputs.reshape(k * b, -1), targets, reduction="none").view(k, b).mean(dim=1)
        if self.vectorize:
            return vmap(loss_fn, in_dims=(0, 0 if per_member else None))(outputs, y)
        return torch.stack([loss_fn(outputs[i], y[i] if per_member else y) for i in range(self.k)])

    def train_step(
        self, x: torch.Tensor, y: torch.Tensor, *, seeds: SeedLike | None = None, per_member: bool = False
    ) -> torch.Tensor:
        """One optimiser step of every member on a batch; returns the K losses (detached).

        ``x``/``y`` are one batch shared by all members, or with ``per_member=True`` one
        batch per member, ``(K, B, ...)``/``(K, B)``. ``seeds`` is the run stream whose
        ``seeds[i]["dropout"]`` keys member ``i``'s dropout at position :attr:`step`
        (required if the model has dropout).
        """
        x = self._check_x(x, per_member)
        y = self._check_x(y, per_member, "y") if per_member else _check_tensor("y", y)
        if y.shape[: (2 if per_member else 1)] != x.shape[: (2 if per_member else 1)]:
            raise InvalidArgumentError(
                f"x and y must have the same leading dimensions, got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        if self.vectorize:
            outputs = self.forward(x, train=True, seeds=seeds, per_member=per_member)
            losses = self._member_losses(outputs, y, per_member)
            self.optimizer.zero_grad(set_to_none=True)  # type: ignore[union-attr]
            losses.sum().backward()
            self.optimizer.step()  # type: ignore[union-attr]
        else:
            _, host = self._keys(seeds)
            losses_list = []
            for i, (member, opt) in enumerate(zip(self._members, self._optimizers)):  # type: ignore[arg-type]
                member.train(True)
                with KeyedDropoutMode(None if host is None else host[i], self.step):
                    out = member(x[i] if per_member else x)
                loss = self._loss_fn(out, y[i] if per_member else y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses_list.append(loss)
            losses = torch.stack(losses_list)
        self.step += 1
        return losses.detach()

    def set_lr(self, lr: float) -> None:
        """Set the learning rate of every member's optimiser (every parameter group)."""
        value = _check_real("lr", lr, strict=True)
        for opt in self._all_optimizers():
            for group in opt.param_groups:
                group["lr"] = value
        self.lr = value

    def _all_optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.optimizer] if self.vectorize else list(self._optimizers)  # type: ignore[list-item,arg-type]

    def data_orders(self, n: int, epoch: int, *, seeds: SeedLike, shared_order: bool = False) -> np.ndarray:
        """``(K, n)`` sample orders of ``epoch``: row ``i`` from ``seeds[i]["data_order"]``."""
        root = as_seeds(seeds, "seeds")
        if shared_order:
            order = stateless.permutation(root[DATA_ORDER], epoch, n)
            return np.broadcast_to(order, (self.k, n))
        return np.stack([stateless.permutation(root[i][DATA_ORDER], epoch, n) for i in range(self.k)])

    def fit(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        epochs: int,
        batch_size: int,
        lr: float | None = None,
        *,
        seeds: SeedLike,
        shared_order: bool = False,
    ) -> torch.Tensor:
        """Train every member for ``epochs`` passes over ``(x, y)``; returns ``(epochs, K)`` mean losses.

        Member ``i`` sees the data in its own order (:meth:`data_orders`; the same order for
        all with ``shared_order=True``) and its own dropout masks (``seeds[i]["dropout"]``
        at each step). ``lr``, if given, sets the learning rate from now on. Epochs continue
        from :attr:`epoch`, so calling ``fit`` twice is one longer run, and an ensemble
        saved and loaded between the two calls continues identically.
        """
        x = _check_tensor("x", x)
        y = _check_tensor("y", y)
        n = int(x.shape[0]) if x.dim() else 0
        if n == 0 or y.dim() == 0 or y.shape[0] != n:
            raise InvalidArgumentError(
                f"x and y must be non-empty batches of the same length, got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        n_epochs = check_int("epochs", epochs, low=0)
        size = check_int("batch_size", batch_size, low=1)
        if seeds is None:
            raise InvalidTypeError(
                "fit needs seeds= (e.g. seeds=root): member i's data order and dropout come from seeds[i]"
            )
        root = as_seeds(seeds, "seeds")
        if lr is not None:
            self.set_lr(lr)
        history = torch.zeros(n_epochs, self.k)
        for e in range(n_epochs):
            order = torch.from_numpy(
                np.ascontiguousarray(self.data_orders(n, self.epoch, seeds=root, shared_order=shared_order))
            )
            order = order.to(x.device)
            total = torch.zeros(self.k)
            for start in range(0, n, size):
                idx = order[:, start : start + size]  # (K, b)
                losses = self.train_step(x[idx], y[idx], seeds=root, per_member=True)
                total += losses.cpu() * idx.shape[1]
            history[e] = total / n
            self.epoch += 1
        return history

    # -- export ---------------------------------------------------------------------

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """``(params, buffers)`` stacked along the member dimension (copies, detached)."""
        if self.vectorize:
            return (
                {n: t.detach().clone() for n, t in self.params.items()},
                {n: t.detach().clone() for n, t in self.buffers.items()},
            )
        params, buffers = stack_members(self._members)  # type: ignore[arg-type]
        return {n: t.detach() for n, t in params.items()}, {n: t.detach() for n, t in buffers.items()}

    def members(self) -> list[nn.Module]:
        """The members as K ordinary, independent ``nn.Module`` copies (in eval mode)."""
        if not self.vectorize:
            return [copy.deepcopy(m).eval() for m in self._members]  # type: ignore[union-attr]
        out = []
        for i in range(self.k):
            member = _retie(copy.deepcopy(self._base).to_empty(device=self.device), self._ties)
            with torch.no_grad():
                for name, t in member.named_parameters():
                    t.copy_(self.params[name][i])
                for name, t in member.named_buffers():
                    t.copy_(self.buffers[name][i])
            out.append(member.eval())
        return out

    # -- persistence ----------------------------------------------------------------

    def _optimizer_state(self) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
        names = list(self._param_names())
        tensors: dict[str, torch.Tensor] = {}
        if self.vectorize:
            sd = self.optimizer.state_dict()  # type: ignore[union-attr]
            for idx, state in sd["state"].items():
                for key, value in state.items():
                    if isinstance(value, torch.Tensor):
                        tensors[f"optim/{names[idx]}/{key}"] = value.detach().clone()
            groups = sd["param_groups"]
        else:
            sds = [opt.state_dict() for opt in self._optimizers]  # type: ignore[union-attr]
            for idx, state in sds[0]["state"].items():
                for key, value in state.items():
                    if not isinstance(value, torch.Tensor):
                        continue
                    if value.dim() == 0:
                        tensors[f"optim/{names[idx]}/{key}"] = value.detach().clone()
                    else:
                        tensors[f"optim/{names[idx]}/{key}"] = torch.stack([sd["state"][idx][key] for sd in sds])
            groups = sds[0]["param_groups"]
        clean = [{k: v for k, v in g.items() if k != "params"} for g in groups]
        return tensors, clean

    def _param_names(self) -> list[str]:
        return [n for n, _ in self._base.named_parameters()]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write members, buffers, optimiser state and settings to a safetensors file (no pickle)."""
        from safetensors.torch import save_file

        params, buffers = self.state_tensors()
        opt_tensors, groups = self._optimizer_state()
        tensors = {f"param/{n}": t.contiguous().cpu() for n, t in params.items()}
        tensors.update({f"buffer/{n}": t.contiguous().cpu() for n, t in buffers.items()})
        tensors.update({n: t.contiguous().cpu() for n, t in opt_tensors.items()})
        try:
            groups_json = json.dumps(groups)
        except TypeError as exc:
            raise InvalidArgumentError(f"the optimiser's settings cannot be saved as JSON ({exc})") from None
        metadata = {
            "seedwise_ensemble": str(_FORMAT),
            "k": str(self.k),
            "seeds": self.seeds.to_json(),
            "optimizer": self.optimizer_spec if isinstance(self.optimizer_spec, str) else "custom",
            "lr": repr(self.lr),
            "weight_decay": repr(self.weight_decay),
            "momentum": repr(self.momentum),
            "combine": self.combine,
            "step": str(self.step),
            "epoch": str(self.epoch),
            "param_groups": groups_json,
        }
        save_file(tensors, os.fspath(path), metadata=metadata)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        make_model: Callable[[], nn.Module],
        *,
        optimizer: OptimizerSpec | None = None,
        loss: str | LossFn = "cross_entropy",
        vectorize: bool = True,
        device: str | torch.device | None = None,
    ) -> Ensemble:
        """Rebuild an ensemble written by :meth:`save` (either ``vectorize`` setting can load it).

        ``optimizer`` is needed only if it was a custom callable when saved.
        """
        from safetensors import SafetensorError, safe_open

        path = os.fspath(path)
        try:
            with safe_open(path, framework="pt") as f:
                meta = f.metadata() or {}
                tensors = {name: f.get_tensor(name) for name in f.keys()}
        except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
            raise StateFileError(f"cannot read ensemble file {path!r}: {exc}") from None
        if "seedwise_ensemble" not in meta:
            raise StateFileError(f"{path!r} is not a seedwise ensemble file (no 'seedwise_ensemble' metadata)")
        if int(meta["seedwise_ensemble"]) > _FORMAT:
            raise StateFileError(
                f"{path!r} was written by a newer seedwise (format {meta['seedwise_ensemble']}); upgrade seedwise"
            )
        spec: OptimizerSpec | None = optimizer if optimizer is not None else meta["optimizer"]
        if spec == "custom":
            raise InvalidArgumentError(
                f"{path!r} was trained with a custom optimizer: pass optimizer= (the same callable) to load it"
            )
        ens = cls(
            make_model,
            int(meta["k"]),
            seeds=Seeds.from_json(meta["seeds"]),
            optimizer=spec,  # type: ignore[arg-type]
            lr=float(meta["lr"]),
            weight_decay=float(meta["weight_decay"]),
            momentum=float(meta["momentum"]),
            vectorize=vectorize,
            combine=meta["combine"],  # type: ignore[arg-type]
            loss=loss,
            device=device,
        )
        ens._load_tensors(tensors, json.loads(meta["param_groups"]), path)
        ens.step, ens.epoch = int(meta["step"]), int(meta["epoch"])
        return ens

    def _load_tensors(self, tensors: dict[str, torch.Tensor], groups: list[dict[str, Any]], path: str) -> None:
        names = self._param_names()
        buffer_names = [n for n, _ in self._base.named_buffers()]
        expected = {f"param/{n}" for n in names} | {f"buffer/{n}" for n in buffer_names}
        missing = expected - set(tensors)
        if missing:
            raise StateFileError(f"{path!r} does not match make_model(): missing {sorted(missing)[:5]}")
        with torch.no_grad():
            for kind, dest_names in (("param", names), ("buffer", buffer_names)):
                for n in dest_names:
                    src = tensors[f"{kind}/{n}"].to(self.device)
                    if self.vectorize:
                        dest = (self.params if kind == "param" else self.buffers)[n]
                        if dest.shape != src.shape:
                            raise StateFileError(
                                f"{path!r}: {kind} {n!r} has shape {tuple(src.shape)}, expected {tuple(dest.shape)}"
                            )
                        dest.copy_(src)
                    else:
                        for i, m in enumerate(self._members):  # type: ignore[arg-type]
                            dest = m.get_parameter(n) if kind == "param" else m.get_buffer(n)
                            if (self.k,) + tuple(dest.shape) != tuple(src.shape):
                                raise StateFileError(f"{path!r}: {kind} {n!r} has shape {tuple(src.shape)}")
                            dest.copy_(src[i])
        state: dict[int, dict[str, torch.Tensor]] = {}
        for name, value in tensors.items():
            if not name.startswith("optim/"):
                continue
            pname, key = name[len("optim/") :].rsplit("/", 1)
            if pname not in names:
                raise StateFileError(f"{path!r}: optimiser state for unknown parameter {pname!r}")
            state.setdefault(names.index(pname), {})[key] = value.to(self.device)
        if not state:
            return
        params_idx = list(range(len(names)))
        for g in groups:
            g["params"] = params_idx
            if "betas" in g:
                g["betas"] = tuple(g["betas"])
        if self.vectorize:
            self.optimizer.load_state_dict({"state": state, "param_groups": groups})  # type: ignore[union-attr]
        else:
            for i, opt in enumerate(self._optimizers):  # type: ignore[arg-type]
                member_state = {
                    idx: {k: (v if v.dim() == 0 else v[i]).clone() for k, v in st.items()} for idx, st in state.items()
                }
                opt.load_state_dict({"state": member_state, "param_groups": copy.deepcopy(groups)})
