"""``Study``: a training function, a design and a store, run as one call."""

from __future__ import annotations

import dataclasses
import numbers
import os
import shutil
import tempfile
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from seedwise.errors import InvalidArgumentError, InvalidTypeError, StoreError
from seedwise.seeds import Seeds
from seedwise.study.command import Command, CommandTask, as_arms, check_against_design
from seedwise.study.design import SOURCES, Cell, Design, count_from_seeds
from seedwise.study.results import Results, load_results
from seedwise.study.runner import run_pending
from seedwise.study.spec import TrainSpec
from seedwise.study.store import Store, StoreLike, open_store
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


def _check_metric(metric: object) -> str | None:
    if metric is not None and (not isinstance(metric, str) or not metric.strip()):
        raise InvalidArgumentError(f"metric must be the name of a metric the runs report, got {metric!r}")
    return metric


def _check_cleanup(cleanup: object) -> TrainSpec | str | None:
    """``"auto"``, None, or a function workers can import (its :class:`TrainSpec`)."""
    if cleanup is None or isinstance(cleanup, TrainSpec):
        return cleanup
    if isinstance(cleanup, str):
        if cleanup == "auto":
            return cleanup
        if ":" not in cleanup:
            raise InvalidArgumentError(
                f"cleanup must be 'auto', None, a function or 'FILE.py:FUNCTION', got {cleanup!r}"
            )
    elif not callable(cleanup):
        raise InvalidTypeError(f"cleanup must be 'auto', None or a function, got {type(cleanup).__name__}")
    return TrainSpec.of(cleanup)


def _default_out_root(store: Store) -> str:
    """``runs.sqlite`` -> ``runs.out``: the per-run output directories of a command study live beside its store."""
    if store.path is None:
        folder = tempfile.mkdtemp(prefix="seedwise-study-")
        weakref.finalize(store, shutil.rmtree, folder, True)
        return folder
    return str(store.path.resolve().with_suffix(".out"))


