"""The user's training function: how workers find it, and how one run executes.

A worker process cannot be handed a function object safely (a ``spawn``/``forkserver``
worker or a Ray task starts from a clean interpreter), so a :class:`TrainSpec` names it:
a module and a qualified name, plus the file it came from. The worker imports the
module by name and, if that fails (a test file, a script, ``FILE.py:FUNCTION`` on the
command line), loads the file under a private module name, so a script's
``if __name__ == "__main__":`` block does not run again.

:func:`execute` is what every backend runs for one cell: it builds the run's
:class:`~seedwise.Seeds` from JSON, calls ``train(seeds, config)`` (or
``train(seeds, config, report)`` when the function takes a third argument), with
PyTorch limited to one thread (results then do not depend on how many runs share the
machine, and runs do not oversubscribe the cores), and returns the outcome as plain
JSON-ready data. A failing ``train`` is an outcome with its traceback, not an error.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import importlib.util
import inspect
import numbers
import os
import platform
import socket
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds

__all__ = ["TrainSpec", "execute", "Reporter"]

TrainFn = Callable[..., Mapping[str, float]]


@dataclass(frozen=True)
class TrainSpec:
    """Where to find a training function: ``module`` + ``qualname``, or a ``file`` to load."""

    qualname: str
    module: str | None = None
    file: str | None = None

    @classmethod
    def of(cls, train: TrainFn | str) -> TrainSpec:
        """A spec from a function object, or from ``"FILE.py:FUNCTION"`` / ``"package.module:FUNCTION"``."""
        if isinstance(train, str):
            return cls.parse(train)
        if not callable(train):
            raise InvalidTypeError(
                f"train must be a function train(seeds, config) -> dict[str, float], or 'FILE.py:FUNCTION'; "
                f"got {type(train).__name__}"
            )
        qualname = getattr(train, "__qualname__", None)
        module_name = getattr(train, "__module__", None)
        if not qualname or "<lambda>" in qualname or "<locals>" in qualname:
            raise InvalidArgumentError(
                f"train must be a function defined at the top level of a module or file so worker processes can "
                f"import it; {qualname or train!r} is a lambda or a nested function (use workers=0 to run it "
                "in this process)"
            )
        module = sys.modules.get(module_name or "")
        file = getattr(module, "__file__", None)
        if module_name in ("__main__", "__mp_main__"):
            if not file:
                raise InvalidArgumentError(
                    "train is defined in an interactive session, which worker processes cannot import; put it in "
                    "a file and pass it as 'FILE.py:FUNCTION' (or use workers=0)"
                )
            module_name = None
        return cls(qualname, module_name, str(Path(file).resolve()) if file else None)

    @classmethod
    def parse(cls, text: str) -> TrainSpec:
        target, sep, qualname = text.rpartition(":")
        if not sep or not target or not qualname:
            raise InvalidArgumentError(
                f"train must be given as FILE.py:FUNCTION or package.module:FUNCTION, got {text!r}"
            )
        if target.endswith(".py") or os.sep in target or "/" in target:
            path = Path(target)
            if not path.is_file():
                raise InvalidArgumentError(f"train file {target!r} does not exist (from {text!r})")
            spec = cls(qualname, None, str(path.resolve()))
        else:
            spec = cls(qualname, target, None)
        try:
            spec.resolve()  # fail now, in the driver, rather than once per run in the workers
        except (InvalidArgumentError, InvalidTypeError):
            raise
        except Exception as exc:  # the file itself fails: SyntaxError, an ImportError, a raise at import
            raise InvalidArgumentError(
                f"importing {target} (for {text!r}) failed: {type(exc).__name__}: {exc}"
            ) from exc
        return spec

    def resolve(self) -> TrainFn:
        """Import the function (cached per process)."""
        return _resolve(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.file or self.module}:{self.qualname}"


_CACHE: dict[TrainSpec, TrainFn] = {}


def _load_file(path: str) -> Any:
    digest = hashlib.blake2b(path.encode(), digest_size=6).hexdigest()
    name = f"_seedwise_train_{Path(path).stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidArgumentError(f"cannot load the train file {path!r} as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Let the file import its neighbours, as it would when run as a script.
    folder = str(Path(path).parent)
    if folder not in sys.path:
        sys.path.append(folder)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _resolve(spec: TrainSpec) -> TrainFn:
    if spec in _CACHE:
        return _CACHE[spec]
    module = None
    if spec.module is not None:
        try:
            module = importlib.import_module(spec.module)
        except ImportError:
            if spec.file is None:
                raise InvalidArgumentError(f"cannot import the module {spec.module!r} of train {spec}") from None
    if module is None:
        if spec.file is None or not Path(spec.file).is_file():
            raise InvalidArgumentError(f"the train file {spec.file!r} does not exist")
        main = sys.modules.get("__mp_main__")  # a worker has re-imported the driver's script already
        main_file = getattr(main, "__file__", None)
        if main_file and Path(main_file).resolve() == Path(spec.file):
            module = main
        else:
            module = _load_file(spec.file)
    obj: Any = module
    for part in spec.qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise InvalidArgumentError(f"{spec.file or spec.module} has no function {spec.qualname!r}")
    if not callable(obj):
        raise InvalidTypeError(f"{spec} is a {type(obj).__name__}, not a function")
    _CACHE[spec] = obj
    return obj


def takes_report(fn: TrainFn) -> bool:
    """True when ``fn`` accepts a third positional argument (the per-epoch ``report`` callback)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)


