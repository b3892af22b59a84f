"""Name-keyed seeded initialisation: each parameter draws from its own stream.

PyTorch modules draw their initial weights from the global RNG in construction order,
so inserting one layer shifts the weights of every layer built after it, and two models
built in a different order differ under the same seed. :func:`initialize` re-draws every
parameter in place from ``seeds[qualified_parameter_name]`` instead, so that

* the same model under the same seeds gets bit-identical weights however and in
  whatever order it was built;
* adding, removing or renaming one submodule leaves every other parameter bit-identical.

Rules (the contract):

* **Streams.** Parameter ``"encoder.0.weight"`` is filled by
  ``seeds["encoder.0.weight"].torch(device=param.device)`` and nothing else. A tied
  (shared) parameter is drawn once, under the first name ``named_parameters()`` gives it.
* **scheme="default"** reproduces the distribution of each module's own
  ``reset_parameters()`` (Linear, Conv*/ConvTranspose*, Bilinear, Embedding(Bag) with its
  ``padding_idx`` row zeroed, LayerNorm, GroupNorm, RMSNorm, BatchNorm/InstanceNorm with
  running statistics reset, RNN/LSTM/GRU and their cells, MultiheadAttention, Transformer,
  PReLU) but seeded per parameter name. A module subclass that overrides
  ``reset_parameters`` is treated as its own kind (its override is respected).
* **Modules seedwise has no rule for** but that define ``reset_parameters()``: it is
  called inside :func:`seedwise.keyed` with the stream ``seeds[module_name]`` at position
  ``"reset_parameters"``, and the global RNGs are restored afterwards. Such a module's
  parameters are then keyed by *module* name, not parameter name: they are unchanged by
  edits elsewhere in the model, but adding a parameter to that module can change its
  others. Any parameter with a rule (a child's, or a scheme) is then drawn from its own
  stream as usual.
* **A parameter no rule covers** (a module with a bare ``nn.Parameter`` and no
  ``reset_parameters``) raises :class:`~seedwise.errors.InvalidArgumentError` naming it;
  nothing is skipped silently. Give it a rule with ``rules={"name": scheme}``.
* **Named schemes** (``"xavier_uniform"``, ``"kaiming_normal"``, ``TruncNormal(std=0.02)``
  ...) given as ``scheme=`` apply to weights, the parameters with two or more dimensions
  (matrices, kernels, embedding tables); biases, norm scales and all buffers keep the
  default rule (so ``scheme=TruncNormal(std=0.02)`` does not zero a LayerNorm's scale). ``rules=`` maps
  ``fnmatch`` patterns of parameter names to schemes, first match wins, and applies to
  every parameter it matches. A callable ``(name, tensor, generator) -> None`` applies to
  every parameter.
* **In place, on any device.** Every tensor keeps its storage (no second copy of the
  weights; a non-contiguous tensor, e.g. channels-last, is drawn into a contiguous
  temporary of its own size so the values do not depend on the memory format), and each
  generator lives on its parameter's device. The global RNGs are left untouched.
"""

from __future__ import annotations

import fnmatch
import functools
import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Union

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import SeedLike, as_seeds

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "initialize",
    "InitReport",
    "InitEntry",
    "Scheme",
    "Default",
    "XavierUniform",
    "XavierNormal",
    "KaimingUniform",
    "KaimingNormal",
    "Orthogonal",
    "TruncNormal",
    "Normal",
    "Uniform",
    "Constant",
    "Custom",
    "SCHEMES",
    "as_scheme",
]

InitFn = Callable[[str, "torch.Tensor", "torch.Generator"], None]

_FAN_MODES = ("fan_in", "fan_out")
_NONLINEARITIES = (
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "sigmoid", "tanh", "relu", "leaky_relu", "selu",
)  # fmt: skip


