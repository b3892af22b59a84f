"""``Ensemble``: K independently seeded members of one architecture, trained and evaluated together."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seedwise._validate import check_choice, check_int, check_real
from seedwise.data.order import Streams, epoch_batches, epoch_order
from seedwise.ensemble import _io
from seedwise.ensemble._engine import Engine, LossFn, MemberKeys, Tensors
from seedwise.ensemble._functional import COMBINE, CombineRule, combine_outputs, member_keys
from seedwise.ensemble._loop import LoopEngine
from seedwise.ensemble._members import build_members, check_factory, meta_base
from seedwise.ensemble._optim import OPTIMIZERS, OptimizerSpec, make_optimizer
from seedwise.ensemble._vectorized import VectorizedEngine
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import SeedLike, Seeds, as_seeds
from seedwise.streams import DATA_ORDER

__all__ = ["Ensemble"]


def _positive(name: str, value: object) -> float:
    return check_real(name, value, low=0.0, strict=True, what="a float")


def _non_negative(name: str, value: object) -> float:
    return check_real(name, value, low=0.0, what="a float")


def _check_tensor(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise InvalidTypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def _resolve_loss(loss: str | LossFn) -> LossFn:
    if callable(loss):
        return loss
    check_choice("loss", loss, ("cross_entropy",))
    return F.cross_entropy


class Ensemble:
    """K independently seeded members of one architecture, trained and evaluated together.

    Args:
        make_model: builds one member (``() -> nn.Module``), a classifier mapping
            ``(B, ...)`` to ``(B, C)`` logits. Its own (global-RNG) initialisation is
            discarded: member ``i`` is re-initialised from ``seeds[i]``.
        k: the number of members.
        seeds: the stream the members' initial weights come from (required), e.g.
            ``root["init"]``: member ``i`` from ``seeds[i]``, each parameter from
            ``seeds[i][parameter_name]``.
        optimizer: ``"adam"`` (default), ``"sgd"``, or a callable ``params -> Optimizer``
            that must update elementwise (see :mod:`seedwise.ensemble`).
        lr, weight_decay, momentum: for the named optimisers (``momentum`` for SGD only).
        vectorize: run the members at once on stacked tensors (default) or in a Python
            loop over K modules with K optimisers; decided here, once.
        combine: how :meth:`predict_proba` combines members (:func:`combine_outputs`).
        loss: ``"cross_entropy"`` or a callable ``(outputs (B, C), y (B,)) -> scalar``
            (it runs inside ``vmap`` when vectorised).
        init_scheme: passed to :func:`seedwise.init.initialize` as ``scheme``.
        device: where the members live (default: CPU).

    ``seeds`` means the same here as in :meth:`train_step` and :meth:`fit`: the stream a
    call's draws come from, member ``i``'s from its child ``seeds[i]``. The constructor
    draws one thing, the initial weights, so it uses ``seeds[i]`` directly (as
    :func:`seedwise.init.initialize` does); training draws two, so it names them:
    ``seeds[i]["data_order"]`` and ``seeds[i]["dropout"]``. Pass the init stream here and
    the run's root to :meth:`fit`. A model with dropout trained without ``seeds=`` raises.
    Prediction (``ens(x)``, :meth:`predict_proba`) runs every member in eval mode.
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
        combine: CombineRule = "mean_prob",
        loss: str | LossFn = "cross_entropy",
        init_scheme: Any = "default",
        device: str | torch.device | None = None,
    ):
        check_factory(make_model)
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
        self.lr = _positive("lr", lr)
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        self.momentum = _non_negative("momentum", momentum)
        if self.momentum and optimizer != "sgd":
            raise InvalidArgumentError(
                f"momentum is a setting of optimizer='sgd'; got momentum={momentum} with optimizer={optimizer!r}"
            )
        if not isinstance(vectorize, bool):
            raise InvalidTypeError(f"vectorize must be a bool, got {type(vectorize).__name__}")
        self.vectorize = vectorize
        self.combine = check_choice("combine", combine, COMBINE)
        self.loss = loss
        loss_fn = _resolve_loss(loss)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.step = 0  #: optimiser steps taken (the dropout position of the next step)
        self.epoch = 0  #: epochs completed by :meth:`fit` (the data-order position of the next)

        members = build_members(make_model, self.seeds, self.k, device=self.device, init_scheme=init_scheme)
        self._base, ties = meta_base(members[0])
        make_opt = partial(
            make_optimizer, optimizer, lr=self.lr, weight_decay=self.weight_decay, momentum=self.momentum
        )
        self._engine: Engine  # the one place `vectorize` is read: the engine runs the members from here on
        if vectorize:
            self._engine = VectorizedEngine(
                members, base=self._base, ties=ties, device=self.device, make_optimizer=make_opt, loss_fn=loss_fn
            )
        else:
            self._engine = LoopEngine(members, make_optimizer=make_opt, loss_fn=loss_fn)
        self._key_cache: dict[Seeds, MemberKeys] = {}

    # -- the members' tensors -------------------------------------------------------

    @property
    def params(self) -> Tensors:
        """The stacked parameters (leaves that require grad, member dimension first);
        ``{}`` with ``vectorize=False``."""
        return self._engine.params

    @property
    def buffers(self) -> Tensors:
        """The stacked buffers; ``{}`` with ``vectorize=False``."""
        return self._engine.buffers

    @property
    def optimizer(self) -> torch.optim.Optimizer | None:
        """The optimiser of :attr:`params`; ``None`` with ``vectorize=False``."""
        return self._engine.optimizer

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

    def _keys(self, seeds: SeedLike | None) -> MemberKeys | None:
        """The members' dropout keys (row ``i``: ``seeds[i]["dropout"]``), cached per stream."""
        if seeds is None:
            return None
        root = as_seeds(seeds, "seeds")
        keys = self._key_cache.get(root)
        if keys is None:
            device_keys = member_keys(root, self.k, device=self.device)
            keys = MemberKeys(device_keys, device_keys.cpu().numpy().view(np.uint32))
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
        keys = self._keys(seeds)
        pos = self.step if position is None else check_int("position", position, low=0, high=2**31)
        return self._engine.forward(x, train=train, keys=keys, position=pos, per_member=per_member)

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
        losses = self._engine.train_step(x, y, keys=self._keys(seeds), position=self.step, per_member=per_member)
        self.step += 1
        return losses.detach()

    def set_lr(self, lr: float) -> None:
        """Set the learning rate of every member's optimiser (every parameter group)."""
        value = _positive("lr", lr)
        for opt in self._engine.optimizers():
            for group in opt.param_groups:
                group["lr"] = value
        self.lr = value

    def data_orders(self, n: int, epoch: int, *, seeds: SeedLike, shared_order: bool = False) -> np.ndarray:
        """``(K, n)`` sample orders of ``epoch``: row ``i`` from ``seeds[i]["data_order"]``."""
        root = as_seeds(seeds, "seeds")
        if shared_order:
            return np.broadcast_to(epoch_order(root[DATA_ORDER], epoch, n), (self.k, n))
        return epoch_order([root[i][DATA_ORDER] for i in range(self.k)], epoch, n)

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

        ``seeds`` is the run's stream (e.g. the root): member ``i`` sees the data in the
        order of ``seeds[i]["data_order"]`` (:meth:`data_orders`; all members the order of
        ``seeds["data_order"]`` with ``shared_order=True``), batch by batch
        (:func:`seedwise.data.epoch_batches`), and its own dropout masks
        (``seeds[i]["dropout"]`` at each step). ``lr``, if given, sets the learning rate
        from now on. Epochs continue from :attr:`epoch`, so calling ``fit`` twice is one
        longer run, and an ensemble saved and loaded between the two calls continues
        identically.
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
        streams: Streams = root[DATA_ORDER] if shared_order else [root[i][DATA_ORDER] for i in range(self.k)]
        history = torch.zeros(n_epochs, self.k)
        for e in range(n_epochs):
            total = torch.zeros(self.k)
            for batch in epoch_batches(streams, self.epoch, n, size):
                idx = torch.from_numpy(batch).to(x.device)
                idx = idx.expand(self.k, -1) if shared_order else idx  # (K, b)
                losses = self.train_step(x[idx], y[idx], seeds=root, per_member=True)
                total += losses.cpu() * idx.shape[1]
            history[e] = total / n
            self.epoch += 1
        return history

    # -- export ---------------------------------------------------------------------

    def state_tensors(self) -> tuple[Tensors, Tensors]:
        """``(params, buffers)`` stacked along the member dimension (copies, detached)."""
        return self._engine.state_tensors()

    def members(self) -> list[nn.Module]:
        """The members as K ordinary, independent ``nn.Module`` copies (in eval mode)."""
        return self._engine.members()

    # -- persistence ----------------------------------------------------------------

    def _param_names(self) -> list[str]:
        return [n for n, _ in self._base.named_parameters()]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write members, buffers, optimiser state and settings to a safetensors file (no pickle)."""
        settings = {
            "k": str(self.k),
            "seeds": self.seeds.to_json(),
            "optimizer": self.optimizer_spec if isinstance(self.optimizer_spec, str) else "custom",
            "lr": repr(self.lr),
            "weight_decay": repr(self.weight_decay),
            "momentum": repr(self.momentum),
            "combine": self.combine,
            "step": str(self.step),
            "epoch": str(self.epoch),
        }
        _io.write(path, self._engine, self._param_names(), settings)

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
        path = os.fspath(path)
        meta, tensors = _io.read(path)
        spec: OptimizerSpec = optimizer if optimizer is not None else meta["optimizer"]
        if spec == "custom":
            raise InvalidArgumentError(
                f"{path!r} was trained with a custom optimizer: pass optimizer= (the same callable) to load it"
            )
        ens = cls(
            make_model,
            int(meta["k"]),
            seeds=Seeds.from_json(meta["seeds"]),
            optimizer=spec,
            lr=float(meta["lr"]),
            weight_decay=float(meta["weight_decay"]),
            momentum=float(meta["momentum"]),
            vectorize=vectorize,
            combine=cast(CombineRule, meta["combine"]),  # checked by the constructor
            loss=loss,
            device=device,
        )
        buffer_names = [n for n, _ in ens._base.named_buffers()]
        groups = json.loads(meta["param_groups"])
        _io.restore(
            ens._engine,
            tensors,
            groups,
            names=ens._param_names(),
            buffer_names=buffer_names,
            device=ens.device,
            path=path,
        )
        ens.step, ens.epoch = int(meta["step"]), int(meta["epoch"])
        return ens
