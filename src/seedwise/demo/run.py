"""``seedwise demo``: everything seedwise is for, end to end, on scikit-learn's digits.

1. **Reproducibility**: a small CNN trained twice under the same seeds (a DataLoader with
   2 workers, augmentation, dropout, init all seeded through seedwise) ends with
   bit-identical weights; a third run interrupted mid-epoch and resumed in a new process
   ends with the same bits too.
2. **Where the variance comes from**: a one-at-a-time study over init, data order,
   augmentation and dropout (and all together), stored in ``DIR/runs.sqlite``.
3. **Reducing it**: single model vs deep ensemble vs MC dropout vs variational vs SWAG
   vs last-layer Laplace, each on the same seeds, tested against the single model.
4. **A report**: ``DIR/report.html`` with the tables and figures, and the PNGs.

Every phase is resumable: runs live in the store and the reproducibility check's
outcome in ``DIR/reproducibility.json``, so running the command again repeats nothing
and prints the same results.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise import Seeds
from seedwise.demo.tables import methods_terminal, rich_table, sources_page, sources_terminal, too_few_runs
from seedwise.streams import DATA_ORDER, DEFAULT_SOURCES, DROPOUT, INIT

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

__all__ = ["Profile", "PROFILES", "run_demo"]

SOURCES = DEFAULT_SOURCES
BASE_SEED = 0
DELTA = 0.005  # the accuracy difference (0.5 points) a study should be able to detect


@dataclass(frozen=True)
class Profile:
    """How much work each phase does."""

    name: str
    repro_epochs: int
    study_seeds: int
    study_epochs: int
    method_seeds: int
    method_epochs: int
    swag_epochs: int


PROFILES = {
    "quick": Profile(
        "quick", repro_epochs=2, study_seeds=3, study_epochs=3, method_seeds=3, method_epochs=3, swag_epochs=3
    ),
    "full": Profile(
        "full", repro_epochs=3, study_seeds=10, study_epochs=12, method_seeds=5, method_epochs=10, swag_epochs=6
    ),
}


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


# -- phase 1 --------------------------------------------------------------------------


def _state_diff(a: dict[str, Any], b: dict[str, Any]) -> tuple[bool, float, int]:
    """(bit-identical, max |difference|, number of tensors) of two state dicts."""
    import torch

    worst, same = 0.0, True
    for key in a:
        if not torch.equal(a[key], b[key]):
            same = False
            worst = max(worst, float((a[key].double() - b[key].double()).abs().max()))
    return same and a.keys() == b.keys(), worst, len(a)


def reproducibility(out: Path, profile: Profile, console: Any) -> dict[str, Any]:
    """Phase 1: two identical runs, and an interrupted run resumed in a new process."""
    import torch
    from safetensors.torch import load_file

    from seedwise.demo.digits import DEFAULTS, fit, load_digits_data

    cache = out / "reproducibility.json"
    config = {"epochs": profile.repro_epochs, "num_workers": 2}
    seeds = Seeds(BASE_SEED)["demo"]["reproducibility"]
    if cache.exists():
        saved = json.loads(cache.read_text())
        if saved.get("config") == config and saved.get("seeds") == seeds.to_dict():
            saved["cached"] = True
            cached: dict[str, Any] = saved
            return cached

    steps_per_epoch = math.ceil(len(load_digits_data().y_train) / DEFAULTS["batch_size"])
    stop = steps_per_epoch + steps_per_epoch // 2  # in the middle of the second epoch
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("reproducibility: 2 runs + interrupted run", total=4)
        t0 = time.perf_counter()
        first = fit(seeds, config).state_dict()
        progress.advance(task)
        second = fit(seeds, config).state_dict()
        progress.advance(task)
        seconds = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            common = [sys.executable, "-m", "seedwise.demo.resume", "--seeds", seeds.to_json(),
                      "--config", json.dumps(config), "--checkpoint", str(Path(tmp) / "ckpt")]  # fmt: skip
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            subprocess.run(
                [*common, "--stop-after-steps", str(stop)], check=True, env=env, capture_output=True, text=True
            )
            progress.advance(task)
            final = Path(tmp) / "final.safetensors"
            subprocess.run(
                [*common, "--resume", "--out", str(final)], check=True, env=env, capture_output=True, text=True
            )
            progress.advance(task)
            resumed = load_file(str(final))
    same, diff, n = _state_diff(first, second)
    same_resumed, diff_resumed, _ = _state_diff(first, dict(resumed))
    result = {
        "config": config,
        "seeds": seeds.to_dict(),
        "tensors": n,
        "parameters": int(sum(v.numel() for v in first.values())),
        "seconds_per_run": seconds / 2,
        "checks": [
            {"check": "same seeds, trained twice (DataLoader with 2 workers)", "identical": same, "max_abs_diff": diff},
            {
                "check": f"interrupted at step {stop} (mid-epoch 2), resumed in a new process",
                "identical": same_resumed,
                "max_abs_diff": diff_resumed,
            },
        ],
        "cached": False,
    }
    del torch
    cache.write_text(json.dumps(result, indent=2))
    return result


# -- phase 2 --------------------------------------------------------------------------


def sources_study(out: Path, profile: Profile, workers: int, backend: str) -> Any:
    """Phase 2: the one-at-a-time study over the four sources (plus all together)."""
    from seedwise.demo.digits import train
    from seedwise.study import Study

    study = Study(
        train,
        name=f"sources-{profile.name}",
        sources=SOURCES,
        design="one-at-a-time",
        n_seeds=profile.study_seeds,
        seeds=Seeds(BASE_SEED),
        store=out / "runs.sqlite",
        config={"epochs": profile.study_epochs},
    )
    return study.run(workers=workers, backend=backend, progress=True)


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def sources_table(results: Any) -> Any:
    """Per source: accuracy and NLL mean / std / 95% CI, variance ratio to all sources with its CI, seeds needed."""
    import pandas as pd

    from seedwise import stats

    seeds = Seeds(BASE_SEED)["demo"]["statistics"]
    shares = results.variance("accuracy", seeds=seeds).to_frame().set_index("component")
    rows = []
    for group in (*SOURCES, "all"):
        acc = [v for v in results.values("accuracy", group=group).values() if math.isfinite(v)]
        nll = [v for v in results.values("nll", group=group).values() if math.isfinite(v)]
        if len(acc) < 2:
            continue
        d = stats.describe(acc, seeds=seeds[group]["accuracy"])
        dn = stats.describe(nll, seeds=seeds[group]["nll"])
        share = shares.loc[group] if group in shares.index else None
        needed = stats.seeds_needed(std=d.std, delta=DELTA) if d.std > 0 else 2
        rows.append({
            "source": group, "runs": d.n,
            "accuracy": d.mean, "acc std": d.std, "acc CI low": d.ci_low, "acc CI high": d.ci_high, "CI": d.ci_method,
            "var ratio to all": _float(share["share"]) if share is not None else math.nan,
            "ratio CI low": _float(share["share_low"]) if share is not None and group != "all" else math.nan,
            "ratio CI high": _float(share["share_high"]) if share is not None and group != "all" else math.nan,
            "nll": dn.mean, "nll std": dn.std, "nll CI low": dn.ci_low, "nll CI high": dn.ci_high,
            "seeds for 0.5pt": needed,
        })  # fmt: skip
    return pd.DataFrame(rows)


# -- phase 3 --------------------------------------------------------------------------


def methods_study(out: Path, profile: Profile, workers: int, backend: str) -> Any:
    """Phase 3: every method on the same seeds (a paired study)."""
    from seedwise.demo.methods import METHODS, train_method
    from seedwise.study import Study

    study = Study(
        train_method,
        name=f"methods-{profile.name}",
        sources=(INIT, DATA_ORDER, DROPOUT),
        design="all",
        n_seeds=profile.method_seeds,
        seeds=Seeds(BASE_SEED),
        store=out / "runs.sqlite",
        config={"epochs": profile.method_epochs, "swag_epochs": profile.swag_epochs},
        paired={m: {"method": m} for m in METHODS},
    )
    return study.run(workers=workers, backend=backend, progress=True)


def _by_level(results: Any, metric: str, arm: str) -> dict[str, float]:
    """{level: value} for one arm, so arms pair up run by run."""
    table = results.table()
    rows = table[(table["arm"] == arm) & (table["status"] == "done")]
    column = metric if metric in rows.columns else f"metric:{metric}"
    return {str(level): float(v) for level, v in zip(rows["level"], rows[column])}


def methods_table(results: Any) -> Any:
    """Per method: metrics' means, across-seed accuracy std, paired tests against the single model."""
    import pandas as pd

    from seedwise import stats
    from seedwise.demo.methods import METHODS

    seeds = Seeds(BASE_SEED)["demo"]["methods"]
    single = {m: _by_level(results, m, "single") for m in ("accuracy", "nll")}
    rows, pvalues = [], []
    for method in METHODS:
        values = {m: _by_level(results, m, method) for m in ("accuracy", "nll", "ece", "brier")}
        if not values["accuracy"]:
            continue
        row: dict[str, Any] = {"method": method, "runs": len(values["accuracy"])}
        for m in ("accuracy", "nll", "ece", "brier"):
            row[m] = float(np.mean(list(values[m].values())))
        row["acc std"] = (
            float(np.std(list(values["accuracy"].values()), ddof=1)) if len(values["accuracy"]) > 1 else math.nan
        )
        levels = sorted(set(values["nll"]) & set(single["nll"]))
        if method != "single" and len(levels) >= 2:
            c = stats.compare([values["nll"][k] for k in levels], [single["nll"][k] for k in levels],
                              seeds=seeds[method], paired=True)  # fmt: skip
            row["NLL - single"] = c.difference
            row["p (paired t)"] = c.t_pvalue
            pvalues.append(c.t_pvalue)
        else:
            row["NLL - single"] = math.nan
            row["p (paired t)"] = math.nan
        rows.append(row)
    frame = pd.DataFrame(rows)
    if pvalues:
        adjusted = iter(stats.holm(pvalues).adjusted)
        frame["p Holm"] = [next(adjusted) if r["method"] != "single" and not math.isnan(r["p (paired t)"]) else math.nan
                           for r in rows]  # fmt: skip
    return frame