class Study:
    """A multi-seed study of a training function or of any command line.

    Args:
        train: ``train(seeds, config) -> dict[str, float]``, optionally
            ``train(seeds, config, report)`` to record learning curves with
            ``report(epoch, loss=..., accuracy=...)``; a function defined at the top level
            of a module or file, or the string ``"FILE.py:FUNCTION"``. It must draw its
            randomness from ``seeds`` (``seeds["init"].torch()``, ...) and nothing else.
            Or a command line: a list of arguments with placeholders
            (``["python", "train.py", "--seed", "{seed}"]``), a
            :class:`~seedwise.study.command.Command` (with a timeout, a working directory,
            extra environment variables), or ``{arm: command}`` for two or more commands
            compared on the same seeds. Each run is then the command in a fresh process; see
            :mod:`seedwise.study.command` and docs/study.md.
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
        cleanup: what a worker does after each run of a training function: ``"auto"``
            (default) clears the Keras session when Keras is loaded (layer names and graphs
            then start afresh each run, whichever runs the worker ran before), a function of
            no arguments defined at the top level of a module (``gc.collect``,
            ``torch.cuda.empty_cache``...), or None. Not with ``workers=0``, where runs share
            the caller's process (unless it is a function).
        metric: the metric the study is about: reports and ``study status`` summarise it
            (default: the first one the runs report), and the study stops with an error if
            a finished run does not report it.
        out_dir: where a command study puts each run's output directory ``{out}``
            (default: beside the store, ``runs.sqlite`` -> ``runs.out/<study>/<cell>``).
        base_seed: deprecated, ``seeds=Seeds(base_seed)``.

    ``Study(seeds=8)`` (an int: the count, under its old name) keeps working for one
    release with a DeprecationWarning; write ``n_seeds=8``.

    The study is registered in the store at once: reusing a name with a different
    design raises :class:`~seedwise.errors.StoreError` and changes nothing.
    """

    def __init__(
        self,
        train: Callable[..., Mapping[str, float]] | str | Sequence[str] | Command | Mapping[str, Any],
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
        metric: str | None = None,
        out_dir: str | os.PathLike[str] | None = None,
        cleanup: Callable[[], Any] | str | TrainSpec | None = "auto",
        base_seed: int | None = None,
    ):
        self.name = _check_study_name(name)
        self.train = train
        self.spec: TrainSpec | None = None
        self.commands = as_arms(train)
        if self.commands is not None:
            # Runs start where the study was started, whichever process (or Ray node) runs them.
            here = os.getcwd()
            self.commands = {a: c if c.cwd else dataclasses.replace(c, cwd=here) for a, c in self.commands.items()}
            for command in self.commands.values():
                command.check_program()
            named = [a for a in self.commands if a is not None]
            if named:
                if paired is not None:
                    raise InvalidArgumentError(
                        "command arms already pair the runs; give paired= config arms with a single command instead"
                    )
                paired = dict.fromkeys(named, None)
        else:
            try:
                self.spec = TrainSpec.of(train)  # type: ignore[arg-type]  # as_arms took every command form
            except InvalidArgumentError:
                if isinstance(train, str) or not callable(train):
                    raise
                self.spec = None  # a lambda or nested function: only workers=0 can run it
        self.metric = _check_metric(metric)
        self.cleanup = _check_cleanup(cleanup)
        if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):  # the old spelling of n_seeds
            n_seeds, seeds = count_from_seeds(n_seeds, seeds, "Study"), None
        entropy = _root_entropy(seeds, base_seed)
        self.design = Design.create(
            sources=sources, design=design, n_seeds=n_seeds, base_seed=entropy, config=config,
            replicates=replicates, paired=paired,
        )  # fmt: skip
        if self.commands is not None:
            check_against_design(self.commands, self.design)
        self.store = open_store(store)
        try:
            self.store.register(self.name, self.design, worker_fingerprint())
            self._record_info()
        except BaseException:
            if not isinstance(store, Store):  # opened here: closing it last lets SQLite remove its WAL files
                self.store.close()
            raise
        self.task: CommandTask | None = None
        if self.commands is not None:
            root = os.fspath(out_dir) if out_dir is not None else _default_out_root(self.store)
            self.task = CommandTask(self.commands, str(Path(root).resolve()))

    def _record_info(self) -> None:
        """Record what the study runs and its metric; a command study must keep its commands."""
        stored = self.store.info(self.name)
        if self.commands is not None:
            runs: dict[str, Any] = {
                "kind": "command",
                "commands": {a or "": list(c.argv) for a, c in self.commands.items()},
            }
            if stored.get("commands") not in (None, runs["commands"]):
                raise StoreError(
                    f"study {self.name!r} in {self.store.path or 'the store'} ran other commands "
                    f"({stored['commands']}); its runs would mix two programs: choose another study name"
                )
        else:
            runs = {"kind": "function", "train": str(self.spec) if self.spec is not None else repr(self.train)}
        if self.metric is None:
            self.metric = stored.get("metric")
        info = {**runs, "metric": self.metric}
        if info != stored:
            self.store.set_info(self.name, info)

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
        runs_per_worker: int | None = None,
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
            runs_per_worker: replace each worker process after this many runs: a worker then
                cannot grow, whatever a framework keeps from run to run (TensorFlow keeps a
                few MB per Keras ``fit`` even after ``clear_session``).

        Finished runs are skipped, runs left ``running`` by a runner that died are
        retried, and Ctrl-C keeps every finished run (the runs in flight go back to pending).
        """
        if retry_failed:
            self.store.reset_failed(self.name)
        if workers != 0 and self.spec is None and self.task is None:
            raise InvalidArgumentError(
                "train is a lambda or a nested function, which worker processes cannot import; define it at the top "
                "level of a module or file, or use workers=0"
            )
        train: Any = self.task or self.spec or self.train
        if workers == 0 and self.task is None and callable(self.train):
            train = self.train
        run_pending(
            self.store, self.name, train, workers=workers, backend=backend, ray_address=ray_address,
            num_cpus=num_cpus, num_gpus=num_gpus, progress=progress, metric=self.metric, cleanup=self.cleanup,
            runs_per_worker=runs_per_worker,
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
            paired=None if self.commands is not None and None not in self.commands else self.design.paired,
            metric=self.metric, out_dir=None if self.task is None else self.task.out_root, cleanup=self.cleanup,
        )  # fmt: skip

    @staticmethod
    def load(store: StoreLike, name: str) -> Results:
        """The results of study ``name`` in ``store`` (no training function needed)."""
        return load_results(store, name)

    def __repr__(self) -> str:
        where = self.store.path or ":memory:"
        what: object = self.spec or self.train
        if self.commands is not None:
            what = {arm: str(command) for arm, command in self.commands.items()}
        return f"Study({self.name!r}, train={what!r}, {self.design!r}, store={str(where)!r})"
