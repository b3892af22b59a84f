"""A list of :class:`~seedwise.frameworks.Setting` records, printable as a table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from seedwise._table import TableReport
from seedwise.frameworks._base import Setting

__all__ = ["SettingsReport"]


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

    def to_dict(self) -> dict:
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
