"""Bad input raises InvalidArgumentError / InvalidTypeError naming the argument and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seedwise import Seeds
from seedwise import stats as S
from seedwise.errors import InvalidArgumentError, InvalidTypeError

OK = [0.1, 0.2, 0.3, 0.4]
S0 = Seeds(0)
BALANCED = pd.DataFrame([(i, j, float(i + j)) for i in range(3) for j in range(3)], columns=["init", "order", "acc"])


CASES = [
    # (kind, call, exception, text the message must contain)
    ("nan rejected", lambda: S.compare([0.1, np.nan, 0.3], OK, seeds=S0), InvalidArgumentError, "nan_policy='omit'"),
    ("inf rejected", lambda: S.describe([0.1, np.inf], seeds=S0), InvalidArgumentError, "NaN, not inf"),
    ("too few values", lambda: S.compare([0.1], OK, seeds=S0), InvalidArgumentError, "at least 2"),
    ("empty", lambda: S.describe([], seeds=S0), InvalidArgumentError, "empty"),
    ("2-D values", lambda: S.describe(np.ones((3, 4)), seeds=S0), InvalidArgumentError, "1-D"),
    ("strings", lambda: S.describe(["a", "b"], seeds=S0), InvalidTypeError, "numbers"),
    ("a string", lambda: S.describe("0.5", seeds=S0), InvalidTypeError, "string"),
    ("booleans", lambda: S.describe([True, False], seeds=S0), InvalidTypeError, "booleans"),
    ("seeds missing", lambda: S.describe(OK, seeds=None), InvalidTypeError, "seeds=seedwise.Seeds(0)"),
    ("seeds float", lambda: S.describe(OK, seeds=1.5), InvalidTypeError, "seeds"),
    ("confidence percent", lambda: S.describe(OK, seeds=S0, confidence=95), InvalidArgumentError, "0.95"),
    ("confidence type", lambda: S.describe(OK, seeds=S0, confidence="high"), InvalidTypeError, "confidence"),
    (
        "alternative choice",
        lambda: S.compare(OK, OK, seeds=S0, alternative="bigger"),
        InvalidArgumentError,
        "'two-sided', 'greater', 'less'",
    ),
    ("nan_policy choice", lambda: S.compare(OK, OK, seeds=S0, nan_policy="drop"), InvalidArgumentError, "'omit'"),
    ("paired lengths", lambda: S.compare(OK, OK[:3], seeds=S0, paired=True), InvalidArgumentError, "equal length"),
    ("gamma range", lambda: S.compare(OK, OK, seeds=S0, gamma=0.4), InvalidArgumentError, "above 0.5"),
    ("resamples", lambda: S.compare(OK, OK, seeds=S0, n_resamples=5), InvalidArgumentError, "n_resamples"),
    ("bootstrap method", lambda: S.bootstrap_ci(OK, np.mean, seeds=S0, method="bca"), InvalidArgumentError, "'BCa'"),
    ("samples as a list", lambda: S.bootstrap_ci([OK, OK], np.mean, seeds=S0), InvalidTypeError, "tuple"),
    ("pvalue range", lambda: S.holm([0.1, 1.5]), InvalidArgumentError, "[0, 1]"),
    ("pvalue nan", lambda: S.benjamini_hochberg([0.1, np.nan]), InvalidArgumentError, "NaN"),
    ("std not positive", lambda: S.seeds_needed(std=0.0, delta=1.0), InvalidArgumentError, "std"),
    ("delta zero", lambda: S.seeds_needed(std=1.0, delta=0.0), InvalidArgumentError, "delta"),
    ("power <= alpha", lambda: S.seeds_needed(std=1.0, delta=1.0, power=0.01), InvalidArgumentError, "exceed alpha"),
    (
        "wrong-sign delta",
        lambda: S.seeds_needed(std=1.0, delta=-1.0, alternative="greater"),
        InvalidArgumentError,
        "other sign",
    ),
    ("gamma p_improvement", lambda: S.seeds_needed_p_improvement(gamma=0.5), InvalidArgumentError, "above 0.5"),
    ("groups type", lambda: S.one_at_a_time_variance([OK], OK, seeds=S0), InvalidTypeError, "mapping"),
    ("groups empty", lambda: S.one_at_a_time_variance({}, OK, seeds=S0), InvalidArgumentError, "empty"),
    ("df type", lambda: S.variance_components({"a": [1]}, ["a"], "y", seeds=S0), InvalidTypeError, "DataFrame"),
    (
        "unknown column",
        lambda: S.variance_components(BALANCED, ["init", "seed"], "acc", seeds=S0),
        InvalidArgumentError,
        "no column 'seed'",
    ),
    ("factors as str", lambda: S.variance_components(BALANCED, "init", "acc", seeds=S0), InvalidTypeError, "list"),
    (
        "unbalanced",
        lambda: S.variance_components(BALANCED.iloc[:-1], ["init", "order"], "acc", seeds=S0),
        InvalidArgumentError,
        "not fully crossed",
    ),
    (
        "unequal cells",
        lambda: S.variance_components(pd.concat([BALANCED, BALANCED.iloc[:1]]), ["init", "order"], "acc", seeds=S0),
        InvalidArgumentError,
        "unbalanced",
    ),
    (
        "missing metric",
        lambda: S.variance_components(BALANCED.assign(acc=[np.nan] + [1.0] * 8), ["init", "order"], "acc", seeds=S0),
        InvalidArgumentError,
        "missing",
    ),
    (
        "single level",
        lambda: S.variance_components(BALANCED.assign(order=0), ["init", "order"], "acc", seeds=S0),
        InvalidArgumentError,
        "single level",
    ),
    (
        "nothing left for residual",
        lambda: S.variance_components(BALANCED[BALANCED.order == 0], ["init"], "acc", seeds=S0),
        InvalidArgumentError,
        "residual",
    ),
]


@pytest.mark.parametrize("kind,call,exc,text", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(kind, call, exc, text):
    with pytest.raises(exc) as info:
        call()
    assert text in str(info.value)
    # Our errors are also the built-in exceptions a Python user expects.
    assert isinstance(info.value, ValueError if exc is InvalidArgumentError else TypeError)


def test_public_names():
    for name in S.__all__:
        assert getattr(S, name) is not None
    for name in (
        "describe",
        "compare",
        "seeds_needed",
        "seeds_needed_p_improvement",
        "one_at_a_time_variance",
        "variance_components",
        "noise_floor",
        "holm",
        "benjamini_hochberg",
        "bootstrap_ci",
        "iqm",
        "aso",
        "p_improvement",
    ):
        assert name in S.__all__
