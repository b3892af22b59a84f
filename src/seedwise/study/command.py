"""Command runs: a study of any command line, one process per run.

A :class:`Command` is an argument list with placeholders that each run fills in:

* ``{seed}``: one 32-bit int derived from every seed of the run (:func:`command_seed`),
  for scripts that take a single ``--seed``;
* ``{seed.<source>}``: the 32-bit int of one source's stream, ``int(seeds[source]) % 2**32``;
* ``{run}`` (the run's index in the design), ``{cell}`` (its cell key, ``init/3``),
  ``{arm}``, ``{study}``, ``{out}`` (a per-run output directory, emptied before each
  attempt) and ``{config.<key>}`` (a value of the run's config);
* a placeholder is a name in braces, ``{name}``; every other brace is left as it is (JSON
  such as ``{"lr": 0.1}`` passes unchanged), and ``{{name}}`` gives a literal ``{name}``.

Every run also gets its seeds as JSON in ``SEEDWISE_SEEDS`` (``Seeds.from_env()`` reads
them) and the file to report metrics to in ``SEEDWISE_METRICS``. What the command
receives decides what a design can vary: a command with a single ``{seed}`` varies every
source at once, so it fits the ``"all"`` design only; a per-source design needs
``{seed.<source>}`` for every source, or no seed placeholder at all (the script reads
``Seeds.from_env()``). :func:`check_against_design` rejects the rest before any run starts.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import Seeds
from seedwise.study.design import Design

__all__ = ["Command", "CommandTask", "command_seed", "source_seed", "PLACEHOLDERS", "DEFAULT_LOG_LIMIT"]

#: The placeholders a command may use (``{seed.<source>}`` and ``{config.<key>}`` name a source or a key).
PLACEHOLDERS = ("seed", "seed.<source>", "run", "cell", "arm", "study", "out", "config.<key>")
#: Bytes of stdout and of stderr kept per run (the end of each; what came before is dropped and counted).
DEFAULT_LOG_LIMIT = 1 << 20
_MASK32 = 0xFFFF_FFFF
#: ``{{name}}`` (a literal ``{name}``) or ``{name}`` (a placeholder); other braces are plain text.
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][\w.-]*)\}\}|\{([A-Za-z_][\w.-]*)\}")


def source_seed(seeds: Seeds, source: str) -> int:
    """``{seed.<source>}``: the stream ``seeds[source]`` as a 32-bit int, ``int(seeds[source]) % 2**32``."""
    return int(seeds[source]) & _MASK32


def command_seed(seeds: Seeds) -> int:
    """``{seed}``: one 32-bit int for a run, derived from its root and every override it makes.

    ``int(Seeds(root).child("study-command-seed", *names)) % 2**32``, with one name
    ``"<source>=<entropy>"`` per overridden stream (sorted): runs with the same seeds get
    the same int, runs that vary any source get different ones.
    """
    data = seeds.to_dict()
    names = sorted("/".join(str(e[1]) for e in item["path"]) + "=" + str(item["entropy"]) for item in data["overrides"])
    return int(Seeds(int(data["entropy"])).child("study-command-seed", *names)) & _MASK32


def _fields(template: str) -> list[str]:
    """The placeholder names in one argument, in order."""
    return [m.group(2) for m in _PLACEHOLDER.finditer(template) if m.group(2) is not None]


def _check_argv(argv: object, what: str) -> tuple[str, ...]:
    if isinstance(argv, str):
        raise InvalidTypeError(
            f"{what} must be a list of arguments such as ['python', 'train.py', '--seed', '{{seed}}'], got the "
            f"string {argv!r} (a string names a function, FILE.py:FUNCTION)"
        )
    if not isinstance(argv, Sequence) or not argv:
        raise InvalidArgumentError(
            f"{what} is empty: give the command to run, e.g. ['python', 'train.py', '--seed', '{{seed}}']"
        )
    for arg in argv:
        if not isinstance(arg, str):
            raise InvalidTypeError(f"{what}: every argument must be a str, got {type(arg).__name__} {arg!r}")
    return tuple(argv)


@dataclass(frozen=True)
class Command:
    """One command line to study, and how to run it.

    Args:
        argv: the program and its arguments, with placeholders (see the module docs).
        timeout: seconds a run may take before it is stopped and marked failed (``None``: no limit).
        cwd: the working directory of every run (default: the directory the study runs in).
        env: extra environment variables for every run.
        log_limit: bytes of stdout and of stderr kept per run (the end of each).
    """

    argv: tuple[str, ...]
    timeout: float | None = None
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    log_limit: int = DEFAULT_LOG_LIMIT

    def __post_init__(self) -> None:
        object.__setattr__(self, "argv", _check_argv(self.argv, "the command"))
        if self.timeout is not None:
            t = self.timeout
            if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t) or t <= 0:
                raise InvalidArgumentError(f"timeout must be a positive number of seconds, got {t!r}")
            object.__setattr__(self, "timeout", float(t))
        if self.cwd is not None:
            cwd = os.fspath(self.cwd)
            if not Path(cwd).is_dir():
                raise InvalidArgumentError(f"cwd {cwd!r} is not a directory")
            object.__setattr__(self, "cwd", str(Path(cwd).resolve()))
        if not isinstance(self.env, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.env.items()
        ):
            raise InvalidTypeError("env must map environment variable names (str) to values (str)")
        object.__setattr__(self, "env", dict(self.env))
        if isinstance(self.log_limit, bool) or not isinstance(self.log_limit, int) or self.log_limit < 1024:
            raise InvalidArgumentError(f"log_limit must be an int of at least 1024 bytes, got {self.log_limit!r}")

    @classmethod
    def of(cls, command: Command | Sequence[str]) -> Command:
        return command if isinstance(command, Command) else cls(tuple(_check_argv(command, "the command")))

    @property
    def fields(self) -> list[str]:
        """Every placeholder the command uses, in order of appearance."""
        return [name for arg in self.argv for name in _fields(arg)]

    def check_program(self) -> None:
        """Fail now if the program cannot be found, rather than once per run."""
        program = self.argv[0]
        if "{" in program:
            return
        if os.sep in program or (os.altsep and os.altsep in program):
            path = Path(self.cwd or ".") / program
            if not path.is_file() or not os.access(path, os.X_OK):
                raise InvalidArgumentError(f"the command {program!r} is not an executable file (from {path})")
        elif shutil.which(program, path=self.env.get("PATH")) is None:
            raise InvalidArgumentError(
                f"the command {program!r} is not found on PATH; give its full path or install it"
            )

    def render(self, values: Mapping[str, str]) -> list[str]:
        """The arguments of one run, placeholders filled from ``values``."""

        def fill(match: re.Match[str]) -> str:
            literal, name = match.groups()
            return "{" + literal + "}" if name is None else values[name]

        return [_PLACEHOLDER.sub(fill, arg) for arg in self.argv]

    def __str__(self) -> str:
        return " ".join(self.argv)


def _config_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class CommandTask:
    """What a worker needs to run the runs of a command study: the command per arm and the output root."""

    commands: Mapping[str | None, Command]
    out_root: str

    def command(self, arm: str | None) -> Command:
        return self.commands[arm if arm in self.commands else None]

    def values(self, seeds: Seeds, *, study: str, cell: str, index: int, arm: str | None, out: str,
               config: Mapping[str, Any], fields: Sequence[str]) -> dict[str, str]:  # fmt: skip
        """The text of each placeholder in ``fields`` for one run."""
        values: dict[str, str] = {}
        for name in fields:
            if name == "seed":
                values[name] = str(command_seed(seeds))
            elif name.startswith("seed."):
                values[name] = str(source_seed(seeds, name[5:]))
            elif name.startswith("config."):
                values[name] = _config_text(config[name[7:]])
            else:
                values[name] = {"run": str(index), "cell": cell, "arm": arm or "", "study": study, "out": out}[name]
        return values

    def out_dir(self, study: str, cell: str) -> str:
        """The run's own output directory: ``<out_root>/<study>/<cell as a path>``."""
        safe = study.replace("/", "_").replace("\\", "_").replace("\0", "_")
        if safe in (".", ".."):
            safe = f"_{safe}"
        return str(Path(self.out_root, safe, *cell.replace(":", "/").split("/")))


