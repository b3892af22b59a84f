"""Check a report as a reader sees it: rendered by headless Chromium at a given width.

:func:`check_in_browser` opens the page in Chromium (Debian's ``chromium`` package, or any
Chrome on the ``PATH``), measures every table and figure after layout and, optionally,
saves a full-page screenshot and one crop per table and figure. A table counts as cut off
when its right edge passes the window or its box has to scroll to show a column; a
figure, when it is not loaded or wider than the window. ``python -m
seedwise.report.browser REPORT.html --out DIR`` does the same from the command line
(scripts/check_report_in_browser.py runs it on the quick demo's report).
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedwise.errors import InvalidArgumentError, SeedwiseError

__all__ = ["BrowserCheck", "check_in_browser", "find_chromium"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_MARK = "seedwise-browser-check"
_MAX_HEIGHT = 16_000  # Chromium's screenshots stop near 16,384 px

_PROBE = """
<script>
window.addEventListener("load", () => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left + scrollX, top: r.top + scrollY, width: r.width, height: r.height, right: r.right}; };
  const tables = [...document.querySelectorAll("table")].map((t, index) => {
    const wrap = t.parentElement;
    return {index, caption: t.caption ? t.caption.textContent.slice(0, 100) : "",
            columns: t.rows.length ? t.rows[0].cells.length : 0, rows: t.rows.length,
            wrapped: wrap.classList.contains("table-wrap"), scroll: wrap.scrollWidth, client: wrap.clientWidth,
            ...box(t)};
  });
  const figures = [...document.images].map((img) => ({name: img.dataset.name || img.alt,
    natural: img.naturalWidth, complete: img.complete, ...box(img)}));
  const out = document.createElement("pre");
  out.id = "MARK";
  out.textContent = JSON.stringify({viewport: document.documentElement.clientWidth,
    page: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight, tables, figures});
  document.body.appendChild(out);
});
</script>
""".replace("MARK", _MARK)


@dataclass(frozen=True)
class BrowserCheck:
    """What Chromium showed.

    Attributes:
        width: the window width; page_width: the page's scroll width (wider: the page scrolls sideways).
        height: the page's height.
        tables, figures: per element, its box (left, top, width, height, right in px) and,
            for tables, ``scroll``/``client`` widths of the scrolling box around it (``wrapped``).
        screenshot: the full-page PNG, when asked for; crops: the PNGs of each table and figure.
        browser: the Chromium version used.
    """

    width: int
    page_width: int
    height: int
    tables: list[dict[str, Any]]
    figures: list[dict[str, Any]]
    browser: str
    screenshot: Path | None = None
    crops: list[Path] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every cut-off table, overflowing or unloaded figure, and a page wider than the window."""
        out = []
        if self.page_width > self.width:
            out.append(f"the page is {self.page_width} px wide in a {self.width} px window")
        for t in self.tables:
            hidden = t["wrapped"] and t["scroll"] > t["client"] + 1  # its box must scroll to show a column
            if t["right"] > self.width + 0.5 or hidden:
                out.append(
                    f"table {t['index']} ({t['caption'][:60]!r}, {t['columns']} columns) is cut off: "
                    f"{t['width']:.0f} px wide, its box {t['client']} px, right edge at {t['right']:.0f} px"
                )
        for f in self.figures:
            if not f["complete"] or f["natural"] == 0:
                out.append(f"figure {f['name']} did not load")
            elif f["right"] > self.width + 0.5:
                out.append(f"figure {f['name']} passes the window ({f['right']:.0f} px > {self.width} px)")
        return out

    @property
    def ok(self) -> bool:
        return not self.problems()


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) on the ``PATH``, or ``None``."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(binary: str, args: list[str], profile: str, timeout: float) -> str:
    command = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--hide-scrollbars", "--no-first-run", "--mute-audio", f"--user-data-dir={profile}", *args]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(binary).name} exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout


def check_in_browser(page: str | os.PathLike[str], *, width: int = 1280, out_dir: str | os.PathLike[str] | None = None,
                     chromium: str | None = None, timeout: float = 180.0) -> BrowserCheck:  # fmt: skip
    """Render ``page`` in headless Chromium ``width`` px wide and measure its tables and figures.

    Args:
        page: an HTML file (a report).
        width: the window width in CSS pixels.
        out_dir: if given, ``page-<width>.png`` (the whole page, up to 16,000 px tall) and
            one crop per table and figure (``table-<i>.png``, ``figure-<name>``) are saved there.
        chromium: the browser binary (default: :func:`find_chromium`).
        timeout: seconds per browser run.

    Raises SeedwiseError when no Chromium is installed.
    """
    path = Path(page)
    if not path.is_file():
        raise InvalidArgumentError(f"page {os.fspath(page)!r} is not a file; pass the path of a report.html")
    binary = chromium or find_chromium()
    if binary is None:
        raise SeedwiseError(
            "no Chromium found (looked for " + ", ".join(CHROMIUM_NAMES) + "); on Debian or Ubuntu: "
            "apt-get install --no-install-recommends chromium"
        )
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / path.name
        text = path.read_text(encoding="utf-8")
        probe.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
        window = f"--window-size={width},900"
        dom = _run(binary, [window, "--virtual-time-budget=15000", "--dump-dom", probe.as_uri()], f"{tmp}/p", timeout)
        start = dom.find(f'<pre id="{_MARK}">')
        if start < 0:
            raise RuntimeError(f"{Path(binary).name} did not run the page's measuring script")
        body = dom[dom.index(">", start) + 1 : dom.index("</pre>", start)]
        data = json.loads(html.unescape(body))
        version = _run(binary, ["--version"], f"{tmp}/v", timeout).strip()
        check = BrowserCheck(width, int(data["page"]), int(data["height"]), data["tables"], data["figures"], version)
        if out_dir is None:
            return check
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        shot = out / f"page-{width}.png"
        height = min(int(data["height"]) + 20, _MAX_HEIGHT)
        _run(binary, [f"--window-size={width},{height}", "--virtual-time-budget=15000", f"--screenshot={shot}",
                      path.resolve().as_uri()], f"{tmp}/s", timeout)  # fmt: skip
    crops = _crop(shot, check, out)
    return BrowserCheck(check.width, check.page_width, check.height, check.tables, check.figures, check.browser,
                        shot, crops)  # fmt: skip


def _crop(shot: Path, check: BrowserCheck, out: Path) -> list[Path]:
    from PIL import Image

    crops = []
    with Image.open(shot) as image:
        for kind, items in (("table", check.tables), ("figure", check.figures)):
            for item in items:
                top = int(item["top"])
                if top >= image.height:
                    continue
                box = (0, max(0, top - 30), image.width, min(image.height, int(item["top"] + item["height"]) + 40))
                label = item["index"] if kind == "table" else Path(str(item["name"])).stem
                path = out / f"{kind}-{label}.png"
                image.crop(box).save(path)
                crops.append(path)
    return crops


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m seedwise.report.browser", description=__doc__.splitlines()[0])
    parser.add_argument("page", help="the report's HTML file")
    parser.add_argument("--width", type=int, default=1280, help="window width in px (default 1280)")
    parser.add_argument("--out", help="folder for the screenshot and the crops")
    args = parser.parse_args(argv)
    check = check_in_browser(args.page, width=args.width, out_dir=args.out)
    print(f"{check.browser}: {len(check.tables)} tables, {len(check.figures)} figures at {check.width} px")
    for problem in check.problems():
        print(f"PROBLEM: {problem}")
    if check.screenshot:
        print(f"screenshot: {check.screenshot} (+ {len(check.crops)} crops)")
    return 0 if check.ok else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
