"""Training functions for the report tests (importable by the study's worker processes)."""

from __future__ import annotations

from seedwise import Seeds

#: True standard deviations of the synthetic metric's sources.
SIGMA = {"init": 2.0, "data_order": 0.5, "augment": 0.0}


def synthetic(seeds: Seeds, config: dict) -> dict[str, float]:
    """metric = offset + sum_s sigma_s * z_s, z_s ~ N(0, 1) drawn from seeds[s]: known components."""
    value = float(config.get("offset", 1.0))
    for source, sigma in SIGMA.items():
        value += sigma * float(seeds[source].numpy().standard_normal())
    return {"score": value, "double": 2 * value}


def flaky(seeds: Seeds, config: dict) -> dict[str, float]:
    """Fails for the runs whose init seed's first draw is negative."""
    if seeds["init"].numpy().standard_normal() < 0:
        raise RuntimeError("diverged: loss is NaN")
    return synthetic(seeds, config)


def with_curves(seeds: Seeds, config: dict, report) -> dict[str, float]:
    """Reports a decreasing loss per epoch with seed noise."""
    rng = seeds["data_order"].numpy()
    loss = 2.0
    for epoch in range(int(config.get("epochs", 4))):
        loss = loss * 0.7 + 0.05 * float(rng.standard_normal())
        report(epoch, loss=loss)
    return {"loss": loss}


def noisy_curves(seeds: Seeds, config: dict, report) -> dict[str, float]:
    """A loss per epoch that every source moves (init most, augment least), reported as learning curves."""
    scale = {"init": 0.08, "data_order": 0.05, "augment": 0.01, "dropout": 0.04}
    noise = sum(s * float(seeds[name].numpy().standard_normal()) for name, s in scale.items())
    loss = 2.0
    for epoch in range(int(config.get("epochs", 4))):
        loss = loss * 0.7 + noise / (epoch + 1)
        report(epoch, loss=loss)
    return {"loss": loss, "accuracy": 0.9 - noise, "nll": 0.3 + noise, "ece": 0.02 + noise / 10, "brier": 0.1 + noise}