def _check_real(name: str, value: object, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        raise InvalidArgumentError(f"{name} must be a finite {'positive ' if positive else ''}number, got {value}")
    return value


# -- schemes ------------------------------------------------------------------------


class Scheme:
    """An initialiser for one tensor: fills it in place from the generator it is given.

    Subclasses are frozen dataclasses whose fields are the scheme's parameters.
    ``min_dims`` is the number of dimensions a tensor needs for the scheme to be defined
    (fans need two). Given as ``scheme=``, a scheme covers weights (two or more
    dimensions) only; given in ``rules=``, it covers what the rule matches.
    """

    name: ClassVar[str] = ""
    min_dims: ClassVar[int] = 0

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, name: str, tensor: torch.Tensor, generator: torch.Generator) -> None:
        if tensor.dim() < self.min_dims:
            raise InvalidArgumentError(
                f"scheme {self.label} needs a tensor with at least {self.min_dims} dimensions, but "
                f"{name!r} has shape {tuple(tensor.shape)}; give it another rule, e.g. rules={{{name!r}: 'zeros'}}"
            )
        self.fill_(tensor, generator)

    @property
    def label(self) -> str:
        """How the report shows this scheme, e.g. ``trunc_normal(std=0.02)``."""
        args = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))  # type: ignore[arg-type]
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
        _check_real("XavierUniform.gain", self.gain, positive=True)

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
        _check_real("XavierNormal.gain", self.gain, positive=True)

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        import torch.nn.init as I

        I.xavier_normal_(tensor, gain=self.gain, generator=generator)


@dataclass(frozen=True)
class _Kaiming(Scheme):
    a: float = 0.0
    mode: str = "fan_in"
    nonlinearity: str = "leaky_relu"
    min_dims: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _check_real(f"{type(self).__name__}.a", self.a)
        from seedwise._validate import check_choice

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
        _check_real("Orthogonal.gain", self.gain, positive=True)

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
        _check_real("TruncNormal.std", self.std, positive=True)
        _check_real("TruncNormal.mean", self.mean)
        _check_real("TruncNormal.cutoff", self.cutoff, positive=True)

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
        _check_real("Normal.std", self.std, positive=True)
        _check_real("Normal.mean", self.mean)

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        tensor.normal_(self.mean, self.std, generator=generator)


