"""The one report base: a report is a title plus rows, shown as a rich table, text or repr.

Every report seedwise prints -- what :func:`~seedwise.seed_everything` set, an audit, an
initialisation report, a statistics result -- derives from :class:`TableReport` and
supplies only its data:

* :meth:`TableReport._title` and :meth:`TableReport._columns`;
* :meth:`TableReport._rows`: one tuple of plain-text cells per row;
* optionally :meth:`TableReport._rich_title` / :meth:`TableReport._rich_rows` (the same
  with rich markup, e.g. a red "not applied"), and :meth:`TableReport._repr_fields`.

The base renders them three ways: ``rich.print(report)`` (``__rich__``: a
``rich.table.Table``), ``print(report)`` (``__str__``: the title, then aligned columns
with the last one left ragged) and ``repr(report)`` (one line: the class name and the
fields that matter). rich is imported only when a report is rendered with it.

A report whose text and rich forms differ in shape says so with a few more hooks, each
defaulting to "same as the text form" or "nothing":

* :meth:`TableReport._rich_columns` -- the rich table's header when the text form has
  another (or none: a list of one-line accounts is a one-column text table);
* :meth:`TableReport._rich_caption` -- a note under the rich table;
* :meth:`TableReport._rich_row_style` -- a style for one rich row (e.g. bold for the culprit);
* :meth:`TableReport._all_clear` -- a one-line verdict rich shows (in green) instead of
  an empty table;
* :attr:`TableReport._text_indent` -- the text rows' indent under the title;
* :meth:`TableReport._repr_parts` -- the repr's parts, when they are not all ``key=repr(value)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

__all__ = ["TableReport", "text_table"]


def text_table(
    title: str | None, columns: Sequence[str] | None, rows: Sequence[Sequence[str]], *, indent: str = ""
) -> str:
    """``rows`` as aligned plain text under ``title``, each line after it prefixed by ``indent``;
    the last column is not padded."""
    body = ([tuple(columns)] if columns else []) + [tuple(r) for r in rows]
    lines = [title] if title else []
    if body:
        n = max(len(r) for r in body)
        widths = [max((len(r[i]) for r in body if i < len(r)), default=0) for i in range(n - 1)]
        for r in body:
            cells = [r[i].ljust(widths[i]) if i < n - 1 else r[i] for i in range(len(r))]
            lines.append(indent + "  ".join(cells))
    return "\n".join(line.rstrip() for line in lines)


class TableReport:
    """Base class of every printable report (see the module docstring)."""

    #: Prefix of every text line after the title.
    _text_indent: ClassVar[str] = ""

    def _title(self) -> str:
        return type(self).__name__

    def _columns(self) -> Sequence[str] | None:
        """Column headers, or None for a headerless (label, value) table."""
        return None

    def _rows(self) -> list[tuple[str, ...]]:
        raise NotImplementedError(f"{type(self).__name__} must implement _rows()")

    def _rich_title(self) -> str:
        return self._title()

    def _rich_columns(self) -> Sequence[str] | None:
        return self._columns()

    def _rich_rows(self) -> list[tuple[str, ...]]:
        return self._rows()

    def _rich_caption(self) -> str | None:
        return None

    def _rich_row_style(self, index: int) -> str | None:
        """The rich style of row ``index`` of :meth:`_rich_rows`, or None (default) for none."""
        return None

    def _all_clear(self) -> str | None:
        """A one-line verdict that rich shows, in green, instead of the table; None: the table."""
        return None

    def _repr_fields(self) -> dict[str, Any]:
        return {}

    def _repr_parts(self) -> list[str]:
        """What the repr shows between its parentheses; by default ``key=value!r`` per :meth:`_repr_fields`."""
        return [f"{k}={v!r}" for k, v in self._repr_fields().items()]

    def __rich__(self) -> Any:
        verdict = self._all_clear()
        if verdict is not None:
            from rich.text import Text

            return Text(verdict, style="green")
        from rich.table import Table

        columns = self._rich_columns()
        table = Table(title=self._rich_title(), caption=self._rich_caption(), show_header=columns is not None)
        rows = self._rich_rows()
        n = len(columns) if columns is not None else max((len(r) for r in rows), default=2)
        for i in range(n):
            header = columns[i] if columns is not None else ""
            style = "bold" if columns is None and i == 0 else None
            table.add_column(header, overflow="fold", style=style)
        for i, row in enumerate(rows):
            table.add_row(*row, style=self._rich_row_style(i))
        return table

    def __str__(self) -> str:
        return text_table(self._title(), self._columns(), self._rows(), indent=self._text_indent)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._repr_parts())})"
