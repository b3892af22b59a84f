"""A small study for the tracker tests: a training function with curves, and one that fails on some seeds."""

from __future__ import annotations

import inspect
from pathlib import Path

from seedwise import Seeds
from seedwise.study import Study


def train(seeds: Seeds, config: dict, report) -> dict[str, float]:
    """A loss curve per epoch and a final accuracy, drawn from the run's streams."""
    rng = seeds["init"].numpy()
    loss = 2.0
    for epoch in range(int(config.get("epochs", 3))):
        loss = loss * 0.6 + 0.05 * float(rng.standard_normal())
        report(epoch, loss=loss)
    return {"accuracy": 0.9 + 0.01 * float(seeds["data_order"].numpy().standard_normal()), "loss": loss}


def train_shifted(seeds: Seeds, config: dict, report) -> dict[str, float]:
    """``train`` with another accuracy: the same study (name, cells, seeds, config) with other results."""
    out = train(seeds, config, report)
    return {**out, "accuracy": out["accuracy"] + 0.5}


def fails_when(seeds: Seeds, config: dict, report) -> dict[str, float]:
    """``train``, except that it raises for the seeds listed in the file config['fail'] names."""
    failing = Path(config["fail"]).read_text().split()
    if str(int(seeds["init"])) in failing:
        raise RuntimeError("diverged: loss is NaN")
    return train(seeds, config, report)


def count_keyword() -> str:
    """The name under which Study takes the number of seeds per source (renamed n_seeds= on the study branch)."""
    return "n_seeds" if "n_seeds" in inspect.signature(Study).parameters else "seeds"


def make_study(store: Path, fn=train, *, name: str = "mlp", n: int = 2, **kwargs) -> Study:
    """A one-at-a-time study of ``fn`` over init and data_order with ``n`` seeds each (registered, not run)."""
    return Study(fn, name=name, sources=("init", "data_order"), store=store, **{count_keyword(): n}, **kwargs)


def run_study(store: Path, fn=train, *, name: str = "mlp", n: int = 2, **kwargs) -> Study:
    """:func:`make_study`, run in this process."""
    study = make_study(store, fn, name=name, n=n, **kwargs)
    study.run(workers=0, progress=False)
    return study
