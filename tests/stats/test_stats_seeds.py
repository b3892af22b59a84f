"""Resampling honours its seeds: same seeds, same bits; other seeds, other bits; globals untouched.

rliable's bootstrap takes random_state but draws from NumPy's global RNG, so its knob
does nothing. These tests would catch that.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
import torch

from kit.globals import changed, snapshot
from seedwise import Seeds
from seedwise import stats as S


def _data(seed):
    rng = Seeds(seed).numpy()
    return rng.normal(0.6, 1.0, size=14), rng.normal(0.0, 1.0, size=14)


def _factorial(seed):
    rng = Seeds(seed).numpy()
    rows = [(i, j, rng.normal()) for i in range(5) for j in range(5) for _ in range(2)]
    return pd.DataFrame(rows, columns=["init", "order", "acc"])


def _large(a):
    """50 values (describe bootstraps from BOOTSTRAP_MIN_N on; bootstrap_ci warns below it)."""
    return np.concatenate([a, a + 0.25, a - 0.5, a[:8] * 1.5])


CALLS = {
    "describe": lambda s, a, b, df: S.describe(_large(a), seeds=s, n_resamples=500).to_dict(),
    # a mean, not a median: a median's interval ends are order statistics of the data, so two
    # seeds give the very same interval for about 7% of data sets
    "bootstrap_ci": lambda s, a, b, df: S.bootstrap_ci(_large(a), np.mean, seeds=s, n_resamples=500).to_dict(),
    "compare": lambda s, a, b, df: S.compare(a, b, seeds=s, n_resamples=500).to_dict(),
    "compare_paired": lambda s, a, b, df: S.compare(a, b, seeds=s, paired=True, n_resamples=500).to_dict(),
    "aso": lambda s, a, b, df: S.aso(a - 0.6, b, seeds=s, n_resamples=200, resample_size=200).to_dict(),
    "p_improvement": lambda s, a, b, df: S.p_improvement(a, b, seeds=s, n_resamples=500).to_dict(),
    "one_at_a_time": lambda s, a, b, df: S.one_at_a_time_variance({"init": a}, b, seeds=s, n_resamples=500).to_dict(),
    "variance_components": lambda s, a, b, df: S.variance_components(
        df, ["init", "order"], "acc", seeds=s, n_draws=500
    ).to_dict(),
}

# The fields that come from resampling, which must change with the seeds.
RANDOM_FIELDS = {
    "describe": lambda d: (d["ci_low"], d["ci_high"]),
    "bootstrap_ci": lambda d: (d["low"], d["high"]),
    # (a paired permutation p-value and a P(A>B) interval take few distinct values on 14
    # pairs, so two seeds can agree on them; ASO's sigma is continuous)
    "compare": lambda d: (
        d["permutation_pvalue"],
        d["p_improvement"]["ci_low"],
        d["p_improvement"]["ci_high"],
        d["aso"]["sigma"],
    ),
    "compare_paired": lambda d: (
        d["permutation_pvalue"],
        d["p_improvement"]["ci_low"],
        d["p_improvement"]["ci_high"],
        d["aso"]["sigma"],
    ),
    "aso": lambda d: d["sigma"],
    "p_improvement": lambda d: (d["ci_low"], d["ci_high"]),
    "one_at_a_time": lambda d: (d["sources"][0]["ratio_ci_low"], d["sources"][0]["ratio_ci_high"]),
    "variance_components": lambda d: tuple(c["ci_high"] for c in d["components"]),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_same_seeds_same_result_other_seeds_other_result_globals_untouched(name, test_seed):
    a, b = _data(test_seed)
    df = _factorial(test_seed)
    call = CALLS[name]
    np.random.seed(123)
    random.seed(123)
    torch.manual_seed(123)
    before = snapshot()
    first = call(Seeds(7)["stats"], a, b, df)
    assert changed(before, snapshot()) == [], f"{name} touched a global RNG"
    # Reseeding the global RNGs differently must not change anything.
    np.random.seed(999)
    random.seed(999)
    torch.manual_seed(999)
    second = call(Seeds(7)["stats"], a, b, df)
    assert first == second
    other = call(Seeds(8)["stats"], a, b, df)
    assert RANDOM_FIELDS[name](other) != RANDOM_FIELDS[name](first)


@pytest.mark.parametrize(
    "call",
    [
        lambda: S.describe([1.0, 2.0], seeds=None),
        lambda: S.compare([1.0, 2.0], [1.0, 3.0], seeds=None),
        lambda: S.variance_components(pd.DataFrame({"a": [0, 1], "y": [1.0, 2.0]}), ["a"], "y", seeds=None),
    ],
)
def test_seeds_are_required(call):
    with pytest.raises(TypeError, match="seeds"):
        call()
