"""The common shape of statistics results: a frozen dataclass that prints as a table.

Every result has :meth:`Result.to_dict` (JSON-ready: NaN becomes ``None``, NumPy
scalars become Python numbers, tuples become lists), :meth:`Result.table` (a
``rich.table.Table``, also used by ``rich.print(result)``) and a one-line ``repr``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """``value`` with NumPy types, tuples and non-finite floats made JSON-safe."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def fmt(value: float | None, digits: int = 4) -> str:
    """A number for display: 4 significant digits, '-' for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    return f"{float(value):.{digits}g}"


def fmt_ci(low: float, high: float) -> str:
    """An interval for display."""
    if math.isnan(low) and math.isnan(high):
        return "-"
    return f"[{fmt(low)}, {fmt(high)}]"


def fmt_p(p: float) -> str:
    """A p-value for display."""
    if math.isnan(p):
        return "-"
    return "<1e-4" if p < 1e-4 else f"{p:.4f}"


class Result:
    """Mixin of the result dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        """All fields as a JSON-ready dict."""
        out: dict[str, Any] = jsonable(self)
        return out

    def rows(self) -> list[tuple[str, str]]:  # pragma: no cover - overridden
        """(label, value) pairs shown by :meth:`table`."""
        raise NotImplementedError

    def title(self) -> str:
        return type(self).__name__

    def table(self) -> Any:
        """A ``rich.table.Table`` of this result."""
        from rich.table import Table

        table = Table(title=self.title(), show_header=False)
        table.add_column("", style="bold")
        table.add_column("")
        for label, value in self.rows():
            table.add_row(label, value)
        return table

    def __rich__(self) -> Any:
        return self.table()

    def __str__(self) -> str:
        return "\n".join(f"{label}: {value}" for label, value in self.rows())
