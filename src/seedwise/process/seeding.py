"""Global-state seeding: :func:`seed_everything` and the scoped :func:`keyed`.

These are the only public functions whose job is the global RNGs (Python's ``random``,
NumPy's legacy ``np.random``, torch's CPU and CUDA generators, TensorFlow's global
generator). seedwise's own code never draws from them; they exist for third-party code
that does. Both touch only the frameworks already imported in the process (plus, for
:func:`seed_everything`, those named in ``frameworks=``): seedwise never imports a
framework on its own.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from seedwise._validate import check_bool
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.process._environ import reporting_environment
from seedwise.process.adapters import adapter, select
from seedwise.process.determinism import apply_determinism
from seedwise.process.global_rngs import capture_global_rngs, restore_global_rngs, seed_global_rngs
from seedwise.process.settings import Setting, SettingsReport
from seedwise.seeds import PathElement, Seeds, _check_element, _check_entropy

__all__ = ["SeedReport", "seed_everything", "keyed", "global_seed"]


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
    """Seed the global RNGs of every framework in use; optionally make kernels deterministic.

    Args:
        seed: an int in ``[0, 2**128)`` or a :class:`Seeds`.
        deterministic: also switch on deterministic kernels (see :func:`seedwise.deterministic`),
            in the same frameworks.
        frameworks: which adapters to seed. Default: Python and NumPy, plus each of
            ``torch, tensorflow, jax, pytensor`` that is already imported in this process;
            one installed but not imported is skipped (seedwise never imports a framework
            on its own, so a torch script does not pay for TensorFlow's import). Name them
            (``frameworks=["python", "numpy", "tensorflow"]``) to seed exactly those,
            importing any that is not imported yet.

    Returns:
        A :class:`SeedReport` listing every setting made, every environment variable that
        it (or an import it triggered) changed, every framework it skipped and why, and
        every setting that could not take effect (``PYTHONHASHSEED`` after interpreter
        start, for example), with how to fix it. Print it, or use ``report.ok``.
    """
    deterministic = check_bool("deterministic", deterministic)
    value = global_seed(seed)
    selection = select(frameworks)
    report = SeedReport(f"seedwise.seed_everything({seed!r}{', deterministic=True' if deterministic else ''})")
    for name in selection.order:
        if name in selection.skipped:
            report.settings.append(selection.skipped[name])
            continue
        module = adapter(name)
        rows: list[Setting] = []
        with reporting_environment(module, rows):
            rows.extend(module.seed(value))
        report.settings.extend(rows)
    if deterministic:
        report.settings.extend(apply_determinism(True, selection.names))
    return report


def _position_path(position: object) -> tuple[PathElement, ...]:
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
                "position must be an int (e.g. the step), a str, or a tuple of them, "
                f"got {type(part).__name__} {part!r}"
            )
    return tuple(out)


@contextmanager
def keyed(stream: Seeds, position: int | str | tuple[int | str, ...]) -> Iterator[Seeds]:
    """Seed the global RNGs from ``(stream, position)`` inside the block, then restore them.

    Inside ``with keyed(seeds["dropout"], step):`` every global-RNG draw (``nn.Dropout``,
    ``torch.rand``, ``np.random.rand``, ``random.random``...) is a pure function of the
    stream and the step, so a resumed run reproduces it with no saved RNG state. On exit,
    normal or by exception, the global states are exactly what they were before. Only
    the frameworks imported when the block starts are touched (a framework imported
    inside the block was not in use before it).

    Yields the child stream ``stream[position]`` (``stream.child(*position)`` for a tuple).
    """
    if not isinstance(stream, Seeds):
        raise InvalidTypeError(
            f"stream must be a seedwise.Seeds (e.g. seeds['dropout']), got {type(stream).__name__} {stream!r}"
        )
    child = stream.child(*_position_path(position))
    value = int(child)
    saved = capture_global_rngs()
    try:
        seed_global_rngs(value, list(saved))
        yield child
    finally:
        restore_global_rngs(saved)
