"""Variational (Bayes-by-backprop) layers whose noise comes from explicit keyed streams.

:func:`bayesianize` returns a copy of a model in which every ``nn.Linear`` and
``nn.Conv1d/2d/3d`` is a mean-field Gaussian layer: each weight ``w`` has its own
posterior ``q(w) = N(mu, sigma^2)`` with ``sigma = softplus(rho)``, against a prior
``p(w) = N(0, prior_std^2)`` (Blundell et al. 2015).

How a forward pass draws its noise
----------------------------------
Noise for forward pass ``t`` is a pure function of (stream, t): inside
``with sampling(model, seeds, t):`` each variational layer draws from a fresh
``torch.Generator`` seeded from ``seeds[t][<layer's qualified name>]`` (``t`` may be a
tuple such as ``(epoch, step)``, read as ``seeds[epoch][step]``). Nothing is drawn from
the global RNG. Outside a ``sampling`` block a layer in training mode raises
:class:`NoiseNotSetError` (as equinox's ``Dropout`` raises without a key), and a layer in
eval mode computes with the posterior mean ``mu``, deterministically.

* ``Linear`` uses the local reparameterisation trick (Kingma et al. 2015): the
  pre-activation of every example is Gaussian with mean ``x @ mu^T + b_mu`` and variance
  ``x^2 @ (sigma^2)^T + b_sigma^2``, and that is sampled directly, one independent draw per
  example and output unit. Gradients have lower variance than with one weight sample per
  batch, and the marginal of every output is exact.
* ``Conv`` uses weight reparameterisation: one weight sample ``mu + sigma * eps`` per
  forward pass, shared by the batch. (The local trick is not exact for convolutions,
  whose outputs share weights across positions, so seedwise samples weights instead.)

The ELBO and its 1/N scaling
----------------------------
The negative ELBO of a dataset of ``N`` examples is
``sum_n E_q[-log p(y_n | x_n, w)] + KL(q || p)``. Dividing by ``N`` gives a per-example
loss on the scale of an ordinary mean cross-entropy:
``elbo_loss = mean-batch NLL + kl_weight * KL / N`` -- an unbiased minibatch estimate of
``-ELBO / N`` when ``kl_weight = 1``. Pass the *dataset* size as ``n_data``, not the batch
size: using the batch size over-weights the prior by ``N / B``.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Union

import torch
import torch.nn.functional as F
from torch import nn

from seedwise._validate import check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError, NoiseNotSetError
from seedwise.seeds import Seeds, as_seeds

__all__ = [
    "BayesLinear",
    "BayesConv",
    "NoiseNotSetError",
    "bayesianize",
    "sampling",
    "kl_divergence",
    "elbo_loss",
    "predict",
    "variational_layers",
]

Position = Union[int, tuple[int, ...]]


def _check_real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be a float, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InvalidArgumentError(f"{name} must be finite, got {value}")
    return value


def _gaussian_kl(mu: torch.Tensor, sigma: torch.Tensor, prior_std: float) -> torch.Tensor:
    """Sum over entries of KL(N(mu, sigma^2) || N(0, prior_std^2)), in closed form."""
    log_ratio = torch.log(sigma) - math.log(prior_std)  # not log(ratio**2): that underflows for tiny sigma
    return (0.5 * ((sigma / prior_std) ** 2 + (mu / prior_std) ** 2 - 1.0) - log_ratio).sum()


class _Variational(nn.Module):
    """Shared machinery: posterior parameters, the prior, the KL and the noise stream."""

    prior_std: float
    _noise: Seeds | None
    _generator: torch.Generator | None

    def _setup(self, weight: torch.Tensor, bias: torch.Tensor | None, prior_std: float, rho_init: float) -> None:
        self.prior_std = prior_std
        self.weight_mu = nn.Parameter(weight.detach().clone())
        self.weight_rho = nn.Parameter(torch.full_like(weight, rho_init))
        if bias is not None:
            self.bias_mu = nn.Parameter(bias.detach().clone())
            self.bias_rho = nn.Parameter(torch.full_like(bias, rho_init))
        else:
            self.register_parameter("bias_mu", None)
            self.register_parameter("bias_rho", None)
        self._noise = None
        self._generator = None

    @property
    def weight_sigma(self) -> torch.Tensor:
        """The posterior standard deviation of each weight, ``softplus(weight_rho)``."""
        return F.softplus(self.weight_rho)

    @property
    def bias_sigma(self) -> torch.Tensor | None:
        """The posterior standard deviation of each bias, or None without a bias."""
        return None if self.bias_rho is None else F.softplus(self.bias_rho)

    def kl(self) -> torch.Tensor:
        """KL(q || p) of this layer's weights and biases, in closed form."""
        out = _gaussian_kl(self.weight_mu, self.weight_sigma, self.prior_std)
        bias_sigma = self.bias_sigma
        if self.bias_mu is not None and bias_sigma is not None:
            out = out + _gaussian_kl(self.bias_mu, bias_sigma, self.prior_std)
        return out

    def _randn(self, shape: torch.Size | tuple[int, ...], like: torch.Tensor) -> torch.Tensor | None:
        """Standard normal noise from this layer's stream, or None to use the mean."""
        if self._noise is None:
            if self.training:
                raise NoiseNotSetError(
                    f"{type(self).__name__} is in training mode but has no noise stream, and seedwise never "
                    "draws from the global RNG; wrap the forward pass in "
                    "`with seedwise.bayes.variational.sampling(model, seeds, step): ...`, "
                    "or call model.eval() to predict with the posterior mean"
                )
            return None
        if self._generator is None or self._generator.device != like.device:
            self._generator = self._noise.torch(device=like.device)
        return torch.randn(shape, generator=self._generator, device=like.device, dtype=like.dtype)

    def _describe(self) -> str:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"{self._describe()}, prior_std={self.prior_std}"


