"""Last-layer Laplace approximation for classifiers (MacKay 1992; Daxberger et al. 2021).

The network up to its last linear layer is kept at its trained (MAP) weights; the last
layer's weights ``theta = vec([W | b])`` (row-major: class ``c``'s weights then its bias,
class after class; ``P = C * (F + 1)`` numbers) get a Gaussian posterior
``N(theta_MAP, (H + delta I)^-1)`` with ``delta`` the prior precision and ``H`` the
generalised Gauss-Newton matrix of the summed negative log-likelihood:

``H = sum_n J_n^T (diag(p_n) - p_n p_n^T) J_n``, with ``J_n = I_C (x) phi_n^T`` and
``phi_n = [features_n, 1]`` the input of the last layer (plus 1 for the bias).

The logits are linear in ``theta``, so for softmax cross-entropy this GGN *is* the
Hessian, exactly. Three structures:

* ``"full"``: the exact ``P x P`` matrix;
* ``"diag"``: its diagonal, ``H[(c,f),(c,f)] = sum_n p_nc (1 - p_nc) phi_nf^2``;
* ``"kron"``: the KFAC rule ``H ~= G (x) A / N`` with ``A = sum_n phi_n phi_n^T`` and
  ``G = sum_n (diag(p_n) - p_n p_n^T)`` (the sum of the output Hessians); it is exact for
  one example and in general replaces the average of Kronecker products by the product
  of averages.

Prediction linearises the network in ``theta`` (the "GLM predictive", exact here since
the logits are linear in ``theta``): ``f ~ N(f_MAP, S)`` with ``S = J Sigma J^T``; then
either the probit (MacKay) approximation ``softmax(f_MAP / sqrt(1 + pi/8 diag S))`` or
the average of ``softmax`` over seeded samples of ``f``.

The prior precision is tuned by the Laplace log evidence
``log Z(delta) = log p(D | theta_MAP) - delta/2 |theta_MAP|^2 + P/2 log delta
- 1/2 log det(H + delta I)`` (maximised over ``log delta``), or by a grid search on
validation NLL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seedwise._validate import check_choice, check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds, as_seeds

__all__ = ["LastLayerLaplace"]

LIKELIHOODS = ("classification",)
HESSIANS = ("full", "diag", "kron")
PREDICTIVES = ("probit", "samples")
PRIOR_METHODS = ("marglik", "grid")
MAX_FULL_PARAMS = 20_000  # a dense float64 (P, P) matrix of 3.2 GB
_CHUNK_ELEMENTS = 2**23  # float64 numbers of J V held at once (64 MiB)


def _check_precision(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(f"{name} must be a float > 0, got {type(value).__name__} {value!r}")
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise InvalidArgumentError(f"{name} must be a finite float > 0, got {value}")
    return value


def _pairs(data: Any, name: str) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    """``(x, y)`` batches from an ``(x, y)`` pair of tensors or an iterable of such pairs."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        return [(data[0], data[1])]
    try:
        iterator = iter(data)
    except TypeError:
        raise InvalidTypeError(
            f"{name} must be an (x, y) pair of tensors or an iterable of (x, y) batches (a DataLoader), "
            f"got {type(data).__name__}"
        ) from None

    def gen() -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        for batch in iterator:
            if not (isinstance(batch, (tuple, list)) and len(batch) >= 2 and isinstance(batch[0], torch.Tensor)):
                raise InvalidTypeError(f"{name} must yield (x, y) batches, got a {type(batch).__name__}")
            yield batch[0], torch.as_tensor(batch[1])

    return gen()


