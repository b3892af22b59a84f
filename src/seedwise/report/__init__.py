"""Reports: matplotlib figures and one self-contained HTML page (figures embedded as PNG).

* :class:`HtmlPage`: ``add_heading`` / ``add_text`` / ``add_table(DataFrame)`` /
  ``add_figure(fig, name=...)``, then ``write(out_dir)``; reusable by any feature.
* :mod:`~seedwise.report.figures`: distribution (strip + box), variance shares with CIs,
  learning curves with across-seed bands, A vs B comparison.
* :func:`write_report` / :func:`write_comparison`: the pages of ``seedwise report`` and
  ``seedwise compare``.
"""

from __future__ import annotations

from seedwise.report.figures import comparison_figure, curves_figure, distribution_figure, variance_figure
from seedwise.report.html import HtmlPage, figure_png
from seedwise.report.study import add_comparison_section, add_study_section, write_comparison, write_report

__all__ = [
    "HtmlPage",
    "add_comparison_section",
    "add_study_section",
    "comparison_figure",
    "curves_figure",
    "distribution_figure",
    "figure_png",
    "variance_figure",
    "write_comparison",
    "write_report",
]
