"""``seedwise audit FILE.py:FUNCTION``: is a user's step repeatable, and if not, where not.

The function is called as ``fn(seeds)`` with ``seeds = seedwise.Seeds(--seed)``.
Exit codes: 0 repeatable, 1 not repeatable, 2 bad usage (a missing file, no such
function, the function raising: one line on stderr, the traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from seedwise.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.audit import GlobalRNGMode

__all__ = ["add_parser", "run", "load_target", "AuditUsageError"]

#: Kept for one release: ``seedwise audit``'s usage errors are :class:`seedwise.errors.UsageError`.
AuditUsageError = UsageError


class _FunctionFailed(Exception):
    """The user's function raised: carries its exception out of the audit."""

    def __init__(self, exc: BaseException):
        super().__init__(str(exc))
        self.exc = exc


def _guarded(fn: Any) -> Any:
    @functools.wraps(fn)
    def call(seeds: Any) -> Any:
        try:
            return fn(seeds)
        except Exception as exc:
            raise _FunctionFailed(exc) from exc

    return call


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="check that a step is repeatable bit for bit, and name where it is not",
        description=(
            "Call FUNCTION(seeds) from FILE.py several times, each run starting from a different "
            "global RNG state, and compare everything it returns bit for bit. With --model, also "
            "hook every module of that model and name the first one whose input, output or "
            "gradient differs. Exit status: 0 repeatable, 1 not, 2 bad usage."
        ),
    )
    parser.add_argument("target", metavar="FILE.py:FUNCTION", help="the step to audit; it is called as FUNCTION(seeds)")
    parser.add_argument("--runs", type=int, default=2, help="how many runs to compare (>= 2; default 2)")
    parser.add_argument(
        "--seed", type=int, default=0, help="the root seed: FUNCTION gets seedwise.Seeds(SEED) (default 0)"
    )
    parser.add_argument(
        "--model",
        metavar="NAME",
        help="a torch.nn.Module defined at module level in FILE.py that FUNCTION runs: "
        "also find the first divergence in it",
    )
    parser.add_argument(
        "--same-globals",
        action="store_true",
        help="start every run from the same global RNG state (default: a different one per run, "
        "so that draws from global RNGs show up)",
    )
    parser.add_argument("--json", action="store_true", help="print the reports as JSON instead of tables")
    parser.set_defaults(func=run)


def _load_module(path: Path) -> ModuleType:
    name = f"seedwise_audit_target_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {path} as a Python module (expected a .py file)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.resolve().parent))  # so the file can import its neighbours
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def load_target(target: str, *, debug: bool = False) -> tuple[ModuleType, Any]:
    """Load ``FILE.py:FUNCTION`` and return (module, function)."""
    path_text, sep, func_name = target.rpartition(":")
    if not sep or not path_text or not func_name:
        raise UsageError(f"expected FILE.py:FUNCTION, got {target!r} (for example train.py:step)")
    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        module = _load_module(path)
    except Exception as exc:
        if debug:
            raise
        raise UsageError(f"importing {path} failed: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, func_name, None)
    if fn is None:
        functions = sorted(
            n
            for n, v in vars(module).items()
            if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
        )
        raise UsageError(f"{path} has no function {func_name!r}; it defines: {', '.join(functions) or 'no functions'}")
    if not callable(fn):
        raise UsageError(f"{path}:{func_name} is a {type(fn).__name__}, not a function")
    return module, fn


def run(args: argparse.Namespace) -> int:
    from seedwise import audit
    from seedwise.seeds import as_seeds

    debug = bool(getattr(args, "debug", False))
    if args.runs < 2:
        raise UsageError(f"--runs must be at least 2, got {args.runs}")
    seeds = as_seeds(args.seed, "--seed")
    module, fn = load_target(args.target, debug=debug)
    model = None
    if args.model is not None:
        import torch

        model = getattr(module, args.model, None)
        if not isinstance(model, torch.nn.Module):
            found = "not defined" if model is None else f"a {type(model).__name__}"
            raise UsageError(
                f"--model {args.model}: expected a torch.nn.Module defined in "
                f"{args.target.rpartition(':')[0]}, it is {found}"
            )
    mode: GlobalRNGMode = "same" if args.same_globals else "vary"

    step = _guarded(fn)
    try:
        rep = audit.repeatability(step, args.runs, seeds=seeds, global_rngs=mode)
        div = audit.first_divergence(step, model, seeds=seeds, global_rngs=mode) if model is not None else None
    except _FunctionFailed as failed:
        if debug:
            raise failed.exc from None
        exc = failed.exc
        message = str(exc).splitlines()[0] if str(exc) else ""
        raise UsageError(f"{args.target} raised {type(exc).__name__}{': ' + message if message else ''}") from None

    ok = rep.ok and (div is None or div.ok)
    if args.json:
        payload = {
            "target": args.target,
            "seed": args.seed,
            "ok": ok,
            "repeatability": rep.to_dict(),
            "global_rng_use": rep.global_rng.to_dict(),
            "first_divergence": div.to_dict() if div is not None else None,
        }
        print(json.dumps(payload, indent=2))
    else:
        from rich.console import Console

        console = Console()
        console.print(rep)
        console.print(rep.global_rng)
        if div is not None:
            console.print(div)
    return 0 if ok else 1
