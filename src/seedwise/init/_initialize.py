""":func:`initialize`: decide the rule of every tensor of a model, then draw each from its own stream."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.init._report import InitEntry, InitReport
from seedwise.init._rules import Rule, default_rules
from seedwise.init._schemes import Constant, Custom, Default, Scheme, SchemeLike, as_scheme
from seedwise.seeds import SeedLike, Seeds, as_seeds

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["initialize"]

#: The stream name of the model itself, when it is a module drawn by its own reset_parameters().
_ROOT_STREAM = "<root>"


@dataclass
class _Plan:
    """One tensor and the rule that will draw it."""

    name: str
    kind: str
    tensor: Any
    module: str  # qualified name of the owning module
    module_type: str
    rule: Rule | Scheme | None = None  # None: the owning module's reset_parameters()


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
    modules = dict(model.named_modules())
    plans = _plan(model, modules, global_scheme, explicit)
    return _draw(plans, modules, seeds)


# -- decide: the rule of every tensor, before anything is drawn -------------------------


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


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _covers(scheme: Scheme, tensor: Any) -> bool:
    """Whether ``scheme``, given as ``scheme=``, applies to ``tensor``: a callable to every
    parameter, a named scheme to weights (two or more dimensions) only."""
    if isinstance(scheme, Default):
        return False
    if isinstance(scheme, Custom):
        return True
    return bool(tensor.dim() >= max(2, scheme.min_dims))


def _default_claims(
    modules: dict[str, Any], canonical_params: dict[int, str]
) -> tuple[dict[str, Rule | None], dict[str, tuple[str, Any]]]:
    """The default rule of each tensor (None: its module's reset_parameters()) and each parameter's owner.

    Claimed top-down: an ancestor's claim wins, as MultiheadAttention's zeroing of
    out_proj.bias runs after out_proj's own init in torch.
    """
    default: dict[str, Rule | None] = {}
    owner: dict[str, tuple[str, Any]] = {}
    for mname, module in modules.items():
        claims = default_rules(module)
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
    return default, owner


def _plan(
    model: torch.nn.Module, modules: dict[str, Any], global_scheme: Scheme, explicit: list[tuple[str, Scheme]]
) -> list[_Plan]:
    """Every tensor to draw, with its rule: explicit rule > scheme (where defined) > default."""
    import torch

    canonical_params = {id(p): name for name, p in model.named_parameters()}
    canonical_buffers = {id(b): name for name, b in model.named_buffers()}
    for name, p in model.named_parameters():
        if isinstance(p, torch.nn.parameter.UninitializedParameter):
            raise InvalidArgumentError(
                f"parameter {name!r} is an uninitialised lazy parameter; run one forward pass to "
                "materialise lazy modules before seedwise.init.initialize"
            )
    default, owner = _default_claims(modules, canonical_params)

    plans: list[_Plan] = []
    missing: list[str] = []
    for qname, p in model.named_parameters():
        mname, module = owner[qname]
        choice: Rule | Scheme | None
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
                if default_rules(module) is not None
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
    return plans


# -- do: draw every tensor from its own stream --------------------------------------------


def _draw(plans: list[_Plan], modules: dict[str, Any], seeds: Seeds) -> InitReport:
    """Modules without a rule first (their reset_parameters() may touch children), then every
    tensor from its own stream."""
    import torch

    from seedwise.process.seeding import keyed

    report = InitReport(seeds=repr(seeds))
    reset_modules = dict.fromkeys(plan.module for plan in plans if plan.rule is None)
    with torch.no_grad():
        for mname in modules:
            if mname in reset_modules:
                with keyed(seeds[mname or _ROOT_STREAM], "reset_parameters"):
                    modules[mname].reset_parameters()
        for plan in plans:
            report.entries.append(_draw_one(plan, seeds))
    return report


def _draw_one(plan: _Plan, seeds: Seeds) -> InitEntry:
    tensor = plan.tensor
    shape = tuple(tensor.shape)
    rule = plan.rule
    if rule is None:  # drawn above, by its module's reset_parameters()
        stream = seeds[plan.module or _ROOT_STREAM]["reset_parameters"]
        return InitEntry(
            plan.name, plan.kind, shape, f"{plan.module_type}.reset_parameters() (keyed by module)", repr(stream)
        )
    stream = seeds[plan.name]
    label = rule.label
    draws = not isinstance(rule, Constant) and getattr(rule, "random", True)
    if tensor.numel() == 0 or tensor.is_meta:
        label += " (empty: nothing drawn)" if tensor.numel() == 0 else " (meta: nothing drawn)"
        draws = False
    else:
        generator = stream.torch(device=tensor.device) if draws else None
        if isinstance(rule, Scheme):
            _fill(tensor, lambda t: rule(plan.name, t, generator))
        else:
            _fill(tensor, lambda t: rule.fill(t, generator))
    return InitEntry(plan.name, plan.kind, shape, label, repr(stream) if draws else None)


def _fill(tensor: Any, fill: Callable[[Any], object]) -> None:
    """Run ``fill`` on ``tensor`` in place; a non-contiguous one via a contiguous temporary."""
    import torch

    if tensor.is_contiguous():
        fill(tensor)
    else:
        tmp = torch.empty_like(tensor, memory_format=torch.contiguous_format)
        fill(tmp)
        tensor.copy_(tmp)