@dataclass(frozen=True)
class Uniform(Scheme):
    """U(low, high)."""

    low: float = 0.0
    high: float = 1.0
    name: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        low, high = _check_real("Uniform.low", self.low), _check_real("Uniform.high", self.high)
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
        _check_real("Constant.value", self.value)

    def fill_(self, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        tensor.fill_(self.value)

    @property
    def label(self) -> str:
        return {0.0: "zeros", 1.0: "ones"}.get(float(self.value), f"constant({self.value!r})")


@dataclass(frozen=True)
class Custom(Scheme):
    """A user rule ``fn(name, tensor, generator) -> None`` that fills ``tensor`` in place."""

    fn: InitFn = field(default=None)  # type: ignore[assignment]
    name: ClassVar[str] = "custom"

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise InvalidTypeError(f"Custom needs a callable (name, tensor, generator) -> None, got {self.fn!r}")

    def __call__(self, name: str, tensor: torch.Tensor, generator: torch.Generator | None) -> None:
        self.fn(name, tensor, generator)

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
                f"{name} as a tuple must be (scheme_name, {{params}}), e.g. ('trunc_normal', {{'std': 0.02}}); got {scheme!r}"
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


# -- default rules: what each module's reset_parameters() does, per parameter --------


@dataclass(frozen=True)
class _Rule:
    label: str
    fill: Callable[[Any, Any], None]  # (tensor, generator | None)
    random: bool = True


def _uniform_rule(bound: float) -> _Rule:
    return _Rule(f"uniform(-{bound:.6g}, {bound:.6g})", lambda t, g: t.uniform_(-bound, bound, generator=g))


def _const_rule(value: float) -> _Rule:
    return _Rule(
        {0.0: "zeros", 1.0: "ones"}.get(value, f"constant({value})"), lambda t, g: t.fill_(value), random=False
    )


def _fan_in_bound(weight: torch.Tensor) -> float:
    import torch.nn.init as I

    fan_in, _ = I._calculate_fan_in_and_fan_out(weight)
    return 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0


def _linear_rules(m) -> dict[str, _Rule]:
    import torch.nn.init as I

    rules = {
        "weight": _Rule("kaiming_uniform(a=sqrt(5))", lambda t, g: I.kaiming_uniform_(t, a=math.sqrt(5), generator=g))
    }
    if getattr(m, "bias", None) is not None:
        rules["bias"] = _uniform_rule(_fan_in_bound(m.weight))
    return rules


def _bilinear_rules(m) -> dict[str, _Rule]:
    bound = 1 / math.sqrt(m.weight.size(1))
    rules = {"weight": _uniform_rule(bound)}
    if m.bias is not None:
        rules["bias"] = _uniform_rule(bound)
    return rules


def _embedding_rules(m) -> dict[str, _Rule]:
    pad = m.padding_idx

    def fill(t, g):
        t.normal_(0.0, 1.0, generator=g)
        if pad is not None:
            t[pad].fill_(0)

    return {"weight": _Rule("normal(0, 1)" + (f", row {pad} zeroed" if pad is not None else ""), fill)}


def _affine_norm_rules(m) -> dict[str, _Rule]:
    rules = {}
    if getattr(m, "weight", None) is not None:
        rules["weight"] = _const_rule(1.0)
    if getattr(m, "bias", None) is not None:
        rules["bias"] = _const_rule(0.0)
    return rules


def _batchnorm_rules(m) -> dict[str, _Rule]:
    rules = _affine_norm_rules(m)
    if m.track_running_stats:
        rules["running_mean"] = _const_rule(0.0)
        rules["running_var"] = _const_rule(1.0)
        rules["num_batches_tracked"] = _const_rule(0.0)
    return rules


def _rnn_rules(m) -> dict[str, _Rule]:
    stdv = 1.0 / math.sqrt(m.hidden_size) if m.hidden_size > 0 else 0.0
    return {name: _uniform_rule(stdv) for name, _ in m.named_parameters(recurse=False)}


def _mha_rules(m) -> dict[str, _Rule]:
    import torch.nn.init as I

    xu = _Rule("xavier_uniform", lambda t, g: I.xavier_uniform_(t, generator=g))
    xn = _Rule("xavier_normal", lambda t, g: I.xavier_normal_(t, generator=g))
    names = ("in_proj_weight",) if m._qkv_same_embed_dim else ("q_proj_weight", "k_proj_weight", "v_proj_weight")
    rules = dict.fromkeys(names, xu)
    if m.in_proj_bias is not None:
        rules["in_proj_bias"] = _const_rule(0.0)
        if m.out_proj.bias is not None:
            rules["out_proj.bias"] = _const_rule(0.0)  # MHA zeroes its child's bias
    if m.bias_k is not None:
        rules["bias_k"] = xn
    if m.bias_v is not None:
        rules["bias_v"] = xn
    return rules


def _transformer_rules(m) -> dict[str, _Rule]:
    import torch.nn.init as I

    xu = _Rule("xavier_uniform", lambda t, g: I.xavier_uniform_(t, generator=g))
    return {name: xu for name, p in m.named_parameters() if p.dim() > 1}


def _prelu_rules(m) -> dict[str, _Rule]:
    return {"weight": _const_rule(float(m.init))}


@functools.lru_cache(maxsize=1)
def _registry() -> dict[type, tuple[str, Callable[[Any], dict[str, _Rule]]]]:
    """(module class, name of its init method, rule) — a subclass overriding the method is not covered."""
    import torch.nn as nn
    from torch.nn.modules.batchnorm import _NormBase
    from torch.nn.modules.conv import _ConvNd

    reg = [
        (nn.Linear, "reset_parameters", _linear_rules),
        (_ConvNd, "reset_parameters", _linear_rules),
        (nn.Bilinear, "reset_parameters", _bilinear_rules),
        (nn.Embedding, "reset_parameters", _embedding_rules),
        (nn.EmbeddingBag, "reset_parameters", _embedding_rules),
        (nn.LayerNorm, "reset_parameters", _affine_norm_rules),
        (nn.GroupNorm, "reset_parameters", _affine_norm_rules),
        (_NormBase, "reset_parameters", _batchnorm_rules),
        (nn.RNNBase, "reset_parameters", _rnn_rules),
        (nn.RNNCellBase, "reset_parameters", _rnn_rules),
        (nn.MultiheadAttention, "_reset_parameters", _mha_rules),
        (nn.Transformer, "_reset_parameters", _transformer_rules),
        (nn.PReLU, "reset_parameters", _prelu_rules),
    ]
    if hasattr(nn, "RMSNorm"):
        reg.append((nn.RMSNorm, "reset_parameters", _affine_norm_rules))
    return {cls: (method, rule) for cls, method, rule in reg}


def _default_rules(module) -> dict[str, _Rule] | None:
    """The per-tensor rules reproducing ``module``'s own init, or None if seedwise has none."""
    registry = _registry()
    for cls in type(module).__mro__:
        if cls in registry:
            method, rule = registry[cls]
            if getattr(type(module), method, None) is not getattr(cls, method, None):
                return None  # the subclass overrides its init: respect it
            return rule(module)
    return None


# -- the report ---------------------------------------------------------------------


@dataclass(frozen=True)
class InitEntry:
    """How one tensor was initialised.

    Attributes:
        name: its qualified name in the model (``"encoder.0.weight"``).
        kind: ``"parameter"`` or ``"buffer"``.
        shape: its shape.
        scheme: the rule that drew it, e.g. ``"kaiming_uniform(a=sqrt(5))"``, ``"ones"``.
        stream: the :class:`Seeds` it was drawn from, as text; ``None`` when the rule
            draws nothing (a constant).
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    scheme: str
    stream: str | None


@dataclass
class InitReport:
    """What :func:`initialize` did: one :class:`InitEntry` per tensor, in model order."""

    seeds: str
    entries: list[InitEntry] = field(default_factory=list)

    def __iter__(self) -> Iterator[InitEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, name: str) -> InitEntry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(f"no tensor named {name!r} was initialised; names: {', '.join(e.name for e in self.entries)}")

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"seeds": self.seeds, "entries": [{**asdict(e), "shape": list(e.shape)} for e in self.entries]}

    def _rows(self) -> list[tuple[str, ...]]:
        return [
            (e.name, e.kind, "x".join(map(str, e.shape)) or "scalar", e.scheme, e.stream or "- (no draw)")
            for e in self.entries
        ]

    def __rich__(self):
        from rich.table import Table

        table = Table(title=f"seedwise.init.initialize from {self.seeds}")
        for column in ("name", "kind", "shape", "scheme", "stream"):
            table.add_column(column, overflow="fold")
        for row in self._rows():
            table.add_row(*row)
        return table

    def __str__(self) -> str:
        rows = [("name", "kind", "shape", "scheme", "stream")] + self._rows()
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [f"initialised from {self.seeds}"]
        lines += ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for e in self.entries:
            counts[e.scheme] = counts.get(e.scheme, 0) + 1
        n_params = sum(e.kind == "parameter" for e in self.entries)
        return f"InitReport(seeds={self.seeds}, parameters={n_params}, buffers={len(self.entries) - n_params}, schemes={counts})"


# -- initialize ---------------------------------------------------------------------

_ROOT_STREAM = "<root>"


@dataclass
class _Plan:
    name: str
    kind: str
    tensor: Any
    module: str  # qualified name of the owning module
    module_type: str
    rule: _Rule | Scheme | None = None  # None: the owning module's reset_parameters()


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _fill(tensor, fill: Callable[[Any], None]) -> None:
    """Run ``fill`` on ``tensor`` in place; a non-contiguous one via a contiguous temporary."""
    import torch

    if tensor.is_contiguous():
        fill(tensor)
    else:
        tmp = torch.empty_like(tensor, memory_format=torch.contiguous_format)
        fill(tmp)
        tensor.copy_(tmp)


def _covers(scheme: Scheme, tensor: Any) -> bool:
    """Whether ``scheme``, given as ``scheme=``, applies to ``tensor``: a callable to every
    parameter, a named scheme to weights (two or more dimensions) only."""
    if isinstance(scheme, Default):
        return False
    if isinstance(scheme, Custom):
        return True
    return tensor.dim() >= max(2, scheme.min_dims)


def _check_rules(rules: Mapping[str, SchemeLike] | None) -> list[tuple[str, Scheme]]:
    if rules is None:
        return []
    if not isinstance(rules, Mapping):
        raise InvalidTypeError(f"rules must be a mapping {{name pattern: scheme}}, got {type(rules).__name__}")
    out = []
    for pattern, scheme in rules.items():
        if not isinstance(pattern, str) or not pattern:
            raise InvalidTypeError(f"rules keys must be parameter names or fnmatch patterns (str), got {pattern!r}")
        out.append((pattern, as_scheme(scheme, name=f"rules[{pattern!r}]")))
    return out


def initialize(
    model: torch.nn.Module,
    seeds: SeedLike,
    *,
    scheme: SchemeLike = "default",
    rules: Mapping[str, SchemeLike] | None = None,
) -> InitReport:
    """Re-initialise every parameter (and resettable buffer) of ``model`` in place, each from its own stream.

    Args:
        model: a ``torch.nn.Module`` on any device (lazy modules must be materialised first).
        seeds: the stream to key by; parameter ``"a.b.weight"`` draws from
            ``seeds["a.b.weight"]``. Usually ``root["init"]``.
        scheme: ``"default"`` (each module's ``reset_parameters()`` distribution), a name
            from :data:`SCHEMES`, ``(name, {params})`` such as ``("trunc_normal", {"std": 0.02})``,
            a :class:`Scheme` such as ``TruncNormal(std=0.02)``, or a callable
            ``(name, tensor, generator) -> None``. See the module docstring for which
            tensors a named scheme covers.
        rules: ``{pattern: scheme}`` for particular parameters, matched with ``fnmatch``
            against qualified names in the given order (``{"*.bias": "zeros",
            "head.weight": TruncNormal(std=0.02)}``); the first match wins over ``scheme``.

    Returns:
        An :class:`InitReport` listing each tensor, its scheme and its stream.

    Raises:
        InvalidArgumentError: an unknown scheme, or a parameter no rule covers (named).
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise InvalidTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    seeds = as_seeds(seeds)
    global_scheme = as_scheme(scheme)
    explicit = _check_rules(rules)

    canonical_params = {id(p): name for name, p in model.named_parameters()}
    canonical_buffers = {id(b): name for name, b in model.named_buffers()}
    for name, p in model.named_parameters():
        if isinstance(p, torch.nn.parameter.UninitializedParameter):
            raise InvalidArgumentError(
                f"parameter {name!r} is an uninitialised lazy parameter; run one forward pass to "
                "materialise lazy modules before seedwise.init.initialize"
            )

    # 1. default rules, claimed top-down (an ancestor's claim wins, as MultiheadAttention's
    #    zeroing of out_proj.bias runs after out_proj's own init in torch).
    modules = dict(model.named_modules())
    default: dict[str, _Rule | None] = {}
    owner: dict[str, tuple[str, Any]] = {}
    for mname, module in modules.items():
        claims = _default_rules(module)
        for local, rule in (claims or {}).items():
            default.setdefault(_join(mname, local), rule)
        # A module seedwise has no rule for is drawn by its own reset_parameters(); one it
        # has a rule for is not (that method would not draw a parameter the rule does not know).
        generic = claims is None and callable(getattr(module, "reset_parameters", None))
        for local, p in module.named_parameters(recurse=False):
            qname = _join(mname, local)
            if canonical_params.get(id(p)) != qname:
                continue  # a tied parameter: drawn under its first name
            owner[qname] = (mname, module)
            if qname not in default and generic:
                default[qname] = None  # drawn by the module's reset_parameters()

    # 2. the rule of every parameter: explicit rule > scheme (where defined) > default.
    plans: list[_Plan] = []
    missing: list[str] = []
    for qname, p in model.named_parameters():
        mname, module = owner[qname]
        choice: _Rule | Scheme | None
        matched = next((s for pattern, s in explicit if fnmatch.fnmatchcase(qname, pattern)), None)
        if matched is not None and not isinstance(matched, Default):
            choice = matched
        elif matched is None and _covers(global_scheme, p):
            choice = global_scheme
        elif qname in default:
            choice = default[qname]
        else:
            why = (
                "whose seedwise rule does not cover it"
                if _default_rules(module) is not None
                else "which has no reset_parameters() and no seedwise rule"
            )
            missing.append(f"{qname!r} (a parameter of {type(module).__name__} {mname or '<model>'!r}, {why})")
            continue
        plans.append(_Plan(qname, "parameter", p, mname, type(module).__name__, choice))
    if missing:
        raise InvalidArgumentError(
            f"cannot re-initialise {', '.join(missing)}; give it a rule, e.g. "
            f"rules={{{missing[0].split()[0]}: seedwise.init.TruncNormal(std=0.02)}}, or define "
            "reset_parameters() on its module"
        )
    for qname, b in model.named_buffers():
        rule = default.get(qname)
        if rule is not None and canonical_buffers.get(id(b)) == qname:
            mname = qname.rpartition(".")[0]
            plans.append(_Plan(qname, "buffer", b, mname, type(modules[mname]).__name__, rule))

    # 3. draw. Modules without a rule first (their reset_parameters() may touch children),
    #    then every tensor from its own stream.
    from seedwise.everything import keyed

    report = InitReport(seeds=repr(seeds))
    reset_modules = list(dict.fromkeys(plan.module for plan in plans if plan.rule is None))
    with torch.no_grad():
        for mname in modules:
            if mname in reset_modules:
                with keyed(seeds[mname or _ROOT_STREAM], "reset_parameters"):
                    modules[mname].reset_parameters()
        for plan in plans:
            tensor = plan.tensor
            if plan.rule is None:
                stream = seeds[plan.module or _ROOT_STREAM]["reset_parameters"]
                label = f"{plan.module_type}.reset_parameters() (keyed by module)"
            else:
                stream = seeds[plan.name]
                label = plan.rule.label
                draws = not isinstance(plan.rule, Constant) and getattr(plan.rule, "random", True)
                if tensor.numel() == 0 or tensor.is_meta:
                    label += " (empty: nothing drawn)" if tensor.numel() == 0 else " (meta: nothing drawn)"
                    draws = False
                else:
                    rule = plan.rule
                    generator = stream.torch(device=tensor.device) if draws else None
                    if isinstance(rule, Scheme):
                        _fill(tensor, lambda t, rule=rule, name=plan.name, g=generator: rule(name, t, g))
                    else:
                        _fill(tensor, lambda t, rule=rule, g=generator: rule.fill(t, g))
                if not draws:
                    stream = None
            report.entries.append(
                InitEntry(
                    plan.name, plan.kind, tuple(tensor.shape), label, repr(stream) if stream is not None else None
                )
            )
    return report
