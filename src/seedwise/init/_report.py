"""What :func:`~seedwise.init.initialize` did: :class:`InitReport`, one :class:`InitEntry` per tensor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from seedwise._table import TableReport

__all__ = ["InitEntry", "InitReport"]


@dataclass(frozen=True)
class InitEntry:
    """How one tensor was initialised.

    Attributes:
        name: its qualified name in the model (``"encoder.0.weight"``).
        kind: ``"parameter"`` or ``"buffer"``.
        shape: its shape.
        scheme: the rule that drew it, e.g. ``"kaiming_uniform(a=sqrt(5))"``, ``"ones"``.
        stream: the :class:`Seeds` it was drawn from, as text; ``None`` when the rule
            draws nothing (a constant).
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    scheme: str
    stream: str | None


@dataclass(repr=False)
class InitReport(TableReport):
    """What :func:`initialize` did: one :class:`InitEntry` per tensor, in model order."""

    seeds: str
    entries: list[InitEntry] = field(default_factory=list)

    def __iter__(self) -> Iterator[InitEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, name: str) -> InitEntry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(f"no tensor named {name!r} was initialised; names: {', '.join(e.name for e in self.entries)}")

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"seeds": self.seeds, "entries": [{**asdict(e), "shape": list(e.shape)} for e in self.entries]}

    def _rows(self) -> list[tuple[str, ...]]:
        return [
            (e.name, e.kind, "x".join(map(str, e.shape)) or "scalar", e.scheme, e.stream or "- (no draw)")
            for e in self.entries
        ]

    def _title(self) -> str:
        return f"initialised from {self.seeds}"

    def _rich_title(self) -> str:
        return f"seedwise.init.initialize from {self.seeds}"

    def _columns(self) -> tuple[str, ...]:
        return ("name", "kind", "shape", "scheme", "stream")

    def _repr_parts(self) -> list[str]:
        counts: dict[str, int] = {}
        for e in self.entries:
            counts[e.scheme] = counts.get(e.scheme, 0) + 1
        n_params = sum(e.kind == "parameter" for e in self.entries)
        return [
            f"seeds={self.seeds}",
            f"parameters={n_params}",
            f"buffers={len(self.entries) - n_params}",
            f"schemes={counts}",
        ]