def as_arms(train: object) -> dict[str | None, Command] | None:
    """The commands of a study's ``train``: one command (arm ``None``), ``{arm: command}``, or None (a function)."""
    if isinstance(train, Command):
        return {None: train}
    if isinstance(train, Mapping):
        if len(train) < 2:
            raise InvalidArgumentError(
                "a study of command arms needs at least two, e.g. {'baseline': ['python', 'train.py'], "
                "'new': ['python', 'train.py', '--new-aug']}"
            )
        arms: dict[str | None, Command] = {}
        for arm, command in train.items():
            if not isinstance(arm, str):
                raise InvalidTypeError(f"arm names must be str, got {type(arm).__name__} {arm!r}")
            arms[arm] = Command.of(command)
        return arms
    if isinstance(train, (list, tuple)):
        return {None: Command.of(train)}
    return None


def check_against_design(commands: Mapping[str | None, Command], design: Design) -> None:
    """Reject placeholders the runs cannot fill and designs whose sources the command cannot receive."""
    for arm, command in commands.items():
        where = "the command" if arm is None else f"the command of arm {arm!r}"
        fields = command.fields
        config_keys = set(design.config)
        if design.paired:
            arm_configs = [design.paired[arm]] if arm is not None and arm in design.paired else design.paired.values()
            config_keys = set.intersection(*({*design.config, *c} for c in arm_configs))
        for name in fields:
            if name in ("seed", "run", "cell", "study", "out"):
                continue
            if name == "arm" and design.paired:
                continue
            if name.startswith("seed.") and name[5:] in design.sources:
                continue
            if name.startswith("config.") and name[7:] in config_keys:
                continue
            if name.startswith("seed."):
                hint = f"{name[5:]!r} is not a source of this study (sources: {', '.join(design.sources)})"
            elif name.startswith("config."):
                hint = f"the config has no key {name[7:]!r} (keys: {', '.join(sorted(config_keys)) or 'none'})"
            elif name == "arm":
                hint = "this study has no arms"
            else:
                hint = "placeholders: " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            raise InvalidArgumentError(f"unknown placeholder {{{name}}} in {where}: {hint}")
        _check_sources(where, fields, design)


def _check_sources(where: str, fields: Sequence[str], design: Design) -> None:
    seeds = [f for f in fields if f == "seed" or f.startswith("seed.")]
    if not seeds:  # the script reads SEEDWISE_SEEDS (Seeds.from_env())
        return
    received = {f[5:] for f in seeds if f != "seed"}
    if "seed" in seeds and design.kind == "all":
        return
    missing = [s for s in design.sources if s not in received]
    if not missing:
        return
    only_seed = "seed" in seeds and not received
    raise InvalidArgumentError(
        f"{where} receives "
        + ("one seed ({seed}), so its runs vary every source at once" if only_seed else f"no seed for {missing}")
        + f", but the {design.kind} design varies the sources {list(design.sources)} one by one: "
        + "use design 'all', pass each source's seed ({seed.<source>}), or read seedwise.Seeds.from_env() in "
        "the script and use no seed placeholder"
    )
