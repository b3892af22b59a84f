"""Statistics: seedwise.stats against the peers on the same inputs, one core.

Claims measured side by side in one process:

* ASO (Almost Stochastic Order): ``seedwise.stats.aso`` vs ``deepsig.aso`` (1.2.x, the
  reference implementation), 1000 bootstrap iterations each, ``num_jobs=1``: the time
  ratio, and that both give the same violation ratio and eps_min up to Monte Carlo error
  (the two draw different resamples: deepsig reseeds NumPy's global RNG, seedwise draws
  from its Seeds).
* Variance components of a factorial design: ``seedwise.stats.variance_components``
  (closed-form ANOVA plus 10,000 generalized-interval draws) vs statsmodels' OLS
  ``anova_lm`` (the ANOVA table only): the time ratio, and equal sums of squares.
* ``seedwise.stats.compare`` (every test at once) on 30 runs per arm: absolute time.
* t-test power: ``seedwise.stats.t_test_power`` (the noncentral t integrated directly) vs
  statsmodels' ``TTestIndPower().power`` (scipy's noncentral t) on a grid of (n, effect,
  alpha) cells: NaN results of each, the largest difference where both are finite, and
  the time ratio; and ``seeds_needed`` against ``solve_power``.

    OMP_NUM_THREADS=1 python benchmarks/stats.py [--runs N] [--deepsig-repeats R]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

from seedwise import Seeds
from seedwise import stats as S


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_aso(runs: int, repeats: int) -> None:
    rng = Seeds(2026)["bench"].numpy()
    a, b = rng.normal(0.3, 1.0, runs), rng.normal(0.0, 1.2, runs)
    ours_t, ours = best_of(lambda: S.aso(a, b, seeds=Seeds(0), n_resamples=1000), 5)
    try:
        import deepsig
        from deepsig.aso import compute_violation_ratio
    except ImportError:
        print(
            f"ASO: seedwise {ours_t * 1e3:.1f} ms, eps_min {ours.eps_min:.4f}; deepsig not installed "
            "(pip install 'seedwise[bench]') - no ratio"
        )
        return
    peer_t, peer = best_of(
        lambda: deepsig.aso(
            a, b, confidence_level=0.95, num_bootstrap_iterations=1000, num_jobs=1, show_progress=False, seed=1
        ),
        repeats,
    )
    vr_fine = compute_violation_ratio(a, b, dt=1e-5)
    vr_grid = compute_violation_ratio(a, b, dt=0.005)  # the grid deepsig.aso integrates on
    print(f"ASO, {runs} vs {runs} runs, 1000 bootstrap iterations, 1 core")
    from importlib.metadata import version

    print(f"  deepsig {version('deepsig'):6s}: {peer_t:8.3f} s   eps_min {peer:.4f}")
    print(
        f"  seedwise      : {ours_t:8.4f} s   eps_min {ours.eps_min:.4f}   violation ratio (exact) "
        f"{ours.violation_ratio:.5f}"
    )
    print(
        f"  deepsig's violation ratio on its grid dt=0.005: {vr_grid:.5f}, on dt=1e-5: {vr_fine:.5f} "
        "(eps_min differs by this grid error plus Monte Carlo error)"
    )
    print(f"  speed-up      : {peer_t / ours_t:8.0f}x")


def bench_components() -> None:
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    rng = Seeds(2026)["components"].numpy()
    a, b, r = 8, 8, 2
    ua, ub, uab = rng.normal(0, 1.0, a), rng.normal(0, 0.7, b), rng.normal(0, 0.3, (a, b))
    rows = [
        (i, j, ua[i] + ub[j] + uab[i, j] + rng.normal(0, 0.5)) for i in range(a) for j in range(b) for _ in range(r)
    ]
    df = pd.DataFrame(rows, columns=["init", "data_order", "acc"])
    ours_t, ours = best_of(lambda: S.variance_components(df, ["init", "data_order"], "acc", seeds=Seeds(0)), 5)
    peer_t, peer = best_of(lambda: sm.stats.anova_lm(smf.ols("acc ~ C(init) * C(data_order)", df).fit()), 5)
    same = np.allclose([c.sum_sq for c in ours.components], peer["sum_sq"].to_numpy(), rtol=1e-9)
    print(f"variance components, {a} x {b} levels x {r} runs per cell")
    print(f"  statsmodels ols + anova_lm (table only)        : {peer_t * 1e3:8.1f} ms")
    print(f"  seedwise variance_components (+10k CI draws)   : {ours_t * 1e3:8.1f} ms   same sums of squares: {same}")
    print(f"  ratio statsmodels / seedwise                   : {peer_t / ours_t:8.2f}x")


def bench_compare() -> None:
    rng = Seeds(2026)["compare"].numpy()
    a, b = rng.normal(0.81, 0.01, 30), rng.normal(0.80, 0.01, 30)
    t, res = best_of(lambda: S.compare(a, b, seeds=Seeds(0)), 3)
    print(
        f"compare, 30 vs 30 runs (Welch, Mann-Whitney, 9999 permutations, ASO, P(A>B) bootstrap): {t:.3f} s, "
        f"decision {res.decision!r}"
    )


def bench_power() -> None:
    import warnings

    from statsmodels.stats.power import TTestIndPower

    sizes = (2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 30, 50, 100, 200, 500, 1000, 2000)
    effects = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0)
    grid = [(n, d, alpha) for n in sizes for d in effects for alpha in (0.001, 0.01, 0.05)]
    peer = TTestIndPower()
    theirs, ours, peer_t, ours_t = [], [], 0.0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n, d, alpha in grid:  # the two sides alternate, cell by cell
            t0 = time.perf_counter()
            theirs.append(peer.power(effect_size=d, nobs1=n, alpha=alpha, ratio=1.0))
            t1 = time.perf_counter()
            ours.append(S.t_test_power(n, d, alpha))
            t2 = time.perf_counter()
            peer_t, ours_t = peer_t + t1 - t0, ours_t + t2 - t1
    theirs, ours = np.array(theirs, dtype=float), np.array(ours)
    both = np.isfinite(theirs)
    print(f"t-test power, two-sided, {len(grid)} (n, effect, alpha) cells")
    print(f"  statsmodels TTestIndPower.power: {peer_t / len(grid) * 1e3:7.3f} ms per cell, NaN in "
          f"{int((~np.isfinite(theirs)).sum())} cells")  # fmt: skip
    print(f"  seedwise t_test_power          : {ours_t / len(grid) * 1e3:7.3f} ms per cell, NaN in "
          f"{int((~np.isfinite(ours)).sum())} cells; largest difference where statsmodels is finite "
          f"{np.max(np.abs(ours[both] - theirs[both])):.1e}")  # fmt: skip
    print(f"  ratio seedwise / statsmodels   : {ours_t / peer_t:7.1f}x the time")
    t0 = time.perf_counter()
    n_ours = S.seeds_needed(std=1, delta=0.2, power=0.9, alpha=0.001)
    ours_t = time.perf_counter() - t0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            n_peer = peer.solve_power(effect_size=0.2, alpha=0.001, power=0.9)
        except Exception as exc:  # report whatever the peer does
            n_peer = f"{type(exc).__name__}"
    peer_t = time.perf_counter() - t0
    print(f"  seeds_needed(std=1, delta=0.2, power=0.9, alpha=0.001): seedwise {n_ours} in {ours_t * 1e3:.0f} ms; "
          f"statsmodels solve_power {n_peer} in {peer_t * 1e3:.0f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per arm for ASO")
    parser.add_argument("--deepsig-repeats", type=int, default=1, help="repeats of the (slow) deepsig call")
    args = parser.parse_args()
    print(f"{platform.machine()}, Python {platform.python_version()}, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    bench_aso(args.runs, args.deepsig_repeats)
    bench_components()
    bench_compare()
    bench_power()


if __name__ == "__main__":
    main()
