"""The one global-RNG lint: calls in library code that draw from, seed or reset a global RNG.

It reads the source as syntax, not text: import aliases are followed (``import numpy as np``,
``from torch.nn import functional as F``, ``from random import shuffle``), a call spanning several
lines is one call, and comments or strings that mention ``np.random.rand(`` are not calls. A call
that passes an explicit ``generator=`` (torch) is not global. A line whose job *is* the global
state says so with a ``# global-rng-ok: why`` comment on the call's first or last line.
"""

from __future__ import annotations

import ast
from pathlib import Path

#: Names under ``numpy.random`` that construct explicit generators (everything else there is global).
NUMPY_EXPLICIT = {"Generator", "SeedSequence", "BitGenerator", "PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937"}
#: ``torch`` functions that draw from (or reset) the default generator unless given ``generator=``.
TORCH_GLOBAL = {
    "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "bernoulli",
    "multinomial", "normal", "poisson", "manual_seed", "seed", "set_rng_state", "dropout", "feature_dropout",
    "alpha_dropout", "rrelu",
}  # fmt: skip
#: ``torch.nn.functional`` functions that draw from the default generator (they take no generator).
FUNCTIONAL_GLOBAL = {
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
    "rrelu",
}
#: In-place tensor samplers (``x.uniform_()``): global unless given ``generator=``.
TENSOR_SAMPLERS = {
    "uniform_",
    "normal_",
    "bernoulli_",
    "random_",
    "exponential_",
    "geometric_",
    "log_normal_",
    "cauchy_",
}
#: ``tensorflow.random`` functions that keep global state (the ``stateless_*`` ones and Generator do not).
TF_GLOBAL = {"set_seed", "uniform", "normal", "truncated_normal", "shuffle", "categorical", "gamma", "poisson"}


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted name it stands for, from the module's imports (at any depth)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    names[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])


def _is_global(call: ast.Call, name: str | None) -> bool:
    keywords = {k.arg for k in call.keywords}
    if name is None:  # a method on some object: only the in-place tensor samplers count
        func = call.func
        return isinstance(func, ast.Attribute) and func.attr in TENSOR_SAMPLERS and "generator" not in keywords
    head, _, last = name.rpartition(".")
    if name.startswith("random.") and head == "random":
        return last not in {"Random", "getstate"}  # reading the state changes nothing
    if head == "numpy.random":
        if last == "default_rng":
            return not call.args and not keywords  # no seed: fresh OS entropy, not reproducible
        return last not in NUMPY_EXPLICIT | {"get_state"}
    if head in {"torch", "torch.random"}:
        return last in TORCH_GLOBAL and "generator" not in keywords
    if head == "torch.default_generator":
        return last not in {"get_state", "initial_seed"}
    if head == "torch.nn.functional":
        return last in FUNCTIONAL_GLOBAL
    if head == "torch.nn.init":
        return (
            last.endswith("_")
            and "generator" not in keywords
            and last not in {"zeros_", "ones_", "constant_", "eye_", "dirac_"}
        )
    if head in {"tensorflow.random", "tf.random"}:
        return last in TF_GLOBAL
    return False


def global_rng_calls(root: Path) -> list[str]:
    """``path:line: code`` for every call under ``root`` that uses a global RNG without saying why."""
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        tree = ast.parse(source, filename=str(path))
        aliases = _aliases(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not _is_global(node, _dotted(node.func, aliases)):
                continue
            first, last = node.lineno, node.end_lineno or node.lineno
            if any("global-rng-ok" in lines[i - 1] for i in {first, last}):
                continue
            found.append(f"{path.relative_to(root.parent)}:{first}: {lines[first - 1].strip()}")
    return found
