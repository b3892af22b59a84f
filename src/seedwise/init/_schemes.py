"""Initialisation schemes: what fills one tensor from the generator it is given.

Each scheme is a frozen dataclass whose fields are its parameters (validated when it is
built) and whose :meth:`Scheme.fill_` draws from the generator it is handed, never from a
global RNG. :func:`as_scheme` turns what a user may write (a name, ``(name, {params})``,
a :class:`Scheme` or a callable) into a :class:`Scheme`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Union, cast, get_args

from seedwise._validate import check_choice, check_real
from seedwise.errors import InvalidArgumentError, InvalidTypeError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "SCHEMES",
    "Constant",
    "Custom",
    "Default",
    "InitFn",
    "KaimingNormal",
    "KaimingUniform",
    "Normal",
    "Orthogonal",
    "Scheme",
    "SchemeLike",
    "TruncNormal",
    "Uniform",
    "XavierNormal",
    "XavierUniform",
    "as_scheme",
]

InitFn = Callable[[str, "torch.Tensor", "torch.Generator"], None]

FanMode = Literal["fan_in", "fan_out"]
Nonlinearity = Literal[
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "sigmoid", "tanh", "relu", "leaky_relu", "selu",
]  # fmt: skip
_FAN_MODES: tuple[str, ...] = get_args(FanMode)
_NONLINEARITIES: tuple[str, ...] = get_args(Nonlinearity)


#: Every scheme parameter is checked with one wording: "... must be a real number".
_real = functools.partial(check_real, what="a real number")


class Scheme:
    """An initialiser for one tensor: fills it in place from the generator it is given.

    Subclasses are frozen dataclasses whose fields are the scheme's parameters.
    ``min_dims`` is the number of dimensions a tensor needs for the scheme to be defined
    (fans need two). Given as ``scheme=``, a scheme covers weights (two or more
    dimensions) only; given in ``rules=``, it covers what the rule matches.
    """

    name: ClassVar[str] = ""
    min_dims: ClassVar[int] = 0

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, name: str, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        if tensor.dim() < self.min_dims:
            raise InvalidArgumentError(
                f"scheme {self.label} needs a tensor with at least {self.min_dims} dimensions, but "
                f"{name!r} has shape {tuple(tensor.shape)}; give it another rule, e.g. rules={{{name!r}: 'zeros'}}"
            )
        self.fill_(tensor, generator)

    @property
    def label(self) -> str:
        """How the report shows this scheme, e.g. ``trunc_normal(std=0.02)``."""
        args = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))  # type: ignore[arg-type]  # every subclass is a dataclass
        return f"{self.name}({args})" if args else self.name


@dataclass(frozen=True)
class Default(Scheme):
    """Each module's own ``reset_parameters()`` distribution, seeded per parameter name."""

    name: ClassVar[str] = "default"


@dataclass(frozen=True)
class XavierUniform(Scheme):
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""

    gain: float = 1.0
    name: ClassVar[str] = "xavier_uniform"
    min_dims: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _real("XavierUniform.gain", self.gain, positive=True)

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        import torch.nn.init as I

        I.xavier_uniform_(tensor, gain=self.gain, generator=generator)


