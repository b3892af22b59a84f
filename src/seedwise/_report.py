"""A list of :class:`~seedwise.frameworks.Setting` records, printable as a table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from seedwise.frameworks._base import Setting

__all__ = ["SettingsReport"]


@dataclass
class SettingsReport:
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

    def __rich__(self):
        from rich.table import Table

        table = Table(title=self.title)
        for column in ("framework", "setting", "value", "status", "note"):
            table.add_column(column, overflow="fold")
        for s in self.settings:
            status = "[green]ok[/green]" if s.ok else "[red]not applied[/red]"
            table.add_row(s.framework, s.name, s.value, status, s.note)
        return table

    def __str__(self) -> str:
        rows = [("framework", "setting", "value", "status", "note")]
        rows += [(s.framework, s.name, s.value, "ok" if s.ok else "NOT APPLIED", s.note) for s in self.settings]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [self.title]
        for r in rows:
            lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
        return "\n".join(line.rstrip() for line in lines)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(ok={self.ok}, settings={len(self.settings)}, not_applied={len(self.not_applied)})"
        )
