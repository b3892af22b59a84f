"""``Study``: a training function, a design and a store, run as one call."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.study.design import SOURCES, Cell, Design
from seedwise.study.runner import run_pending
from seedwise.study.store import Store
from seedwise.study.train import TrainSpec

if TYPE_CHECKING:  # pragma: no cover
    from seedwise.study.results import Results

__all__ = ["Study", "open_store"]

StoreLike = str | os.PathLike[str] | Store | None


def open_store(store: StoreLike) -> Store:
    """A :class:`Store` from a path, ``None`` (in memory) or an open store."""
    if isinstance(store, Store):
        return store
    return Store(store)


def _check_study_name(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidTypeError(f"name must be a str naming the study, got {type(name).__name__} {name!r}")
    if not name.strip() or name != name.strip():
        raise InvalidArgumentError(f"name must be a non-empty study name without surrounding spaces, got {name!r}")
    return name


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
        seeds: levels (seeds) per source.
        base_seed: the root seed every run derives from.
        store: a SQLite file (created if missing), ``None`` for an in-memory store, or a
            :class:`~seedwise.study.store.Store`.
        config: a JSON-ready dict passed to every run (part of the study's identity).
        replicates: extra runs with every seed fixed, to measure the noise floor of
            nondeterministic kernels.
        paired: ``{"A": {...}, "B": {...}}``: run every cell once per arm, with the
            arm's config overrides and the same seeds (paired A/B comparison).

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
        seeds: int = 8,
        base_seed: int = 0,
        store: StoreLike = "runs.sqlite",
        config: Mapping[str, Any] | None = None,
        replicates: int = 0,
        paired: Mapping[str, Mapping[str, Any] | None] | None = None,
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
        self.design = Design.create(
            sources=sources, design=design, seeds=seeds, base_seed=base_seed, config=config,
            replicates=replicates, paired=paired,
        )  # fmt: skip
        self.store = open_store(store)
        from seedwise.study.train import worker_fingerprint

        self.store.register(self.name, self.design, worker_fingerprint())

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
        from seedwise.study.results import Results

        return Results(self.store, self.name, study=self)

    def status(self) -> dict[str, int]:
        """Number of runs in each status."""
        return self.store.counts(self.name)

    def sibling(self, name: str, config: Mapping[str, Any]) -> Study:
        """The same study (same design, same seeds) with ``config`` merged into its config."""
        merged = {**self.design.config, **dict(config)}
        return Study(
            self.train, name=name, sources=self.design.sources, design=self.design.kind, seeds=self.design.seeds,
            base_seed=self.design.base_seed, store=self.store, config=merged, replicates=self.design.replicates,
            paired=self.design.paired,
        )  # fmt: skip

    @staticmethod
    def load(store: StoreLike, name: str) -> Results:
        """The results of study ``name`` in ``store`` (no training function needed)."""
        from seedwise.study.results import Results

        if isinstance(store, (str, os.PathLike)) and not Path(store).exists():
            raise InvalidArgumentError(f"the study store {os.fspath(store)!r} does not exist")
        return Results(open_store(store), name)

    def __repr__(self) -> str:
        where = self.store.path or ":memory:"
        return f"Study({self.name!r}, train={self.spec or self.train!r}, {self.design!r}, store={str(where)!r})"