class Reporter:
    """The ``report`` callback handed to ``train``: ``report(step, loss=0.3, accuracy=0.9)``.

    Records learning curves: for each name, the steps and values reported. The step may
    also be given as ``epoch=`` or ``step=``; it defaults to the number of values already
    reported for that name.
    """

    def __init__(self) -> None:
        self.curves: dict[str, dict[str, list[float]]] = {}

    def __call__(self, step: int | None = None, /, **values: float) -> None:
        if step is None:  # report(epoch=3, loss=0.2) works too
            for key in ("step", "epoch"):
                if key in values:
                    step = values.pop(key)  # type: ignore[assignment]
                    break
        if step is not None and (isinstance(step, bool) or not isinstance(step, numbers.Integral)):
            raise InvalidTypeError(f"report(step, **values): step must be an int, got {type(step).__name__}")
        if not values:
            raise InvalidArgumentError("report() needs at least one named value, e.g. report(epoch, loss=0.3)")
        for name, value in values.items():
            curve = self.curves.setdefault(name, {"step": [], "value": []})
            curve["step"].append(int(step) if step is not None else len(curve["step"]))
            curve["value"].append(_as_float(f"report({name}=...)", value))

    def __repr__(self) -> str:
        return f"Reporter({sorted(self.curves)})"


def _as_float(what: str, value: object) -> float:
    if hasattr(value, "item") and not isinstance(value, numbers.Number):
        value = value.item()  # 0-d numpy arrays and torch tensors
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def check_metrics(out: object) -> dict[str, float]:
    """Validate what ``train`` returned: a non-empty dict of metric name -> number."""
    if not isinstance(out, Mapping) or not out:
        raise InvalidTypeError(
            f"train must return a non-empty dict of metric name -> number, e.g. {{'accuracy': 0.93}}; "
            f"got {type(out).__name__} {out!r:.80}"
        )
    metrics = {}
    for key, value in out.items():
        if not isinstance(key, str) or not key:
            raise InvalidTypeError(f"train returned a metric name {key!r}; metric names must be non-empty str")
        metrics[key] = _as_float(f"metric {key!r}", value)
    return metrics


_FINGERPRINT: dict[str, Any] | None = None


def worker_fingerprint() -> dict[str, Any]:
    """The environment of this process (computed once per process, after its first run).

    :func:`seedwise.fingerprint` in full when PyTorch is loaded already (``train`` uses
    it); otherwise the same fields without importing PyTorch, which would cost seconds
    per worker for nothing.
    """
    global _FINGERPRINT
    if _FINGERPRINT is None:
        if "torch" in sys.modules:
            from seedwise.process.fingerprint import fingerprint

            data = dict(fingerprint())
        else:
            data = _light_fingerprint()
        _FINGERPRINT = {**data, "host": socket.gethostname(), "pid": os.getpid()}
    return _FINGERPRINT


def _light_fingerprint() -> dict[str, Any]:
    from seedwise._version import __version__
    from seedwise.process.fingerprint import NUMERIC_ENV_VARS
    from seedwise._optional import distribution_version

    versions: dict[str, str | None] = {"seedwise": __version__}
    for name in ("numpy", "torch", "scipy", "ray"):
        versions[name] = distribution_version(name)
    return {
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "os": {"system": platform.system(), "release": platform.release(), "machine": platform.machine(),
               "node": platform.node()},
        "cpu": {"count": os.cpu_count()},
        "versions": versions,
        "env": {name: os.environ.get(name) for name in NUMERIC_ENV_VARS},
        "torch_loaded": False,
    }  # fmt: skip


@contextmanager
def _one_torch_thread():
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)


def execute(spec: TrainSpec | Callable[..., Any], seeds_json: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Run one cell: ``train(seeds, config[, report])``; return its outcome as JSON-ready data.

    The outcome's ``status`` is ``"done"`` with ``metrics`` (and ``curves`` when the
    function reported any), or ``"failed"`` with ``error`` (the traceback). A
    ``KeyboardInterrupt`` is not caught.
    """
    start = time.perf_counter()
    reporter = Reporter()
    try:
        fn = spec.resolve() if isinstance(spec, TrainSpec) else spec
        # The same seeds and a private copy of the config: nothing else reaches train.
        args: tuple[Any, ...] = (Seeds.from_json(seeds_json), copy.deepcopy(dict(config)))
        if takes_report(fn):
            args += (reporter,)
        with _one_torch_thread():
            metrics = check_metrics(fn(*args))
        outcome: dict[str, Any] = {"status": "done", "metrics": metrics, "error": None}
    except Exception:  # a crash in train is recorded on its run; the study goes on
        outcome = {"status": "failed", "metrics": None, "error": traceback.format_exc()}
    outcome["curves"] = reporter.curves or None
    outcome["duration"] = time.perf_counter() - start
    outcome["worker"] = worker_fingerprint()
    return outcome
