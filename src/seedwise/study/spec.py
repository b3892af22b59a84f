"""Where a training function lives, so a worker process can find it.

A worker process cannot be handed a function object safely (a ``spawn``/``forkserver``
worker or a Ray task starts from a clean interpreter), so a :class:`TrainSpec` names it:
a module and a qualified name, plus the file it came from. The worker imports the
module by name and, if that fails (a test file, a script, ``FILE.py:FUNCTION`` on the
command line), loads the file under a private module name, so a script's
``if __name__ == "__main__":`` block does not run again.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["TrainSpec", "TrainFn"]

TrainFn = Callable[..., Mapping[str, float]]


@dataclass(frozen=True)
class TrainSpec:
    """Where to find a training function: ``module`` + ``qualname``, or a ``file`` to load."""

    qualname: str
    module: str | None = None
    file: str | None = None

    @classmethod
    def of(cls, train: Callable[..., Any] | str) -> TrainSpec:
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
    fn: TrainFn = obj
    _CACHE[spec] = fn
    return fn
