"""``HtmlPage``: one self-contained HTML page of headings, text, tables and figures.

Figures are embedded as base64 PNG (``<img src="data:image/png;base64,...">``), so the
page is a single file that opens anywhere; each figure can also be saved as a PNG next
to it. The demo and the study report build their pages with the same four calls.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedwise.errors import InvalidArgumentError, InvalidTypeError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["HtmlPage", "figure_png"]

# The body is at most 1200 px wide; a table narrower than the body stays so, a wider one
# wraps its text cells, and only a table that still does not fit scrolls inside its own box
# (div.table-wrap), so no column is ever cut off by the page edge.
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222;
       line-height: 1.45; }
h1, h2, h3 { font-weight: 600; } h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }
div.table-wrap { max-width: 100%; overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; font-size: 0.85em; }
caption { caption-side: bottom; text-align: left; color: #555; padding-top: .3em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f3f3f3; white-space: nowrap; } td { white-space: nowrap; } th.text { text-align: left; }
td.text { text-align: left; white-space: normal; overflow-wrap: anywhere; min-width: 4em; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
p.note { color: #7a5c00; background: #fff8e1; padding: .4em .7em; }
"""


def figure_png(fig: Figure, *, dpi: int = 110) -> bytes:
    """The PNG bytes of a matplotlib figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")
    return slug or "figure"


class HtmlPage:
    """An HTML page built section by section; :meth:`write` saves it (and its PNGs).

    Example:
        >>> page = HtmlPage("My study")
        >>> page.add_heading("Accuracy", level=2)
        >>> page.add_text("Eight seeds per source.")
        >>> # page.add_table(results.table()); page.add_figure(fig, name="accuracy")
        >>> # page.write("out/")  -> out/report.html (+ out/accuracy.png)
    """

    def __init__(self, title: str):
        if not isinstance(title, str):
            raise InvalidTypeError(f"title must be a str, got {type(title).__name__}")
        self.title = title
        self._parts: list[str] = []
        self.figures: dict[str, bytes] = {}

    def add_heading(self, text: str, *, level: int = 2) -> None:
        """A heading (level 1-4)."""
        if level not in (1, 2, 3, 4):
            raise InvalidArgumentError(f"level must be 1, 2, 3 or 4, got {level!r}")
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def add_text(self, text: str, *, note: bool = False) -> None:
        """A paragraph of plain text (escaped); ``note=True`` highlights it as a caveat."""
        css = ' class="note"' if note else ""
        self._parts.append(f"<p{css}>{html.escape(text)}</p>")

    def add_table(self, frame: pd.DataFrame, *, caption: str | None = None, digits: int = 4) -> None:
        """A DataFrame as an HTML table (numbers to ``digits`` significant digits, no index)."""
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise InvalidTypeError(f"add_table takes a pandas DataFrame, got {type(frame).__name__}")
        rows = ['<div class="table-wrap"><table>']
        if caption:
            rows.append(f"<caption>{html.escape(caption)}</caption>")
        records = list(frame.itertuples(index=False))
        # A column of text (judged by its first row) is left-aligned, header included.
        text = [bool(records) and not _cell(value, digits)[1] for value in (records[0] if records else frame.columns)]
        heads = (f'<th class="text">{html.escape(str(c))}</th>' if t else f"<th>{html.escape(str(c))}</th>"
                 for c, t in zip(frame.columns, text))  # fmt: skip
        rows.append("<thead><tr>" + "".join(heads) + "</tr></thead>")
        rows.append("<tbody>")
        for record in records:
            cells = []
            for value in record:
                shown, numeric = _cell(value, digits)
                cells.append(f"<td>{shown}</td>" if numeric else f'<td class="text">{shown}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
        rows.append("</tbody></table></div>")
        self._parts.append("\n".join(rows))

    def add_figure(self, fig: Figure, *, name: str, caption: str | None = None, close: bool = True) -> str:
        """Embed a matplotlib figure as a base64 PNG; it is also saved as ``name.png`` by :meth:`write`.

        Returns the file name the PNG gets.
        """
        filename = _slug(name) + ".png"
        if filename in self.figures:
            raise InvalidArgumentError(f"a figure named {filename!r} is already on this page; give another name")
        png = figure_png(fig)
        if close and getattr(fig.canvas, "manager", None) is not None:  # a pyplot figure: free it
            import matplotlib.pyplot as plt

            plt.close(fig)
        self.figures[filename] = png
        data = base64.b64encode(png).decode("ascii")
        alt = html.escape(caption or name)
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        source = f"data:image/png;base64,{data}"
        self._parts.append(
            f'<figure><img alt="{alt}" data-name="{html.escape(filename)}" src="{source}">{cap}</figure>'
        )
        return filename

    def add_html(self, fragment: str) -> None:
        """Raw HTML (trusted input only)."""
        self._parts.append(fragment)

    def render(self) -> str:
        """The page as one HTML string."""
        title = html.escape(self.title)
        body = "\n".join(self._parts)
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{_STYLE}</style></head>\n<body>\n<h1>{title}</h1>\n{body}\n</body></html>\n"
        )

    def write(self, out_dir: str | os.PathLike[str], *, filename: str = "report.html", save_pngs: bool = True) -> Path:
        """Write the page (and each figure as a PNG) into ``out_dir``; return the page's path."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if save_pngs:
            for name, png in self.figures.items():
                (out / name).write_bytes(png)
        path = out / filename
        path.write_text(self.render(), encoding="utf-8")
        return path

    def __repr__(self) -> str:
        return f"HtmlPage({self.title!r}, {len(self._parts)} parts, {len(self.figures)} figures)"


def _cell(value: Any, digits: int) -> tuple[str, bool]:
    import math
    import numbers

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-", True
    if isinstance(value, bool):
        return str(value), False
    if isinstance(value, numbers.Integral):
        return str(int(value)), True
    if isinstance(value, numbers.Real):
        return f"{float(value):.{digits}g}", True
    return html.escape(str(value)), False