@dataclass(frozen=True)
class XavierNormal(Scheme):
    """Glorot normal: N(0, std²) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""

    gain: float = 1.0
    name: ClassVar[str] = "xavier_normal"
    min_dims: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _real("XavierNormal.gain", self.gain, positive=True)

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        import torch.nn.init as I

        I.xavier_normal_(tensor, gain=self.gain, generator=generator)


@dataclass(frozen=True)
class _Kaiming(Scheme):
    a: float = 0.0
    mode: FanMode = "fan_in"
    nonlinearity: Nonlinearity = "leaky_relu"
    min_dims: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _real(f"{type(self).__name__}.a", self.a)
        check_choice(f"{type(self).__name__}.mode", self.mode, _FAN_MODES)
        check_choice(f"{type(self).__name__}.nonlinearity", self.nonlinearity, _NONLINEARITIES)


@dataclass(frozen=True)
class KaimingUniform(_Kaiming):
    """He uniform: U(-b, b) with ``b = gain * sqrt(3 / fan)`` (gain from ``nonlinearity`` and ``a``)."""

    name: ClassVar[str] = "kaiming_uniform"

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        import torch.nn.init as I

        I.kaiming_uniform_(tensor, a=self.a, mode=self.mode, nonlinearity=self.nonlinearity, generator=generator)


@dataclass(frozen=True)
class KaimingNormal(_Kaiming):
    """He normal: N(0, std²) with ``std = gain / sqrt(fan)``."""

    name: ClassVar[str] = "kaiming_normal"

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        import torch.nn.init as I

        I.kaiming_normal_(tensor, a=self.a, mode=self.mode, nonlinearity=self.nonlinearity, generator=generator)


@dataclass(frozen=True)
class Orthogonal(Scheme):
    """A (semi-)orthogonal matrix (trailing dimensions flattened), times ``gain``."""

    gain: float = 1.0
    name: ClassVar[str] = "orthogonal"
    min_dims: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _real("Orthogonal.gain", self.gain, positive=True)

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        import torch.nn.init as I

        I.orthogonal_(tensor, gain=self.gain, generator=generator)


@dataclass(frozen=True)
class TruncNormal(Scheme):
    """N(mean, std²) truncated to ``mean ± cutoff * std``.

    Unlike ``torch.nn.init.trunc_normal_``, whose bounds ``a, b`` are absolute (so
    ``std=0.02`` with its default ``[-2, 2]`` truncates nothing), the cutoff here is in
    standard deviations. The drawn values have std ``std * truncnorm(-cutoff, cutoff).std()``
    (0.880 of ``std`` for the default cutoff of 2).
    """

    std: float = 1.0
    mean: float = 0.0
    cutoff: float = 2.0
    name: ClassVar[str] = "trunc_normal"

    def __post_init__(self) -> None:
        _real("TruncNormal.std", self.std, positive=True)
        _real("TruncNormal.mean", self.mean)
        _real("TruncNormal.cutoff", self.cutoff, positive=True)

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        import torch.nn.init as I

        half = self.cutoff * self.std
        I.trunc_normal_(tensor, self.mean, self.std, self.mean - half, self.mean + half, generator=generator)


@dataclass(frozen=True)
class Normal(Scheme):
    """N(mean, std²)."""

    std: float = 1.0
    mean: float = 0.0
    name: ClassVar[str] = "normal"

    def __post_init__(self) -> None:
        _real("Normal.std", self.std, positive=True)
        _real("Normal.mean", self.mean)

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        tensor.normal_(self.mean, self.std, generator=generator)


@dataclass(frozen=True)
class Uniform(Scheme):
    """U(low, high)."""

    low: float = 0.0
    high: float = 1.0
    name: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        low, high = _real("Uniform.low", self.low), _real("Uniform.high", self.high)
        if not low < high:
            raise InvalidArgumentError(f"Uniform needs low < high, got low={low}, high={high}")

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        tensor.uniform_(self.low, self.high, generator=generator)


@dataclass(frozen=True)
class Constant(Scheme):
    """Every element set to ``value`` (no randomness): ``"zeros"`` and ``"ones"`` are these."""

    value: float = 0.0
    name: ClassVar[str] = "constant"

    def __post_init__(self) -> None:
        _real("Constant.value", self.value)

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        tensor.fill_(self.value)

    @property
    def label(self) -> str:
        return {0.0: "zeros", 1.0: "ones"}.get(float(self.value), f"constant({self.value!r})")


@dataclass(frozen=True)
class Custom(Scheme):
    """A user rule ``fn(name, tensor, generator) -> None`` that fills ``tensor`` in place."""

    fn: InitFn = field(default=None)  # type: ignore[assignment]  # Custom() without fn: the clear error below
    name: ClassVar[str] = "custom"

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise InvalidTypeError(f"Custom needs a callable (name, tensor, generator) -> None, got {self.fn!r}")

    def __call__(self, name: str, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        self.fn(name, tensor, cast("torch.Generator", generator))  # initialize always passes one

    @property
    def label(self) -> str:
        return f"custom({getattr(self.fn, '__qualname__', repr(self.fn))})"


#: Scheme names accepted as strings (``scheme="kaiming_normal"``).
SCHEMES: dict[str, Callable[..., Scheme]] = {
    "default": Default,
    "xavier_uniform": XavierUniform,
    "xavier_normal": XavierNormal,
    "kaiming_uniform": KaimingUniform,
    "kaiming_normal": KaimingNormal,
    "orthogonal": Orthogonal,
    "trunc_normal": TruncNormal,
    "normal": Normal,
    "uniform": Uniform,
    "constant": Constant,
    "zeros": lambda: Constant(0.0),
    "ones": lambda: Constant(1.0),
}

SchemeLike = Union[str, Scheme, "tuple[str, Mapping[str, Any]]", InitFn]


def as_scheme(scheme: SchemeLike, name: str = "scheme") -> Scheme:
    """Coerce a scheme name, ``(name, {params})``, :class:`Scheme` or callable into a :class:`Scheme`."""
    if isinstance(scheme, Scheme):
        return scheme
    kwargs: Mapping[str, Any] = {}
    if isinstance(scheme, tuple):
        if len(scheme) != 2 or not isinstance(scheme[0], str) or not isinstance(scheme[1], Mapping):
            raise InvalidTypeError(
                f"{name} as a tuple must be (scheme_name, {{params}}), e.g. ('trunc_normal', {{'std': 0.02}}); "
                f"got {scheme!r}"
            )
        scheme, kwargs = scheme
    if isinstance(scheme, str):
        if scheme not in SCHEMES:
            raise InvalidArgumentError(
                f"{name} {scheme!r} is unknown; valid: {', '.join(SCHEMES)}, a seedwise.init.Scheme, "
                "or a callable (name, tensor, generator) -> None"
            )
        try:
            return SCHEMES[scheme](**kwargs)
        except TypeError as exc:
            if isinstance(exc, InvalidTypeError):
                raise
            factory = SCHEMES[scheme]
            valid = [f.name for f in fields(factory)] if isinstance(factory, type) else []
            raise InvalidArgumentError(
                f"{name} {scheme!r} takes parameters {valid or 'none'}; got {sorted(kwargs)}"
            ) from None
    if callable(scheme):
        return Custom(scheme)
    raise InvalidTypeError(
        f"{name} must be a scheme name ({', '.join(SCHEMES)}), a seedwise.init.Scheme, a (name, params) "
        f"tuple or a callable (name, tensor, generator) -> None; got {type(scheme).__name__} {scheme!r}"
    )
