"""SWAG: a Gaussian over weights fitted to the trajectory of SGD (Maddox et al. 2019).

While training continues with a constant (or cyclic) learning rate, call
:meth:`SWAG.collect` on the live model every epoch (or every few steps). SWAG keeps, for
the flattened parameter vector ``w``:

* the running mean ``w_bar = (1/n) sum_i w_i`` (the SWA solution) and second moment
  ``(1/n) sum_i w_i^2``, giving the diagonal variance ``var = mean(w^2) - w_bar^2``;
* the deviation matrix ``D``: the last ``rank`` columns ``w_i - w_bar_i`` (``w_bar_i``
  being the running mean right after snapshot ``i``, as in the reference code).

:meth:`SWAG.sample` draws ``w = w_bar + sqrt(scale) * (sqrt(var) * z1 + D z2 / sqrt(K - 1))``
with ``z1 ~ N(0, I_d)``, ``z2 ~ N(0, I_K)``, ``K`` the number of stored columns; so the
samples have mean ``w_bar`` and covariance ``scale * (diag(var) + D D^T / (K - 1))``
(``cov="full"``) or ``scale * diag(var)`` (``cov="diag"``). The default ``scale=0.5``
is the paper's (it halves the sum of the two covariance estimates). ``z1, z2`` come from
``seeds.torch()``: a sample is a pure function of its seeds, and the global RNG is never
touched.

The live model is never modified; samples are new modules. BatchNorm statistics of a
sample do not match its weights; refresh them with :func:`update_bn` (a deterministic
pass, with every non-BatchNorm module in eval mode so that no dropout draws from the
global RNG).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from seedwise._validate import check_choice, check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds, as_seeds

__all__ = ["SWAG", "update_bn"]

COVARIANCES = ("full", "diag")


def _first_tensor(batch: Any, where: str) -> torch.Tensor:
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0]
    if isinstance(batch, dict) and isinstance(batch.get("x"), torch.Tensor):
        first: torch.Tensor = batch["x"]
        return first
    raise InvalidTypeError(
        f"{where} must yield tensors, (x, ...) tuples or {{'x': ...}} dicts; got a batch of type {type(batch).__name__}"
    )


def _batches(loader: Any, where: str) -> Iterable[torch.Tensor]:
    """The inputs of ``loader``: a tensor is one batch; any other iterable yields batches."""
    if isinstance(loader, torch.Tensor):
        return [loader]
    if (
        isinstance(loader, (tuple, list))
        and len(loader) == 2
        and all(isinstance(t, torch.Tensor) for t in loader)
        and (loader[0].shape[:1] == loader[1].shape[:1] and loader[1].dim() == 1)
    ):
        return [loader[0]]  # an (x, y) pair
    try:
        iterator = iter(loader)
    except TypeError:
        raise InvalidTypeError(
            f"{where} must be a tensor, an (x, y) pair or an iterable of batches, got {type(loader).__name__}"
        ) from None
    return (_first_tensor(b, where) for b in iterator)


@torch.no_grad()
def update_bn(model: nn.Module, loader: Any) -> nn.Module:
    """Recompute every BatchNorm's running statistics of ``model`` over ``loader``, in place.

    The statistics become the exact average over all batches (``momentum=None``), as in
    ``torch.optim.swa_utils.update_bn``, but only the BatchNorm layers are put in training
    mode, so dropout and other stochastic layers draw nothing. Modes and momenta are
    restored afterwards. Returns ``model``. Without BatchNorm layers it does nothing.
    """
    if not isinstance(model, nn.Module):
        raise InvalidTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    if not norms:
        return model
    modes = {module: module.training for module in model.modules()}
    momenta = {m: m.momentum for m in norms}
    try:
        model.eval()
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
            m.train()
        seen = 0
        for x in _batches(loader, "loader"):
            model(x)
            seen += 1
        if not seen:
            raise InvalidArgumentError("loader yielded no batches; BatchNorm statistics need at least one")
    finally:
        for module, mode in modes.items():
            module.training = mode
        for norm, momentum in momenta.items():
            norm.momentum = momentum
    return model


class SWAG:
    """Collects SGD iterates of a model and samples weights from the fitted Gaussian.

    Args:
        model: the model being trained; SWAG copies its structure (and its buffers at
            each :meth:`collect`) but never modifies it.
        rank: how many deviation columns to keep (the rank of the low-rank covariance).
    """

    def __init__(self, model: nn.Module, rank: int = 20):
        if not isinstance(model, nn.Module):
            raise InvalidTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.rank = check_int("rank", rank, low=2)
        self._template = copy.deepcopy(model).eval()
        for p in self._template.parameters():
            p.requires_grad_(False)
        self._names = [n for n, _ in model.named_parameters()]
        self._shapes = [p.shape for _, p in model.named_parameters()]
        if not self._names:
            raise InvalidArgumentError("model has no parameters to collect")
        self.n_collected = 0
        dim = sum(p.numel() for p in model.parameters())
        ref = next(model.parameters())
        self._mean = torch.zeros(dim, dtype=torch.float64, device=ref.device)
        self._sq_mean = torch.zeros(dim, dtype=torch.float64, device=ref.device)
        self._deviations: list[torch.Tensor] = []
        self._factors_cache: tuple[torch.Tensor, torch.Tensor] | None = None

    # -- collection ----------------------------------------------------------------

    def _flatten(self, model: nn.Module) -> torch.Tensor:
        named = list(model.named_parameters())
        names = [n for n, _ in named]
        if names != self._names or [p.shape for _, p in named] != self._shapes:
            raise InvalidArgumentError(
                "model's parameters differ from those SWAG was created with (names or shapes); "
                "collect the same architecture you passed to SWAG(model)"
            )
        return torch.cat([p.detach().reshape(-1).to(torch.float64) for _, p in named])

    @torch.no_grad()
    def collect(self, model: nn.Module) -> None:
        """Add the current weights of ``model`` (not modified) to the running moments."""
        if not isinstance(model, nn.Module):
            raise InvalidTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        w = self._flatten(model).to(self._mean.device)
        self.n_collected += 1
        n = self.n_collected
        self._mean += (w - self._mean) / n
        self._sq_mean += (w * w - self._sq_mean) / n
        self._deviations.append(w - self._mean)
        if len(self._deviations) > self.rank:
            self._deviations.pop(0)
        self._factors_cache = None
        # Buffers (BatchNorm statistics ...) of the latest snapshot, for samples without update_bn.
        sources = dict(model.named_buffers())
        for name, buf in self._template.named_buffers():
            if name in sources and sources[name].shape == buf.shape:
                buf.copy_(sources[name])

    @property
    def mean(self) -> torch.Tensor:
        """The SWA mean of the flattened parameters (float64)."""
        self._check_collected(1)
        return self._mean.clone()

    def _factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(sqrt(var), D), computed once per collection and reused by every sample."""
        self._check_collected(1)
        if self._factors_cache is None:
            std = (self._sq_mean - self._mean**2).clamp_min(1e-30).sqrt()
            self._factors_cache = (std, torch.stack(self._deviations, dim=1))
        return self._factors_cache

    @property
    def variance(self) -> torch.Tensor:
        """The diagonal variance ``mean(w^2) - mean(w)^2`` (float64, clamped at 1e-30)."""
        self._check_collected(1)
        return (self._sq_mean - self._mean**2).clamp_min(1e-30)

    @property
    def deviations(self) -> torch.Tensor:
        """The deviation matrix ``D``: (d, K) with ``K = min(n_collected, rank)`` (float64)."""
        return self._factors()[1].clone()

    def covariance(self, *, cov: str = "full", scale: float = 0.5) -> torch.Tensor:
        """The (d, d) covariance that :meth:`sample` draws from (dense: for small models and tests)."""
        check_choice("cov", cov, COVARIANCES)
        scale = self._check_scale(scale)
        self._check_collected(2 if cov == "full" else 1)
        out = torch.diag(self.variance)
        if cov == "full":
            d = self.deviations
            out = out + d @ d.T / (d.shape[1] - 1)
        return scale * out

    def _check_collected(self, needed: int) -> None:
        if self.n_collected < needed:
            raise InvalidArgumentError(
                f"SWAG has collected {self.n_collected} snapshot(s) and needs at least {needed}; "
                "call swag.collect(model) during training (e.g. once per epoch)"
            )

    @staticmethod
    def _check_scale(scale: object) -> float:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            raise InvalidTypeError(f"scale must be a float >= 0, got {type(scale).__name__} {scale!r}")
        if not scale >= 0:
            raise InvalidArgumentError(f"scale must be >= 0, got {scale}")
        return float(scale)

    # -- sampling ------------------------------------------------------------------

    def sample_vector(self, *, seeds: Seeds, scale: float = 0.5, cov: str = "full") -> torch.Tensor:
        """One flattened weight sample (float64), a pure function of ``seeds``."""
        seeds = as_seeds(seeds, "seeds")
        check_choice("cov", cov, COVARIANCES)
        scale = self._check_scale(scale)
        self._check_collected(2 if cov == "full" else 1)
        device = self._mean.device
        generator = seeds.torch(device=device)
        std, d = self._factors()
        z1 = torch.randn(self._mean.shape, generator=generator, dtype=torch.float64, device=device)
        noise = std * z1
        if cov == "full":
            z2 = torch.randn(d.shape[1], generator=generator, dtype=torch.float64, device=device)
            noise = noise + d @ z2 / (d.shape[1] - 1) ** 0.5
        sample: torch.Tensor = self._mean + scale**0.5 * noise
        return sample

    def _module_from(self, vector: torch.Tensor) -> nn.Module:
        model = copy.deepcopy(self._template)
        offset = 0
        with torch.no_grad():
            for p in model.parameters():
                n = p.numel()
                p.copy_(vector[offset : offset + n].view_as(p))
                offset += n
        return model

    def sample(self, *, seeds: Seeds, scale: float = 0.5, cov: str = "full") -> nn.Module:
        """A new model (eval mode, no gradients) with weights drawn from the SWAG posterior.

        ``cov="full"`` uses diagonal plus low-rank covariance, ``"diag"`` the diagonal only;
        ``scale=0`` gives the SWA mean. Buffers (BatchNorm statistics) are those of the last
        collected model: call :func:`update_bn` on the sample to match them to its weights.
        """
        return self._module_from(self.sample_vector(seeds=seeds, scale=scale, cov=cov))

    def swa_model(self) -> nn.Module:
        """A new model holding the SWA mean weights."""
        self._check_collected(1)
        return self._module_from(self._mean)

    def _unflatten(self, vectors: torch.Tensor) -> dict[str, torch.Tensor]:
        """(k, d) float64 weight vectors -> {name: (k, *shape)} in each parameter's dtype."""
        out, offset = {}, 0
        for name, p in self._template.named_parameters():
            n = p.numel()
            out[name] = vectors[:, offset : offset + n].reshape(-1, *p.shape).to(dtype=p.dtype, device=p.device)
            offset += n
        return out

    @torch.no_grad()
    def predict(
        self,
        x: torch.Tensor,
        *,
        samples: int,
        seeds: Seeds,
        scale: float = 0.5,
        cov: str = "full",
        loader_for_bn: Any = None,
        chunk_size: int | None = None,
    ) -> torch.Tensor:
        """Class probabilities of ``samples`` posterior draws, shape (S, B, C).

        Draw ``s`` uses ``seeds[s]``, so it is the same for any ``samples``. The draws run
        vectorised (``torch.func.vmap`` of ``functional_call`` over the stacked weights), in
        eval mode, ``chunk_size`` draws at a time (all at once by default; lower it when S
        copies of the weights and activations do not fit in memory). With
        ``loader_for_bn``, each draw's BatchNorm statistics are first recomputed over that
        loader (:func:`update_bn`); otherwise every draw uses the buffers of the last
        collected model.
        """
        if not isinstance(x, torch.Tensor):
            raise InvalidTypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        n = check_int("samples", samples, low=1)
        chunk = n if chunk_size is None else check_int("chunk_size", chunk_size, low=1)
        seeds = as_seeds(seeds, "seeds")
        buffer_names = [k for k, _ in self._template.named_buffers()]
        shared_buffers = dict(self._template.named_buffers())

        def forward(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> torch.Tensor:
            out: torch.Tensor = torch.func.functional_call(self._template, (p, b), (x,))
            return out

        out = []
        for start in range(0, n, chunk):
            vectors = torch.stack(
                [self.sample_vector(seeds=seeds[s], scale=scale, cov=cov) for s in range(start, min(n, start + chunk))]
            )
            params = self._unflatten(vectors)
            if loader_for_bn is not None and buffer_names:
                models = [update_bn(self._module_from(v), loader_for_bn) for v in vectors]
                buffers = {k: torch.stack([dict(m.named_buffers())[k] for m in models]) for k in buffer_names}
                logits = torch.func.vmap(forward)(params, buffers)
            else:
                logits = torch.func.vmap(forward, in_dims=(0, None))(params, shared_buffers)
            out.append(torch.softmax(logits, dim=-1))
        return torch.cat(out)

    # -- checkpointing ----------------------------------------------------------------

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The collected moments as a flat dict of tensors (safetensors- and weights_only-safe).

        The model structure is not included: rebuild with ``SWAG(model, rank)`` and
        :meth:`load_state_dict`. The template's buffers are included (``buffer.<name>``).
        """
        out = {
            "rank": torch.tensor(self.rank),
            "n_collected": torch.tensor(self.n_collected),
            "mean": self._mean.clone(),
            "sq_mean": self._sq_mean.clone(),
            "deviations": torch.stack(self._deviations)
            if self._deviations
            else self._mean.new_zeros(0, self._mean.numel()),
        }
        out.update({f"buffer.{k}": v.clone() for k, v in self._template.named_buffers()})
        return out

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned (checked against this SWAG's model)."""
        try:
            rank, n = int(state["rank"]), int(state["n_collected"])
            mean, sq_mean, deviations = state["mean"], state["sq_mean"], state["deviations"]
        except (KeyError, TypeError) as exc:
            raise InvalidArgumentError(
                f"not a SWAG state dict (missing {exc}); expected the output of SWAG.state_dict()"
            ) from None
        if rank != self.rank:
            raise InvalidArgumentError(
                f"state has rank {rank} but this SWAG has rank {self.rank}; create SWAG(model, rank={rank})"
            )
        dim = self._mean.numel()
        if mean.shape != (dim,) or sq_mean.shape != (dim,) or deviations.dim() != 2 or deviations.shape[1] != dim:
            raise InvalidArgumentError(
                f"state is for a model with {mean.numel()} parameters, this SWAG's model has {dim}"
            )
        if n < 0 or deviations.shape[0] != min(n, rank):
            raise InvalidArgumentError(
                f"inconsistent SWAG state: {n} snapshots collected but {deviations.shape[0]} deviation columns"
            )
        device = self._mean.device
        self.n_collected = n
        self._mean = mean.to(device=device, dtype=torch.float64).clone()
        self._sq_mean = sq_mean.to(device=device, dtype=torch.float64).clone()
        self._deviations = [row.to(device=device, dtype=torch.float64).clone() for row in deviations]
        self._factors_cache = None
        with torch.no_grad():
            for name, buf in self._template.named_buffers():
                if f"buffer.{name}" in state:
                    buf.copy_(state[f"buffer.{name}"])

    def __repr__(self) -> str:
        dim = self._mean.numel()
        return f"SWAG(rank={self.rank}, parameters={dim}, collected={self.n_collected})"
