"""``Study``: a training function, a design and a store, run as one call."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds
from seedwise.study.design import SOURCES, Cell, Design
from seedwise.study.results import Results, load_results
from seedwise.study.runner import run_pending
from seedwise.study.spec import TrainSpec
from seedwise.study.store import StoreLike, open_store
from seedwise.study.worker import worker_fingerprint

__all__ = ["Study", "open_store"]


def _check_study_name(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidTypeError(f"name must be a str naming the study, got {type(name).__name__} {name!r}")
    if not name.strip() or name != name.strip():
        raise InvalidArgumentError(f"name must be a non-empty study name without surrounding spaces, got {name!r}")
    return name


def _root_entropy(seeds: object, base_seed: int | None) -> int:
    """The entropy of the study's root: ``seeds=Seeds(N)``, or the deprecated ``base_seed=N``."""
    if base_seed is not None:
        if seeds is not None:
            raise InvalidArgumentError("give the study's root once, as seeds=sw.Seeds(N) (base_seed= is deprecated)")
        warnings.warn(
            f"Study(base_seed={base_seed!r}) is deprecated: write seeds=sw.Seeds({base_seed!r})",
            DeprecationWarning,
            stacklevel=3,
        )
        try:
            return Seeds(base_seed).entropy
        except (InvalidArgumentError, InvalidTypeError) as exc:
            raise type(exc)(f"base_seed: {exc}") from None
    if seeds is None:
        return 0
    if not isinstance(seeds, Seeds):
        raise InvalidTypeError(
            f"seeds must be the study's root seedwise.Seeds, e.g. seeds=sw.Seeds(0); got {type(seeds).__name__} "
            f"{seeds!r} (the number of seeds per source is n_seeds=)"
        )
    if seeds != Seeds(seeds.entropy):
        raise InvalidArgumentError(
            f"seeds must be a root Seeds such as sw.Seeds({seeds.entropy}), not a child stream or an override "
            f"({seeds!r}): every run of a study derives its streams from the root"
        )
    return seeds.entropy


