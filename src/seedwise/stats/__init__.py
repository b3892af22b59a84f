"""Statistics for multi-seed studies: summaries, comparisons, variance and seeds needed.

Every function that resamples takes its :class:`~seedwise.Seeds` explicitly (keyword
``seeds=``, required) and draws only from it: same seeds, same numbers; no global RNG
is read or advanced. Results are frozen dataclasses with ``to_dict()`` (JSON-ready),
``table()`` (a rich table; ``rich.print(result)`` works) and a one-line ``repr``.
See docs/stats.md for the methods and their references.

=============================  ==========================================================
:func:`describe`               n, failures, mean, std, median, IQM, min, max, CI of mean
:func:`compare`                A vs B: difference + CI, Hedges' g + CI, Welch, Mann-Whitney,
                               permutation, ASO, P(A > B) and a decision
:func:`effect_size`            Hedges' g (paired: g_z) with an exact CI, and Cohen's d
:func:`p_improvement`          P(A > B) with CI and Bouthillier et al.'s decision rule, backed by an
                               exact test (:func:`min_runs_for_significance`: the fewest runs it needs)
:func:`aso`                    Almost Stochastic Order epsilon_min (Dror et al. 2019)
:func:`bonferroni`,            multiple-comparison corrections
:func:`holm`,
:func:`benjamini_hochberg`
:func:`one_at_a_time_variance` each source's variance, CI, ratio to all sources
:func:`noise_floor`            the spread of runs with every seed fixed
:func:`variance_components`    random-effects ANOVA of a factorial design, interactions,
                               F tests of each component
:func:`seeds_needed`,          runs per arm (or pairs) for a t-test, or for the P(A > B)
:func:`seeds_needed_p_improvement` test; :func:`t_test_power`, the power itself
:func:`bootstrap_ci`,          seeded bootstrap, t and chi-square intervals, IQM
:func:`t_interval`, :func:`variance_interval`, :func:`iqm`
=============================  ==========================================================
"""

from __future__ import annotations

from seedwise.stats.aso import ASOResult, aso, violation_ratio
from seedwise.stats.compare import Comparison, compare
from seedwise.stats.components import Component, VarianceComponents, variance_components
from seedwise.stats.describe import Description, describe
from seedwise.stats.effect import EffectSize, effect_size
from seedwise.stats.improvement import PImprovement, min_runs_for_significance, p_improvement
from seedwise.stats.intervals import (
    BOOTSTRAP_MIN_N,
    Interval,
    SmallSampleWarning,
    bootstrap_ci,
    iqm,
    t_interval,
    variance_interval,
)
from seedwise.stats.multiple import Adjusted, benjamini_hochberg, bonferroni, holm
from seedwise.stats.power import seeds_needed, seeds_needed_p_improvement, t_test_power
from seedwise.stats.variance import NoiseFloor, OneAtATimeVariance, SourceVariance, noise_floor, one_at_a_time_variance

__all__ = [
    "BOOTSTRAP_MIN_N",
    "ASOResult",
    "Adjusted",
    "Comparison",
    "Component",
    "Description",
    "EffectSize",
    "Interval",
    "NoiseFloor",
    "OneAtATimeVariance",
    "PImprovement",
    "SmallSampleWarning",
    "SourceVariance",
    "VarianceComponents",
    "aso",
    "benjamini_hochberg",
    "bonferroni",
    "bootstrap_ci",
    "compare",
    "describe",
    "effect_size",
    "holm",
    "iqm",
    "min_runs_for_significance",
    "noise_floor",
    "one_at_a_time_variance",
    "p_improvement",
    "seeds_needed",
    "seeds_needed_p_improvement",
    "t_interval",
    "t_test_power",
    "variance_components",
    "variance_interval",
    "violation_ratio",
]
