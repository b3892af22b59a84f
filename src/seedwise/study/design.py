"""Study designs: which runs a study is made of, and the seeds of each.

A study is a set of **cells**. A cell names one run by its place in the design
(``"init/3"``: level 3 of the source ``init``), so the same study on any machine is
exactly the same set of runs with exactly the same seeds, whatever order they run in.

Seeds of a run: ``Seeds(base_seed).override(**{source: entropy})`` for every source the
cell varies; the other sources keep the base stream ``Seeds(base_seed)[source]``.
Level ``i`` of a source takes the entropy ``int(Seeds(base_seed)["study-levels"][group][i])``
(a 64-bit hash of a name path, never ``base_seed + i``, so levels of different studies
and the base itself do not collide). The group is the source's own name for its
one-at-a-time and factorial levels, and ``"all-sources"/<source>`` for the runs that vary
every source together, so those runs are independent of the one-at-a-time runs.

Designs:

* ``"one-at-a-time"``: for each source, ``n_seeds`` runs that vary only it, plus ``n_seeds``
  runs that vary every source together (the group ``"all"``);
* ``"all"``: ``n_seeds`` runs that vary every source together;
* ``"factorial"``: every combination of ``n_seeds`` levels of each source (``n_seeds**k``
  runs for ``k`` sources), for variance components with interactions.

``replicates=N`` adds ``N`` runs with every seed at the base (group ``"replicate"``):
they differ only by nondeterministic kernels, which measures the noise floor.
``paired={"A": {...}, "B": {...}}`` runs every cell once per arm, each arm with its own
config overrides and the *same* seeds, for paired A/B comparisons.
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from seedwise._validate import check_choice, check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds
from seedwise.streams import DEFAULT_SOURCES

__all__ = ["DESIGNS", "SOURCES", "Cell", "Design", "DesignName"]

DesignName = Literal["one-at-a-time", "all", "factorial"]
DESIGNS: tuple[str, ...] = ("one-at-a-time", "all", "factorial")
#: The sources of randomness a training function usually has (any name is accepted).
SOURCES: tuple[str, ...] = DEFAULT_SOURCES
#: The group of runs that vary every source together.
ALL_GROUP = "all"
#: The group of replicate runs, every seed at the base.
REPLICATE_GROUP = "replicate"
#: Largest number of runs a design may have (a typo in ``n_seeds`` should not queue a million runs).
MAX_RUNS = 100_000


@dataclass(frozen=True)
class Cell:
    """One run of a study, named by its place in the design.

    Attributes:
        group: the source varied (one-at-a-time), ``"all"``, ``"factorial"`` or ``"replicate"``.
        level: the level (seed index) within the group; for factorial cells, the
            position of the cell in the crossed design.
        levels: the level of each varied source (``{}`` for a replicate).
        arm: the paired arm this run belongs to, or ``None``.
        seeds: the run's seeds.
        config: the config the run is given (the study config plus the arm's overrides).
    """

    group: str
    level: int
    levels: Mapping[str, int]
    arm: str | None
    seeds: Seeds = field(compare=False, repr=False)
    config: Mapping[str, Any] = field(compare=False, repr=False)

    @property
    def key(self) -> str:
        """The run's identity in the store, e.g. ``"init/3"``, ``"factorial/init=1,dropout=0"``, ``"B:all/2"``."""
        if self.group == "factorial":
            body = "factorial/" + ",".join(f"{s}={i}" for s, i in self.levels.items())
        else:
            body = f"{self.group}/{self.level}"
        return body if self.arm is None else f"{self.arm}:{body}"

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "level": self.level, "levels": dict(self.levels), "arm": self.arm}


