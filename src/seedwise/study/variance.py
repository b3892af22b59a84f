"""``VarianceReport``: how much each source of randomness moves a metric, as a table and as text."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seedwise.study._rich import import_rich

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["VarianceReport", "text_table_class"]


@functools.lru_cache(maxsize=1)
def text_table_class() -> type:
    """A ``rich.table.Table`` that also prints as text, so ``print(results.summary())`` shows the table."""
    import_rich()
    from rich.table import Table

    class SummaryTable(Table):
        def __str__(self) -> str:
            import io

            from rich.console import Console

            buffer = io.StringIO()
            console = Console(file=buffer, width=120, color_system=None, force_terminal=False)
            console.print(self)
            return buffer.getvalue().rstrip("\n")

        __repr__ = __str__

    return SummaryTable


@dataclass(frozen=True)
class VarianceReport:
    """How much each source of randomness moves a metric.

    Attributes:
        study, metric, design: what was analysed.
        components: the :mod:`seedwise.stats` result: per-source variances with CIs and
            their ratio to the all-sources variance (one-at-a-time; these conditional
            variances need not add up, because sources interact), or variance
            components with interactions (factorial), or the total variance ("all").
        noise_floor: the spread of the replicate runs (every seed fixed), or ``None``.
        notes: caveats worth reading.
    """

    study: str
    metric: str
    design: str
    components: Any
    noise_floor: Any = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        def conv(x: Any) -> Any:
            return x.to_dict() if hasattr(x, "to_dict") else x

        return {
            "study": self.study,
            "metric": self.metric,
            "design": self.design,
            "components": conv(self.components),
            "noise_floor": conv(self.noise_floor),
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per component: variance with its CI, and its share (or ratio to all) with its CI."""
        import pandas as pd

        c = self.components
        rows = []
        if hasattr(c, "all_sources"):  # one-at-a-time: ratio to the all-sources variance
            for r in (*c.sources, c.all_sources):
                rows.append((r.source, r.n, r.variance, r.variance_ci_low, r.variance_ci_high, r.ratio,
                             r.ratio_ci_low, r.ratio_ci_high))  # fmt: skip
        elif hasattr(c, "components"):  # factorial: share of the total
            for r in c.components:
                rows.append((r.name, r.df, r.estimate, r.ci_low, r.ci_high, r.share, r.share_ci_low, r.share_ci_high))
        else:  # "all": the total variance only
            rows.append((c.source, c.n, c.variance, c.variance_ci_low, c.variance_ci_high, 1.0, 1.0, 1.0))
        if self.noise_floor is not None:
            nf = self.noise_floor
            rows.append(("noise floor", nf.n, nf.variance, nf.variance_ci_low, nf.variance_ci_high, math.nan,
                         math.nan, math.nan))  # fmt: skip
        columns = ["component", "n_or_df", "variance", "ci_low", "ci_high", "share", "share_low", "share_high"]
        return pd.DataFrame(rows, columns=columns)

    @property
    def share_label(self) -> str:
        """What the ``share`` column means for this design."""
        if self.design == "one-at-a-time":
            return "variance ratio to the all-sources group (95% CI); need not add up to 1"
        return "share of the total seed variance (95% CI)"

    def __rich__(self) -> Any:
        import_rich()
        from rich.console import Group
        from rich.text import Text

        parts: list[Any] = [Text(f"{self.study}: variance of {self.metric} ({self.design})", style="bold")]
        for item in (self.components, self.noise_floor):
            if item is not None:
                parts.append(item.table() if hasattr(item, "table") else Text(repr(item)))
        parts += [Text(f"note: {n}", style="yellow") for n in self.notes]
        return Group(*parts)

    def __str__(self) -> str:
        """The same content as the rich table, as text: ``print(results.variance("accuracy"))``."""
        lines = [f"{self.study}: variance of {self.metric} ({self.design})"]
        lines.append(str(self.components))
        if self.noise_floor is not None:
            lines += ["noise floor (every seed fixed):", str(self.noise_floor)]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        noise = f", noise_floor={self.noise_floor!r}" if self.noise_floor is not None else ""
        return f"VarianceReport({self.study!r}, {self.metric!r}, {self.design}: {self.components!r}{noise})"