class Study:
    """A multi-seed study of a training function.

    Args:
        train: ``train(seeds, config) -> dict[str, float]``, optionally
            ``train(seeds, config, report)`` to record learning curves with
            ``report(epoch, loss=..., accuracy=...)``; a function defined at the top level
            of a module or file, or the string ``"FILE.py:FUNCTION"``. It must draw its
            randomness from ``seeds`` (``seeds["init"].torch()``, ...) and nothing else.
        name: the study's name in the store.
        sources: the sources of randomness to vary, names under which ``train`` reads
            its streams (``seeds["init"]`` ...).
        design: ``"one-at-a-time"``, ``"all"`` or ``"factorial"`` (see
            :mod:`seedwise.study.design`).
        n_seeds: levels (seeds) per source.
        seeds: the root :class:`~seedwise.Seeds` every run derives from (default ``Seeds(0)``).
        store: a SQLite file (created if missing), ``None`` for an in-memory store, or a
            :class:`~seedwise.study.store.Store`.
        config: a JSON-ready dict passed to every run (part of the study's identity).
        replicates: extra runs with every seed fixed, to measure the noise floor of
            nondeterministic kernels.
        paired: ``{"A": {...}, "B": {...}}``: run every cell once per arm, with the
            arm's config overrides and the same seeds (paired A/B comparison).
        base_seed: deprecated, ``seeds=Seeds(base_seed)``.

    ``Study(seeds=8)`` (an int: the count, under its old name) keeps working for one
    release with a DeprecationWarning; write ``n_seeds=8``.

    The study is registered in the store at once: reusing a name with a different
    design raises :class:`~seedwise.errors.StoreError` and changes nothing.
    """

    def __init__(
        self,
        train: Callable[..., Mapping[str, float]] | str,
        *,
        name: str,
        sources: Sequence[str] | str = SOURCES,
        design: str = "one-at-a-time",
        n_seeds: int | None = None,
        seeds: Seeds | None = None,
        store: StoreLike = "runs.sqlite",
        config: Mapping[str, Any] | None = None,
        replicates: int = 0,
        paired: Mapping[str, Mapping[str, Any] | None] | None = None,
        base_seed: int | None = None,
    ):
        self.name = _check_study_name(name)
        self.train = train
        self.spec: TrainSpec | None
        try:
            self.spec = TrainSpec.of(train)
        except InvalidArgumentError:
            if isinstance(train, str) or not callable(train):
                raise
            self.spec = None  # a lambda or nested function: only workers=0 can run it
        count: int | None = None
        if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
            count, seeds = int(seeds), None  # the old spelling: Design.create warns and names the new one
        entropy = _root_entropy(seeds, base_seed)
        self.design = Design.create(
            sources=sources, design=design, n_seeds=n_seeds, base_seed=entropy, config=config,
            replicates=replicates, paired=paired, seeds=count,
        )  # fmt: skip
        self.store = open_store(store)
        self.store.register(self.name, self.design, worker_fingerprint())

    @property
    def seeds(self) -> Seeds:
        """The root every run derives from."""
        return Seeds(self.design.base_seed)

    @property
    def n_seeds(self) -> int:
        """Levels (seeds) per source."""
        return self.design.n_seeds

    @property
    def cells(self) -> list[Cell]:
        """The runs of the study, in design order."""
        return self.design.cells()

    def run(
        self,
        *,
        workers: int | None = None,
        backend: str = "local",
        ray_address: str | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
        progress: bool = True,
        retry_failed: bool = False,
    ) -> Results:
        """Run every run not finished yet and return the results.

        Args:
            workers: processes (local) or concurrent tasks (Ray); ``0`` runs in this
                process; default the number of cores (local) or what the Ray cluster
                has room for.
            backend: ``"local"`` or ``"ray"``.
            ray_address: the Ray cluster to join (default ``RAY_ADDRESS``, else a local Ray).
            num_cpus, num_gpus: resources per run on Ray.
            progress: show a progress bar (only on a terminal).
            retry_failed: run failed runs again.

        Finished runs are skipped, runs left ``running`` by a runner that died are
        retried, and Ctrl-C keeps every finished run (the runs in flight go back to pending).
        """
        if retry_failed:
            self.store.reset_failed(self.name)
        if workers != 0 and self.spec is None:
            raise InvalidArgumentError(
                "train is a lambda or a nested function, which worker processes cannot import; define it at the top "
                "level of a module or file, or use workers=0"
            )
        train: Any = self.spec if self.spec is not None else self.train
        if workers == 0 and callable(self.train):
            train = self.train
        run_pending(
            self.store, self.name, train, workers=workers, backend=backend, ray_address=ray_address,
            num_cpus=num_cpus, num_gpus=num_gpus, progress=progress,
        )  # fmt: skip
        return Results(self.store, self.name, study=self)

    def status(self) -> dict[str, int]:
        """Number of runs in each status."""
        return self.store.counts(self.name)

    def sibling(self, name: str, config: Mapping[str, Any]) -> Study:
        """The same study (same design, same seeds) with ``config`` merged into its config."""
        merged = {**self.design.config, **dict(config)}
        return Study(
            self.train, name=name, sources=self.design.sources, design=self.design.kind, n_seeds=self.n_seeds,
            seeds=self.seeds, store=self.store, config=merged, replicates=self.design.replicates,
            paired=self.design.paired,
        )  # fmt: skip

    @staticmethod
    def load(store: StoreLike, name: str) -> Results:
        """The results of study ``name`` in ``store`` (no training function needed)."""
        return load_results(store, name)

    def __repr__(self) -> str:
        where = self.store.path or ":memory:"
        return f"Study({self.name!r}, train={self.spec or self.train!r}, {self.design!r}, store={str(where)!r})"
