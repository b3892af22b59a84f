"""The records of what seedwise did to process-global state, and the report that lists them.

* :class:`Setting`: one thing set (or not set) in one framework, with why and how to fix;
* :class:`State`: one framework's captured global RNG state, as arrays plus JSON metadata
  (never pickled);
* :class:`SettingsReport`: a titled list of settings, printable as a table (the base of
  :class:`~seedwise.process.seeding.SeedReport` and
  :class:`~seedwise.process.determinism.DeterminismReport`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from seedwise._table import TableReport

__all__ = ["Setting", "State", "SettingsReport"]


@dataclass(frozen=True)
class Setting:
    """One thing seedwise did (or could not do) to a framework's global state.

    Attributes:
        framework: the adapter's name.
        name: what was set, e.g. ``"torch.manual_seed"`` or ``"CUBLAS_WORKSPACE_CONFIG"``.
        value: the value it now has, as text.
        ok: False when the setting could not take effect.
        note: why not, and how to fix it; or a remark.
    """

    framework: str
    name: str
    value: str
    ok: bool = True
    note: str = ""


@dataclass
class State:
    """A framework's captured RNG state: arrays plus JSON-ready metadata (never pickled)."""

    framework: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(repr=False)
class SettingsReport(TableReport):
    """What seedwise did to the process's global state, and what it could not do.

    Iterating yields the :class:`Setting` records; :attr:`ok` is False when any setting
    could not take effect (each such record's ``note`` says why and how to fix it).
    """

    title: str
    settings: list[Setting] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.settings)

    @property
    def not_applied(self) -> list[Setting]:
        """The settings that could not take effect."""
        return [s for s in self.settings if not s.ok]

    def __iter__(self) -> Iterator[Setting]:
        return iter(self.settings)

    def __len__(self) -> int:
        return len(self.settings)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "ok": self.ok, "settings": [asdict(s) for s in self.settings]}

    def _title(self) -> str:
        return self.title

    def _columns(self) -> tuple[str, ...]:
        return ("framework", "setting", "value", "status", "note")

    def _rows(self) -> list[tuple[str, ...]]:
        return [(s.framework, s.name, s.value, "ok" if s.ok else "NOT APPLIED", s.note) for s in self.settings]

    def _rich_rows(self) -> list[tuple[str, ...]]:
        return [
            (s.framework, s.name, s.value, "[green]ok[/green]" if s.ok else "[red]not applied[/red]", s.note)
            for s in self.settings
        ]

    def _repr_fields(self) -> dict[str, Any]:
        return {"ok": self.ok, "settings": len(self.settings), "not_applied": len(self.not_applied)}
