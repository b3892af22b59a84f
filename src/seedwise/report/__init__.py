"""Reports: matplotlib figures and one self-contained HTML page (figures embedded as PNG).

* :class:`HtmlPage`: ``add_heading`` / ``add_text`` / ``add_table(DataFrame)`` /
  ``add_figure(fig, name=...)``, then ``write(out_dir)``; reusable by any feature.
* :mod:`~seedwise.report.figures`: distribution (strip + box), learning curves with
  across-seed bands, A vs B comparison; :mod:`~seedwise.report.variance`: the variance by
  source with every interval that exists (:func:`variance_frame`, :func:`variance_figure`);
  :mod:`~seedwise.report.reliability`: reliability diagrams with their bin counts.
* :func:`write_report` / :func:`write_comparison`: the pages of ``seedwise report`` and
  ``seedwise compare``.
"""

from __future__ import annotations

from seedwise.report.figures import comparison_figure, curves_figure, distribution_figure
from seedwise.report.html import HtmlPage, figure_png
from seedwise.report.reliability import reliability_figure
from seedwise.report.study import add_comparison_section, add_study_section, write_comparison, write_report
from seedwise.report.variance import variance_figure, variance_frame

__all__ = [
    "HtmlPage",
    "add_comparison_section",
    "add_study_section",
    "comparison_figure",
    "curves_figure",
    "distribution_figure",
    "figure_png",
    "reliability_figure",
    "variance_figure",
    "variance_frame",
    "write_comparison",
    "write_report",
]