class BayesLinear(_Variational):
    """A mean-field Gaussian ``nn.Linear``, sampled with the local reparameterisation trick."""

    def __init__(self, linear: nn.Linear, *, prior_std: float = 1.0, posterior_rho_init: float = -5.0):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self._setup(linear.weight, linear.bias, prior_std, posterior_rho_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = F.linear(x, self.weight_mu, self.bias_mu)
        eps = self._randn(mean.shape, mean)
        if eps is None:
            return mean
        bias_sigma = self.bias_sigma
        bias_var = None if bias_sigma is None else bias_sigma**2
        var = F.linear(x * x, self.weight_sigma**2, bias_var)
        return mean + var.clamp_min(1e-30).sqrt() * eps

    def _describe(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias_mu is not None}"


class BayesConv(_Variational):
    """A mean-field Gaussian ``nn.Conv1d/2d/3d``: one weight sample per forward pass."""

    def __init__(
        self, conv: nn.Conv1d | nn.Conv2d | nn.Conv3d, *, prior_std: float = 1.0, posterior_rho_init: float = -5.0
    ):
        super().__init__()
        self.dims = 1 if isinstance(conv, nn.Conv1d) else 2 if isinstance(conv, nn.Conv2d) else 3
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel_size, self.stride, self.padding = conv.kernel_size, conv.stride, conv.padding
        self.dilation, self.groups, self.padding_mode = conv.dilation, conv.groups, conv.padding_mode
        self._reversed_padding_repeated_twice = list(conv._reversed_padding_repeated_twice)
        self._setup(conv.weight, conv.bias, prior_std, posterior_rho_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        eps_w = self._randn(self.weight_mu.shape, self.weight_mu)
        weight: torch.Tensor
        bias: torch.Tensor | None
        if eps_w is None:
            weight, bias = self.weight_mu, self.bias_mu
        else:
            weight = self.weight_mu + self.weight_sigma * eps_w
            bias, bias_sigma = self.bias_mu, self.bias_sigma
            if bias is not None and bias_sigma is not None:
                eps_b = self._randn(bias.shape, bias)
                assert eps_b is not None  # a noise stream is set: eps_w was drawn
                bias = bias + bias_sigma * eps_b
        conv = (F.conv1d, F.conv2d, F.conv3d)[self.dims - 1]
        if self.padding_mode != "zeros":
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(x, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def _describe(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dims={self.dims}"
        )


def _check_module(name: str, model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise InvalidTypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    return model


def bayesianize(model: nn.Module, *, prior_std: float = 1.0, posterior_rho_init: float = -5.0) -> nn.Module:
    """A deep copy of ``model`` whose Linear and Conv1d/2d/3d layers are variational.

    Each posterior mean starts at the original weight (so a trained model is a good
    start), each posterior std at ``softplus(posterior_rho_init)`` (about 0.0067 for the
    default -5). The original model is not modified. Other layers (BatchNorm, activations,
    ...) are copied unchanged, and so is ``nn.MultiheadAttention`` (it uses its projection
    weights directly, not through ``nn.Linear.forward``). Layers are found by type, so
    code that reads a converted layer's ``.weight`` attribute (PyTorch's fused
    Transformer fast path does) will fail: it has ``weight_mu`` and ``weight_rho`` instead.

    Args:
        model: the network to convert.
        prior_std: standard deviation of the zero-mean Gaussian prior on every weight.
        posterior_rho_init: initial ``rho``; the posterior std is ``softplus(rho)``.
    """
    _check_module("model", model)
    prior = _check_real("prior_std", prior_std)
    if prior <= 0:
        raise InvalidArgumentError(f"prior_std must be > 0, got {prior}")
    rho = _check_real("posterior_rho_init", posterior_rho_init)
    for name, module in model.named_modules():
        if isinstance(module, _Variational):
            raise InvalidArgumentError(
                f"model is already variational (module {name or '<root>'!r} is a {type(module).__name__}); "
                "bayesianize the original deterministic model"
            )
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            if isinstance(module.weight, nn.parameter.UninitializedParameter):
                raise InvalidArgumentError(
                    f"layer {name!r} is lazy and not yet initialised; run one forward pass before bayesianize"
                )
    new = copy.deepcopy(model)

    def convert(module: nn.Module) -> nn.Module:
        if isinstance(module, nn.MultiheadAttention):
            return module  # reads its out_proj's weight directly: converting it would break it
        if isinstance(module, nn.Linear):
            return BayesLinear(module, prior_std=prior, posterior_rho_init=rho)
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            return BayesConv(module, prior_std=prior, posterior_rho_init=rho)
        for child_name, child in module.named_children():
            setattr(module, child_name, convert(child))
        return module

    return convert(new)


def variational_layers(model: nn.Module) -> Iterator[tuple[str, _Variational]]:
    """The (qualified name, layer) of every variational layer in ``model``."""
    for name, module in _check_module("model", model).named_modules():
        if isinstance(module, _Variational):
            yield name, module


def _position_stream(seeds: Seeds, position: Position) -> Seeds:
    seeds = as_seeds(seeds, "seeds")
    parts = position if isinstance(position, tuple) else (position,)
    if not parts:
        raise InvalidArgumentError(
            "position must be an int >= 0 or a non-empty tuple of them, e.g. step or (epoch, step)"
        )
    return seeds.child(*(check_int("position", p, low=0) for p in parts))


@contextmanager
def sampling(model: nn.Module, seeds: Seeds, position: Position) -> Iterator[nn.Module]:
    """Within this block, ``model``'s variational layers draw noise for forward pass ``position``.

    Layer ``name`` draws from ``seeds[position][name]`` (a tuple position ``(e, s)`` reads
    ``seeds[e][s][name]``) through a generator made fresh on entry, so the noise is a
    pure function of (stream, position) and never touches the global RNG. Several
    forward passes in one block continue the same streams. On exit the layers go back
    to whatever noise they had before (blocks nest).
    """
    stream = _position_stream(seeds, position)
    layers = list(variational_layers(model))
    if not layers:
        raise InvalidArgumentError(
            "model has no variational layers; convert it first with seedwise.bayes.bayesianize(model)"
        )
    saved = [(layer, layer._noise, layer._generator) for _, layer in layers]
    try:
        for name, layer in layers:
            layer._noise = stream[name] if name else stream["<root>"]
            layer._generator = None
        yield model
    finally:
        for layer, noise, generator in saved:
            layer._noise, layer._generator = noise, generator


def kl_divergence(model: nn.Module) -> torch.Tensor:
    """Sum over every variational weight and bias of KL(q || p), in closed form.

    For ``q = N(mu, sigma^2)`` and ``p = N(0, s^2)``:
    ``log(s / sigma) + (sigma^2 + mu^2) / (2 s^2) - 1/2`` per weight. Differentiable.
    """
    layers = [layer for _, layer in variational_layers(model)]
    if not layers:
        raise InvalidArgumentError(
            "model has no variational layers; convert it first with seedwise.bayes.bayesianize(model)"
        )
    return torch.stack([layer.kl() for layer in layers]).sum()


def elbo_loss(
    logits: torch.Tensor,
    y: torch.Tensor,
    model: nn.Module,
    n_data: int,
    *,
    kl_weight: float = 1.0,
) -> torch.Tensor:
    """The negative ELBO per example: ``cross_entropy(logits, y) + kl_weight * KL / n_data``.

    ``n_data`` is the number of examples in the whole training set (see the module
    docstring for why this, not the batch size). ``kl_weight`` < 1 "tempers" the prior
    (a common warm-up); 1 is the true ELBO.
    """
    n = check_int("n_data", n_data, low=1)
    weight = _check_real("kl_weight", kl_weight)
    if weight < 0:
        raise InvalidArgumentError(f"kl_weight must be >= 0, got {weight}")
    if not isinstance(logits, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise InvalidTypeError("logits and y must be torch tensors")
    return F.cross_entropy(logits, y) + weight * kl_divergence(model) / n


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, *, samples: int, seeds: Seeds) -> torch.Tensor:
    """Predictive class probabilities of ``samples`` posterior draws: shape (S, B, C).

    Draw ``s`` runs ``model(x)`` in eval mode (BatchNorm uses its running statistics)
    inside ``sampling(model, seeds, s)``, so it is the same for any ``samples`` and the
    same bits for the same seeds. The model's train/eval mode is restored afterwards.
    Average over axis 0 for the Bayesian model average.
    """
    _check_module("model", model)
    n = check_int("samples", samples, low=1)
    if not isinstance(x, torch.Tensor):
        raise InvalidTypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        out = []
        for s in range(n):
            with sampling(model, seeds, s):
                out.append(torch.softmax(model(x), dim=-1))
    finally:
        for m, mode in modes.items():
            m.training = mode
    return torch.stack(out)