class LastLayerLaplace:
    """A Gaussian posterior over the last linear layer of a trained classifier.

    Args:
        model: the trained network; its output must be the output of ``last_layer``
            (logits). It is never modified; it is run in eval mode (modes restored).
        likelihood: ``"classification"`` (softmax cross-entropy).
        hessian: ``"full"``, ``"diag"`` or ``"kron"`` (see the module docstring).
        last_layer: the ``nn.Linear`` to treat; by default the last ``nn.Linear`` in
            ``model.modules()``.
        prior_precision: ``delta``, the precision of the zero-mean isotropic Gaussian
            prior; tune it with :meth:`optimize_prior_precision`.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        likelihood: str = "classification",
        hessian: str = "full",
        last_layer: nn.Linear | None = None,
        prior_precision: float = 1.0,
    ):
        if not isinstance(model, nn.Module):
            raise InvalidTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        self.hessian = check_choice("hessian", hessian, HESSIANS)
        if last_layer is None:
            linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
            if not linears:
                raise InvalidArgumentError("model has no nn.Linear layer; pass last_layer= explicitly")
            last_layer = linears[-1]
        elif not isinstance(last_layer, nn.Linear):
            raise InvalidTypeError(f"last_layer must be an nn.Linear, got {type(last_layer).__name__}")
        elif not any(m is last_layer for m in model.modules()):
            raise InvalidArgumentError("last_layer is not a module of model; pass one of model's own layers")
        self.model, self.last_layer = model, last_layer
        self.prior_precision = _check_precision("prior_precision", prior_precision)
        self._has_bias = last_layer.bias is not None
        self.n_classes = last_layer.out_features
        self.n_features = last_layer.in_features + int(self._has_bias)
        self.n_params = self.n_classes * self.n_features
        if self.hessian == "full" and self.n_params > MAX_FULL_PARAMS:
            raise InvalidArgumentError(
                f"hessian='full' on a last layer of {self.n_params} parameters needs a {self.n_params}^2 matrix "
                f"(limit {MAX_FULL_PARAMS}); use hessian='kron' (Kronecker factors of size "
                f"{self.n_classes}^2 and {self.n_features}^2) or 'diag'"
            )
        self.n_data = 0
        self._fitted = False
        self._theta: torch.Tensor | None = None

    # -- features -------------------------------------------------------------------

    @torch.no_grad()
    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(phi, logits) in float64: the last layer's input (with a 1 for the bias) and output."""
        if not isinstance(x, torch.Tensor):
            raise InvalidTypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        captured: dict[str, torch.Tensor] = {}

        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            captured["phi"], captured["out"] = inputs[0], output

        modes = {m: m.training for m in self.model.modules()}
        handle = self.last_layer.register_forward_hook(hook)
        try:
            self.model.eval()
            logits = self.model(x)
        finally:
            handle.remove()
            for m, mode in modes.items():
                m.training = mode
        if "phi" not in captured:
            raise InvalidArgumentError(
                "the last layer was not called in model(x); pass last_layer= the layer that makes the logits"
            )
        out = captured["out"]
        same = isinstance(logits, torch.Tensor) and (
            logits is out or (logits.shape == out.shape and torch.equal(logits, out))
        )
        if not same:
            raise InvalidArgumentError(
                "model(x) is not the output of its last nn.Linear (something follows it); last-layer Laplace needs "
                "the logits to come straight from last_layer: pass last_layer= or remove the trailing modules"
            )
        phi = captured["phi"]
        if phi.dim() != 2:
            raise InvalidArgumentError(
                f"the last layer's input must be (batch, features), got shape {tuple(phi.shape)}"
            )
        phi = phi.to(torch.float64)
        if self._has_bias:
            phi = torch.cat([phi, torch.ones(phi.shape[0], 1, dtype=phi.dtype, device=phi.device)], dim=1)
        # Logits recomputed in float64 from the features: the Hessian is then exact to float64.
        return phi, phi @ self.theta_map.to(phi.device).T

    def _read_layer(self) -> torch.Tensor:
        w = self.last_layer.weight.detach().to(torch.float64)
        if self._has_bias:
            w = torch.cat([w, self.last_layer.bias.detach().to(torch.float64)[:, None]], dim=1)
        return w

    @property
    def theta_map(self) -> torch.Tensor:
        """The posterior mean: the last layer's ``[W | b]`` when :meth:`fit` ran, (C, F+1) float64.

        It is a copy taken by ``fit``: training the model further does not move it (refit).
        Before ``fit``, the layer's current weights.
        """
        return self._theta if self._theta is not None else self._read_layer()

    # -- fitting --------------------------------------------------------------------

    def fit(self, data: Any) -> LastLayerLaplace:
        """Accumulate the GGN over ``data``: an ``(x, y)`` pair or an iterable of batches."""
        C, F1 = self.n_classes, self.n_features
        self._fitted, self._theta = False, self._read_layer().clone()
        H: torch.Tensor | tuple[torch.Tensor, ...] | None = None
        n, nll = 0, 0.0
        for x, y in _pairs(data, "data"):
            phi, logits = self._forward(x)
            y = y.to(logits.device)
            if y.dim() != 1 or y.shape[0] != phi.shape[0]:
                raise InvalidArgumentError(f"labels must be a (batch,) tensor matching x, got shape {tuple(y.shape)}")
            if y.dtype.is_floating_point or y.min() < 0 or y.max() >= C:
                raise InvalidArgumentError(
                    f"labels must be integer classes in [0, {C}), got {y.dtype} in [{y.min()}, {y.max()}]"
                )
            p = torch.softmax(logits, dim=-1)
            lam = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # (B, C, C) output Hessians
            part: torch.Tensor | tuple[torch.Tensor, ...]
            if self.hessian == "full":
                # sum_n Lambda_n[c, d] phi_n[f] phi_n[g], as one matmul: (C*C*F1, N) @ (N, F1)
                weighted = (lam[:, :, :, None] * phi[:, None, None, :]).reshape(phi.shape[0], -1)
                part = (weighted.T @ phi).reshape(C, C, F1, F1).permute(0, 2, 1, 3).reshape(C * F1, C * F1)
            elif self.hessian == "diag":
                part = (p * (1 - p)).T @ (phi * phi)  # (C, F1)
            else:
                part = (lam.sum(0), phi.T @ phi)  # (G, A)
            if H is None:
                H = part
            elif isinstance(H, tuple) and isinstance(part, tuple):  # kron: (G, A)
                H = tuple(a + b for a, b in zip(H, part))
            elif isinstance(H, torch.Tensor) and isinstance(part, torch.Tensor):
                H = H + part
            nll += F.cross_entropy(logits, y.long(), reduction="sum").item()
            n += phi.shape[0]
        if n == 0:
            raise InvalidArgumentError("data yielded no examples; fit needs at least one (x, y) batch")
        self.n_data, self._nll_map = n, nll
        if self.hessian == "kron":
            assert isinstance(H, tuple)  # kron accumulates (G, A)
            G, A = H
            self._G, self._A = G, A
            lg, self._QG = torch.linalg.eigh(G)
            la, self._QA = torch.linalg.eigh(A)
            self._lg, self._la = lg.clamp_min(0), la.clamp_min(0)
            self._eig = (self._lg[:, None] * self._la[None, :] / n).reshape(-1)
        elif self.hessian == "full":
            assert isinstance(H, torch.Tensor)
            self._H = (H + H.T) / 2
            eig, self._V = torch.linalg.eigh(self._H)
            self._eig = eig.clamp_min(0)
        else:
            assert isinstance(H, torch.Tensor)  # diag accumulates one (C, F1) tensor
            self._H = H
            self._eig = H.reshape(-1)
        self._fitted = True
        return self

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise InvalidArgumentError("this LastLayerLaplace is not fitted; call .fit((x, y)) or .fit(loader) first")

    def hessian_matrix(self) -> torch.Tensor:
        """The (approximate) GGN as a dense (P, P) float64 matrix, in ``vec([W | b])`` order."""
        self._check_fitted()
        if self.hessian == "full":
            return self._H.clone()
        if self.hessian == "diag":
            return torch.diag(self._H.reshape(-1))
        return torch.kron(self._G, self._A) / self.n_data

    def posterior_covariance(self, prior_precision: float | None = None) -> torch.Tensor:
        """The posterior covariance ``(H + delta I)^-1`` as a dense (P, P) float64 matrix."""
        delta = self._delta(prior_precision)
        if self.hessian == "diag":
            return torch.diag(1.0 / (self._eig + delta))
        if self.hessian == "full":
            V = self._V
        else:
            V = torch.kron(self._QG, self._QA)
        cov: torch.Tensor = (V / (self._eig + delta)) @ V.T
        return cov

    def _delta(self, prior_precision: float | None) -> float:
        self._check_fitted()
        if prior_precision is None:
            return self.prior_precision
        return _check_precision("prior_precision", prior_precision)

    # -- evidence and prior ---------------------------------------------------------

    def log_marginal_likelihood(self, prior_precision: float | None = None) -> float:
        """The Laplace approximation of ``log p(D | delta)`` (see the module docstring)."""
        delta = self._delta(prior_precision)
        sq = float((self.theta_map**2).sum())
        logdet = float(torch.log(self._eig + delta).sum())
        return -self._nll_map - 0.5 * delta * sq + 0.5 * self.n_params * math.log(delta) - 0.5 * logdet

    def optimize_prior_precision(
        self,
        method: str = "marglik",
        *,
        val: tuple[torch.Tensor, torch.Tensor] | None = None,
        grid: Iterable[float] | None = None,
        bounds: tuple[float, float] = (1e-6, 1e6),
    ) -> float:
        """Set and return the prior precision ``delta``.

        ``"marglik"`` maximises :meth:`log_marginal_likelihood` over ``log delta`` in
        ``bounds`` (Brent's method on the closed form: deterministic). ``"grid"`` picks the
        ``delta`` of ``grid`` (default ``10 ** (k / 5)`` for ``k = -20..20``) with the lowest
        probit predictive NLL (:func:`seedwise.metrics.nll`) on ``val``, an ``(x, y)`` pair
        or an iterable of batches.
        """
        check_choice("method", method, PRIOR_METHODS)
        self._check_fitted()
        if method == "marglik":
            from scipy.optimize import minimize_scalar

            lo, hi = (_check_precision("bounds", b) for b in bounds)
            if not lo < hi:
                raise InvalidArgumentError(f"bounds must be (low, high) with low < high, got {bounds}")
            result = minimize_scalar(
                lambda t: -self.log_marginal_likelihood(math.exp(t)),
                bounds=(math.log(lo), math.log(hi)),
                method="bounded",
                options={"xatol": 1e-8},
            )
            self.prior_precision = float(math.exp(result.x))
            return self.prior_precision
        if val is None:
            raise InvalidArgumentError("method='grid' needs validation data: val=(x_val, y_val)")
        values = [10.0 ** (e / 5) for e in range(-20, 21)] if grid is None else list(grid)
        if not values:
            raise InvalidArgumentError("grid must hold at least one prior precision")
        values = [_check_precision("grid value", v) for v in values]
        from seedwise.metrics import nll

        parts = [(*self._forward(x), y) for x, y in _pairs(val, "val")]
        if not parts:
            raise InvalidArgumentError("val yielded no examples")
        phi = torch.cat([p[0] for p in parts])
        logits = torch.cat([p[1] for p in parts])
        y_val = torch.cat([torch.as_tensor(p[2]).reshape(-1) for p in parts])
        # The full structure's projection is (B, C, P): precompute it once unless it is large.
        small = phi.shape[0] * self.n_params * self.n_classes <= _CHUNK_ELEMENTS
        proj = self._project(phi, diagonal_only=True) if small else None
        best, best_nll = values[0], math.inf
        for delta in values:
            var = self._logit_var(phi, delta) if proj is None else self._logit_cov(proj, delta, diagonal_only=True)
            value = float(nll(self._probit(logits, var), y_val))
            if value < best_nll:
                best, best_nll = delta, value
        self.prior_precision = best
        return best

    # -- prediction -----------------------------------------------------------------

    def _logit_var(self, phi: torch.Tensor, delta: float) -> torch.Tensor:
        """The diagonal of ``J Sigma J^T`` (B, C), in chunks of rows to bound memory."""
        rows = max(1, _CHUNK_ELEMENTS // (self.n_classes * self.n_params))
        parts = [
            self._logit_cov(self._project(chunk, diagonal_only=True), delta, diagonal_only=True)
            for chunk in torch.split(phi, rows)
        ]
        return torch.cat(parts)

    def _project(self, phi: torch.Tensor, *, diagonal_only: bool = False) -> torch.Tensor:
        """The part of ``J Sigma J^T`` that does not depend on the prior precision
        (computed once, then reused for every prior precision of a grid search)."""
        if self.hessian == "diag":
            return phi * phi  # (B, F1)
        if self.hessian == "kron":
            squared: torch.Tensor = (phi @ self._QA) ** 2  # (B, F1): (phi^T Q_A)_j^2
            return squared
        C, F1 = self.n_classes, self.n_features
        jv: torch.Tensor = torch.einsum("bf,cfp->bcp", phi, self._V.reshape(C, F1, -1))  # (B, C, P): J V
        return jv * jv if diagonal_only else jv

    def _logit_cov(self, proj: torch.Tensor, delta: float, *, diagonal_only: bool = False) -> torch.Tensor:
        """``J Sigma J^T`` per example from :meth:`_project`: (B, C, C), or its diagonal (B, C)."""
        C, F1 = self.n_classes, self.n_features
        if self.hessian == "diag":
            var: torch.Tensor = proj @ (1.0 / (self._eig + delta)).reshape(C, F1).T  # (B, C)
            return var if diagonal_only else torch.diag_embed(var)
        if self.hessian == "kron":
            inv: torch.Tensor = 1.0 / (self._lg[:, None] * self._la[None, :] / self.n_data + delta)  # (C, F1)
            w: torch.Tensor = proj @ inv.T  # (B, C): sum_j u_j / eig_ij, per eigen-direction i of G
            if diagonal_only:
                qg_squared: torch.Tensor = self._QG**2
                return w @ qg_squared.T
            cov: torch.Tensor = torch.einsum("ci,di,bi->bcd", self._QG, self._QG, w)
            return cov
        inv = 1.0 / (self._eig + delta)
        if diagonal_only:  # proj is (J V)^2 here
            return proj @ inv
        full: torch.Tensor = (proj * inv) @ proj.transpose(1, 2)
        return full

    @staticmethod
    def _probit(logits: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
        kappa = 1.0 / torch.sqrt(1.0 + math.pi / 8.0 * var)
        return torch.softmax(kappa * logits, dim=-1)

    def predictive(
        self,
        x: torch.Tensor,
        *,
        method: str = "probit",
        samples: int = 100,
        seeds: Seeds | None = None,
    ) -> torch.Tensor:
        """Predictive class probabilities (B, C), in the model's dtype.

        ``"probit"``: ``softmax(f / sqrt(1 + pi/8 var(f)))``, deterministic, no seeds.
        ``"samples"``: the mean of :meth:`predictive_samples` (needs ``seeds``).
        """
        check_choice("method", method, PREDICTIVES)
        self._check_fitted()
        if method == "samples":
            return self.predictive_samples(x, samples=samples, seeds=seeds).mean(0)  # type: ignore[arg-type]  # None is refused there, with the fix
        phi, logits = self._forward(x)
        probs = self._probit(logits, self._logit_var(phi, self.prior_precision))
        return probs.to(self.last_layer.weight.dtype)

    def predictive_samples(self, x: torch.Tensor, *, samples: int, seeds: Seeds) -> torch.Tensor:
        """Softmax of ``samples`` draws of the logits ``f ~ N(f_MAP, J Sigma J^T)``: (S, B, C).

        Draw ``s`` takes its standard normals from ``seeds[s].torch()``, so it is a pure
        function of (seeds, s, x) whatever ``samples`` is; the global RNG is not touched.
        """
        self._check_fitted()
        n = check_int("samples", samples, low=1)
        if seeds is None:
            raise InvalidTypeError(
                "seeds is required for sampled predictions: pass e.g. seeds=seedwise.Seeds(0)['laplace'], "
                "or use method='probit'"
            )
        seeds = as_seeds(seeds, "seeds")
        phi, logits = self._forward(x)
        cov = self._logit_cov(self._project(phi), self.prior_precision)
        eig, vec = torch.linalg.eigh((cov + cov.transpose(1, 2)) / 2)
        root = vec * eig.clamp_min(0).sqrt()[:, None, :]  # (B, C, C): root @ root^T = cov
        device = logits.device
        z = torch.stack(
            [
                torch.randn(logits.shape, generator=seeds[s].torch(device=device), dtype=logits.dtype, device=device)
                for s in range(n)
            ]
        )
        draws = logits + (root[None] @ z[..., None])[..., 0]  # (S, B, C): one matrix-vector product per draw
        return torch.softmax(draws, dim=-1).to(self.last_layer.weight.dtype)

    def __repr__(self) -> str:
        state = f"fitted on {self.n_data} examples" if self._fitted else "not fitted"
        return (
            f"LastLayerLaplace(hessian={self.hessian!r}, likelihood={self.likelihood!r}, "
            f"params={self.n_params}, prior_precision={self.prior_precision:.4g}, {state})"
        )