def reliability_figure(results: Any) -> Any:
    """Reliability diagrams per method, pooled over seeds, with the number of test samples in each bin."""
    from seedwise.demo.methods import METHODS
    from seedwise.report import reliability_figure as draw

    curves = results.curves()
    diagrams = {}
    for method in METHODS:
        pooled = curves[curves["arm"] == method].groupby(["curve", "step"])["value"].sum().unstack(0)
        if pooled.empty:
            continue
        n = pooled["reliability_count"].to_numpy(float)
        safe = np.where(n > 0, n, 1.0)
        diagrams[method] = {
            "count": n,
            "accuracy": pooled["reliability_correct"].to_numpy(float) / safe,
            "confidence": pooled["reliability_confidence"].to_numpy(float) / safe,
        }
    return draw(diagrams, title="Reliability diagrams (test set, pooled over seeds; diagonal = calibrated)")


def methods_figure(results: Any) -> Any:
    """Accuracy and NLL of every run, per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seedwise.demo.methods import METHODS

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("accuracy", "nll")):
        data = [list(_by_level(results, metric, m).values()) for m in METHODS]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(METHODS) + 1), METHODS, rotation=20)
        for i, values in enumerate(data, 1):
            ax.scatter(
                np.full(len(values), i) + np.linspace(-0.08, 0.08, len(values)), values, s=14, color="#c44e52", zorder=3
            )
        ax.set_title(f"test {metric} per method (dots: seeds)")
    fig.tight_layout()
    return fig


# -- report and terminal ----------------------------------------------------------------


def write_demo_report(out: Path, repro: dict[str, Any], sources: Any, sources_frame: Any, methods: Any,
                      methods_frame: Any, profile: Profile) -> Path:  # fmt: skip
    import pandas as pd

    from seedwise.report import HtmlPage
    from seedwise.report.study import add_study_section

    page = HtmlPage("seedwise demo: randomness in a digits CNN")
    page.add_text(
        f"Profile {profile.name}: the reproducibility check trains {profile.repro_epochs} epochs; the sources study "
        f"runs {profile.study_seeds} seeds per source for {profile.study_epochs} epochs each; the methods study "
        f"{profile.method_seeds} seeds of each method for {profile.method_epochs} epochs (SWAG: "
        f"{profile.swag_epochs} more). Data: scikit-learn's load_digits (1,797 8x8 images; fixed split 1,197 train / "
        "300 validation / 300 test). Store: runs.sqlite."
    )
    page.add_heading("1. Reproducibility", level=2)
    page.add_table(
        pd.DataFrame(repro["checks"]),
        caption=f"{repro['tensors']} tensors, {repro['parameters']} numbers compared bit for bit",
    )
    page.add_heading("2. Where the variance comes from", level=2)
    warning = too_few_runs(sources_frame, PROFILES["full"].study_seeds)
    if warning:
        page.add_text(warning, note=True)
    page.add_table(sources_page(sources_frame), caption="test accuracy and NLL per source varied (others fixed); "
                   "var ratio = variance of the source / variance with all sources varied (conditional variances need "
                   "not add up, and a ratio can exceed 1), with its 95% interval; seeds for 0.5pt = runs per arm for a "
                   "t-test to detect a 0.5-point accuracy difference at power 0.8")  # fmt: skip
    add_study_section(page, sources, "accuracy", step_label="epoch")
    page.add_heading("3. Reducing it", level=2)
    page.add_table(methods_frame, caption="test metrics, mean over seeds; 'NLL - single' and p: paired t-test on the "
                   "same seeds against the single model, Holm-corrected over methods")  # fmt: skip
    page.add_figure(methods_figure(methods), name="methods-comparison", caption="accuracy and NLL of every run")
    page.add_figure(reliability_figure(methods), name="reliability", caption="reliability diagrams per method")
    return page.write(out)


def run_demo(out: str | os.PathLike[str] = "seedwise-demo", *, quick: bool = False, workers: int | None = None,
             backend: str = "local") -> dict[str, Any]:  # fmt: skip
    """Run the whole demo into ``out``; return paths and tables. Rerunning resumes."""
    from seedwise._validate import check_choice, check_int

    check_choice("backend", backend, ("local", "ray"))
    workers = check_int("workers", workers if workers is not None else (os.cpu_count() or 1), low=0)
    profile = PROFILES["quick" if quick else "full"]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    console = _console()
    t0 = time.perf_counter()

    console.rule("[bold]1. Reproducibility")
    repro = reproducibility(out, profile, console)
    frame = __import__("pandas").DataFrame(repro["checks"])
    frame["identical"] = frame["identical"].map(lambda v: "bit-identical" if v else "DIFFERENT")
    console.print(rich_table(frame, "same seeds, same bits" + (" (from the previous run)" if repro["cached"] else "")))

    console.rule("[bold]2. Where the variance comes from")
    sources = sources_study(out, profile, workers, backend)
    sources_frame = sources_table(sources)
    console.print(sources_terminal(sources_frame, PROFILES["full"].study_seeds))
    console.print("var ratio: the source's variance / the variance with all sources varied (conditional "
                  "variances need not add up to 1). n for 0.5pt: runs per arm for a t-test to detect a 0.5-point "
                  "accuracy difference at 80% power.", style="dim")  # fmt: skip

    console.rule("[bold]3. Reducing it")
    methods = methods_study(out, profile, workers, backend)
    methods_frame = methods_table(methods)
    console.print(methods_terminal(methods_frame))
    console.print(
        "accuracy: mean ± std across seeds. ΔNLL: mean paired difference to the single model; "
        "p: paired t-test, Holm-corrected over the five methods.",
        style="dim",
    )

    console.rule("[bold]4. Report")
    report = write_demo_report(out, repro, sources, sources_frame, methods, methods_frame, profile)
    console.print(f"report: [bold]{report}[/bold]  ({time.perf_counter() - t0:.0f} s)")
    return {"report": report, "store": out / "runs.sqlite", "reproducibility": repro, "sources": sources_frame,
            "methods": methods_frame}  # fmt: skip
