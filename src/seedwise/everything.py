"""Global-state seeding: :func:`seed_everything` and the scoped :func:`keyed`.

These are the only public functions whose job is the global RNGs (Python's ``random``,
NumPy's legacy ``np.random``, torch's CPU and CUDA generators, TensorFlow's global
generator). seedwise's own code never draws from them; they exist for third-party code
that does.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from seedwise._report import SettingsReport
from seedwise.determinism import deterministic as _deterministic
from seedwise.determinism import resolve_frameworks
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.frameworks import ADAPTERS, Setting, adapter
from seedwise.seeds import Seeds, _check_element, _check_entropy

__all__ = ["SeedReport", "seed_everything", "keyed", "global_seed"]

# Which module must already be imported for keyed() to touch an adapter's state.
_IMPORT_NAMES = {"tensorflow": "tensorflow", "jax": "jax", "pytensor": "pytensor", "torch": "torch"}


class SeedReport(SettingsReport):
    """What :func:`seed_everything` seeded and switched, and what it could not."""


def global_seed(seed: int | Seeds) -> int:
    """The 64-bit int that :func:`seed_everything` gives every framework for ``seed``.

    An int below 2**64 is used as it is, so ``seed_everything(42)`` draws the same
    numbers as ``torch.manual_seed(42)`` and Python's own seeding with 42 (and as Lightning's and
    transformers' helpers). Larger ints and :class:`Seeds` go through ``int(Seeds(...))``.
    """
    if isinstance(seed, Seeds):
        return int(seed)
    value = _check_entropy(seed)
    return value if value < 2**64 else int(Seeds(value))


def seed_everything(
    seed: int | Seeds,
    deterministic: bool = False,
    *,
    frameworks: Iterable[str] | None = None,
) -> SeedReport:
    """Seed the global RNGs of every installed framework; optionally make kernels deterministic.

    Args:
        seed: an int in ``[0, 2**128)`` or a :class:`Seeds`.
        deterministic: also switch on deterministic kernels (see :func:`seedwise.deterministic`).
        frameworks: restrict to these adapters (default: all of ``python, numpy, torch,
            tensorflow, jax, pytensor`` that are installed).

    Returns:
        A :class:`SeedReport` listing every setting made and every one that could not
        take effect (``PYTHONHASHSEED`` after interpreter start, for example), with how
        to fix it. Print it, or use ``report.ok``.
    """
    if not isinstance(deterministic, bool):
        raise InvalidTypeError(f"deterministic must be True or False, got {deterministic!r}")
    value = global_seed(seed)
    names = resolve_frameworks(frameworks)
    report = SeedReport(f"seedwise.seed_everything({seed!r}{', deterministic=True' if deterministic else ''})")
    for name in names:
        module = adapter(name)
        if not module.available():
            report.settings.append(
                Setting(name, "installed", "no", note=f"not installed: skipped (pip install 'seedwise[{name}]')")
            )
            continue
        report.settings.extend(module.seed(value))
    if deterministic:
        report.settings.extend(_deterministic(True, frameworks=names).settings)
    return report


def _active_adapters() -> list[str]:
    """Adapters whose library is installed and already imported (others cannot be in use)."""
    names = []
    for name in ADAPTERS:
        module_name = _IMPORT_NAMES.get(name)
        if module_name is not None and module_name not in sys.modules:
            continue
        if adapter(name).available():
            names.append(name)
    return names


def _position_path(position: object) -> tuple:
    parts = position if isinstance(position, tuple) else (position,)
    if not parts:
        raise InvalidTypeError("position must be an int, a str, or a non-empty tuple of them")
    out = []
    for part in parts:
        if (isinstance(part, numbers.Integral) and not isinstance(part, bool)) or isinstance(part, str):
            try:
                out.append(_check_element(part))
            except (InvalidTypeError, InvalidArgumentError) as exc:
                raise type(exc)(f"position: {exc}") from None
        else:
            raise InvalidTypeError(
                f"position must be an int (e.g. the step), a str, or a tuple of them, got {type(part).__name__} {part!r}"
            )
    return tuple(out)


@contextmanager
def keyed(stream: Seeds, position: int | str | tuple) -> Iterator[Seeds]:
    """Seed the global RNGs from ``(stream, position)`` inside the block, then restore them.

    Inside ``with keyed(seeds["dropout"], step):`` every global-RNG draw (``nn.Dropout``,
    ``torch.rand``, ``np.random.rand``, ``random.random``...) is a pure function of the
    stream and the step, so a resumed run reproduces it with no saved RNG state. On exit,
    normal or by exception, the global states are exactly what they were before.

    Yields the child stream ``stream[position]`` (``stream.child(*position)`` for a tuple).
    """
    if not isinstance(stream, Seeds):
        raise InvalidTypeError(
            f"stream must be a seedwise.Seeds (e.g. seeds['dropout']), got {type(stream).__name__} {stream!r}"
        )
    child = stream.child(*_position_path(position))
    value = int(child)
    names = _active_adapters()
    saved = [(name, adapter(name).capture()) for name in names]
    try:
        for name in names:
            adapter(name).seed(value)
        yield child
    finally:
        for name, state in saved:
            adapter(name).restore(state)