def _check_name(what: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(f"{what} must be a str, got {type(value).__name__} {value!r}")
    if not value or any(c in value for c in "/:,=") or value != value.strip():
        raise InvalidArgumentError(
            f"{what} must be a non-empty name without '/', ':', ',', '=' or surrounding spaces, got {value!r}"
        )
    return value


def _check_config(what: str, config: object) -> dict[str, Any]:
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise InvalidTypeError(f"{what} must be a dict of JSON values, got {type(config).__name__}")
    config = dict(config)
    for key in config:
        if not isinstance(key, str):
            raise InvalidTypeError(f"{what} keys must be str, got {type(key).__name__} {key!r}")
    try:
        text = json.dumps(config, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(
            f"{what} must hold only JSON values (str, int, float, bool, None, lists, dicts) so the store can "
            f"record it: {exc}"
        ) from None
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def count_from_seeds(n_seeds: int | None, seeds: object, where: str, stacklevel: int = 3) -> int:
    """``n_seeds``, or the count given under its old name ``seeds=`` (with a DeprecationWarning
    naming ``where``, the caller's function, and pointing ``stacklevel`` frames up: at its caller)."""
    if seeds is None:
        return 8 if n_seeds is None else n_seeds
    if n_seeds is not None:
        raise InvalidArgumentError(
            f"{where}: give the number of seeds per source once, as n_seeds= (seeds= is its deprecated old name)"
        )
    warnings.warn(
        f"{where}(seeds={seeds!r}) as a count is deprecated: write n_seeds={seeds!r}; seeds= now takes the "
        "study's root seedwise.Seeds, as everywhere else",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return check_int("n_seeds", seeds, low=1)


@dataclass(frozen=True)
class Design:
    """A validated study design: sources, design kind, levels, base seed, replicates, arms.

    ``Design.cells()`` lists the runs in a fixed order; :meth:`to_dict` is the identity the
    store compares when a study name is reused. ``n_seeds`` is the number of levels (seeds)
    per source; ``base_seed`` the entropy of the root :class:`~seedwise.Seeds` every run
    derives from.
    """

    sources: tuple[str, ...]
    kind: str
    n_seeds: int
    base_seed: int
    config: Mapping[str, Any]
    replicates: int = 0
    paired: Mapping[str, Mapping[str, Any]] | None = None

    @classmethod
    def create(
        cls,
        *,
        sources: Sequence[str] | str = SOURCES,
        design: str = "one-at-a-time",
        n_seeds: int | None = None,
        base_seed: int = 0,
        config: Mapping[str, Any] | None = None,
        replicates: int = 0,
        paired: Mapping[str, Mapping[str, Any] | None] | None = None,
        seeds: int | None = None,
    ) -> Design:
        """Validate the arguments of :class:`~seedwise.study.Study` and build the design.

        ``seeds=`` is the old name of ``n_seeds=`` (deprecated: ``seeds`` is a
        :class:`~seedwise.Seeds` everywhere else).
        """
        n_seeds = count_from_seeds(n_seeds, seeds, "Design.create")
        if isinstance(sources, str):
            sources = [s.strip() for s in sources.split(",")]
        if not isinstance(sources, Sequence) or not sources:
            raise InvalidArgumentError(
                f"sources must be a non-empty list of names such as {list(SOURCES)}, got {sources!r}"
            )
        sources = tuple(_check_name("each source", s) for s in sources)
        if len(set(sources)) != len(sources):
            raise InvalidArgumentError(f"sources must not repeat a name, got {list(sources)}")
        for reserved in (ALL_GROUP, REPLICATE_GROUP, "factorial"):
            if reserved in sources:
                raise InvalidArgumentError(f"{reserved!r} is reserved for a group of runs; rename that source")
        kind = check_choice("design", design, DESIGNS)
        n = check_int("n_seeds", n_seeds, low=1)
        if kind == "factorial" and n < 2:
            raise InvalidArgumentError("n_seeds must be >= 2 for a factorial design (a factor needs two levels)")
        try:
            base = Seeds(base_seed).entropy  # validates the int
        except (InvalidArgumentError, InvalidTypeError) as exc:
            raise type(exc)(f"base_seed: {exc}") from None
        reps = check_int("replicates", replicates, low=0)
        study_config = _check_config("config", config)
        arms: dict[str, dict[str, Any]] | None = None
        if paired is not None:
            if not isinstance(paired, Mapping) or len(paired) < 2:
                raise InvalidArgumentError(
                    "paired must map at least two arm names to config overrides, e.g. "
                    "paired={'A': {'lr': 0.1}, 'B': {'lr': 0.01}}"
                )
            arms = {_check_name("each arm of paired", a): _check_config(f"paired[{a!r}]", c) for a, c in paired.items()}
        out = cls(sources, kind, n, base, study_config, reps, arms)
        if out.n_runs > MAX_RUNS:
            raise InvalidArgumentError(
                f"this design has {out.n_runs} runs (more than {MAX_RUNS}); lower n_seeds or the number of sources"
            )
        return out

    # -- size and cells -------------------------------------------------------------

    @property
    def n_runs(self) -> int:
        """Number of runs in the design (all arms)."""
        k = len(self.sources)
        n = self.n_seeds
        per_arm: int = {"one-at-a-time": (k + 1) * n, "all": n, "factorial": n**k}[self.kind]
        return (per_arm + self.replicates) * (len(self.paired) if self.paired else 1)

    @property
    def seeds(self) -> int:
        """Deprecated: the number of seeds per source is :attr:`n_seeds`."""
        warnings.warn("Design.seeds is deprecated: read Design.n_seeds", DeprecationWarning, stacklevel=2)
        return self.n_seeds

    def level_entropy(self, group: str, source: str, level: int) -> int:
        """The entropy that ``source`` takes at ``level`` of ``group`` (a 64-bit name-derived hash)."""
        levels = Seeds(self.base_seed)["study-levels"]
        stream = levels["all-sources"][level][source] if group == ALL_GROUP else levels[source][level]
        return int(stream)

    def seeds_for(self, group: str, levels: Mapping[str, int]) -> Seeds:
        """The seeds of the run of ``group`` at ``levels`` (``{}``: the base seeds)."""
        base = Seeds(self.base_seed)
        if not levels:
            return base
        return base.override({s: self.level_entropy(group, s, i) for s, i in levels.items()})

    def cells(self) -> list[Cell]:
        """Every run of the design, in a fixed order (arms outermost)."""
        arms: list[tuple[str | None, dict[str, Any]]] = (
            [(a, {**self.config, **c}) for a, c in self.paired.items()] if self.paired else [(None, dict(self.config))]
        )
        plan: list[tuple[str, int, dict[str, int]]] = []  # (group, level, levels)
        if self.kind == "one-at-a-time":
            for s in self.sources:
                plan += [(s, i, {s: i}) for i in range(self.n_seeds)]
        if self.kind in ("one-at-a-time", "all"):
            plan += [(ALL_GROUP, i, dict.fromkeys(self.sources, i)) for i in range(self.n_seeds)]
        if self.kind == "factorial":
            # Each source's own levels, crossed.
            for pos, combo in enumerate(itertools.product(range(self.n_seeds), repeat=len(self.sources))):
                plan.append(("factorial", pos, dict(zip(self.sources, combo))))
        plan += [(REPLICATE_GROUP, r, {}) for r in range(self.replicates)]
        seeds = [self.seeds_for(group, levels) for group, _, levels in plan]
        return [
            Cell(group, level, levels, arm, s, config)
            for arm, config in arms
            for (group, level, levels), s in zip(plan, seeds)
        ]

    # -- identity -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description; two designs are the same study iff these are equal."""
        return {
            "design": self.kind,
            "sources": list(self.sources),
            "seeds": self.n_seeds,  # the stored name of the count: stores written before n_seeds read the same
            "base_seed": str(self.base_seed),
            "config": dict(self.config),
            "replicates": self.replicates,
            "paired": None if self.paired is None else {a: dict(c) for a, c in self.paired.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Design:
        return cls.create(
            sources=data["sources"],
            design=data["design"],
            n_seeds=data["seeds"],
            base_seed=int(data["base_seed"]),
            config=data.get("config"),
            replicates=data.get("replicates", 0),
            paired=data.get("paired"),
        )

    def __repr__(self) -> str:
        extra = f", replicates={self.replicates}" if self.replicates else ""
        if self.paired:
            extra += f", paired={list(self.paired)}"
        return (
            f"Design({self.kind!r}, sources={list(self.sources)}, n_seeds={self.n_seeds}, "
            f"base_seed={self.base_seed}{extra}: {self.n_runs} runs)"
        )
