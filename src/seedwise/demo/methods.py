"""The demo's third phase: methods that reduce the impact of randomness, on digits.

One training function, :func:`train_method`, runs one method under one set of seeds
and returns its test metrics. The demo runs it as a paired study (every method on the
same seeds), so each method can be tested against the single model run by run.

Streams: ``seeds["init"]`` initialises, ``seeds["data_order"]`` orders the data (and,
inside the ensemble's ``fit``, keys each member's dropout), ``seeds["dropout"]`` keys
every other draw: MC-dropout masks, SWAG's dropout and posterior samples, the
variational layers' weight noise.

Methods (all start from the same CNN, trained the same way, without augmentation):

* ``single``      one model (an :class:`~seedwise.ensemble.Ensemble` of one member);
* ``ensemble``    a vectorised deep ensemble of K=8 (member 0 is the single model);
* ``mc_dropout``  the single model, T=32 keyed dropout samples at test time;
* ``variational`` Bayes-by-backprop: the CNN with mean-field Gaussian weights, ELBO;
* ``swag``        the single model, then SWAG moments over extra SGD epochs, 16 samples;
* ``laplace``     the single model with a last-layer Laplace posterior (prior precision
  picked on the validation split, probit predictive).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import seedwise as sw
from seedwise import Seeds
from seedwise._validate import check_choice
from seedwise.data import epoch_batches
from seedwise.demo.digits import DigitsData, load_digits_data, make_cnn
from seedwise.streams import DATA_ORDER, DROPOUT, INIT

__all__ = ["METHODS", "METHOD_DEFAULTS", "train_method"]

METHODS = ("single", "ensemble", "mc_dropout", "variational", "swag", "laplace")

METHOD_DEFAULTS: dict[str, Any] = {
    "epochs": 10,
    "batch_size": 32,
    "lr": 5e-3,
    "dropout": 0.3,
    "width": 16,
    "k": 8,
    "mc_samples": 32,
    "swag_epochs": 6,
    "swag_lr": 0.02,
    "swag_samples": 16,
    "vi_samples": 16,
}


def _metrics(probs: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    from seedwise import metrics

    return {
        "accuracy": metrics.accuracy(probs, y),
        "nll": metrics.nll(probs, y),
        "ece": metrics.ece(probs, y),
        "brier": metrics.brier(probs, y),
    }


def _train_single(seeds: Seeds, cfg: dict[str, Any], x: torch.Tensor, y: torch.Tensor, k: int) -> Any:
    def make() -> nn.Module:
        return make_cnn(int(cfg["width"]), float(cfg["dropout"]))

    ens = sw.ensemble.Ensemble(make, k, seeds=seeds[INIT], lr=float(cfg["lr"]))
    # Member i's data order and dropout masks come from seeds["data_order"][i].
    ens.fit(x, y, int(cfg["epochs"]), int(cfg["batch_size"]), seeds=seeds[DATA_ORDER])
    return ens


def _swag(
    model: nn.Module,
    order: Seeds,
    dropout: Seeds,
    cfg: dict[str, Any],
    x: torch.Tensor,
    y: torch.Tensor,
    x_test: torch.Tensor,
) -> torch.Tensor:
    from seedwise.bayes import SWAG

    swag = SWAG(model, rank=int(cfg["swag_epochs"]))
    optimizer = torch.optim.SGD(model.parameters(), lr=float(cfg["swag_lr"]), momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    step = 0
    model.train()
    for epoch in range(int(cfg["swag_epochs"])):
        for batch in epoch_batches(order, epoch, len(y), int(cfg["batch_size"])):
            idx = torch.from_numpy(batch)
            with sw.keyed(dropout["swag"], step):
                loss = loss_fn(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
        swag.collect(model)
    model.eval()
    return swag.predict(x_test, samples=int(cfg["swag_samples"]), seeds=dropout["swag_sample"]).mean(0)


def _variational(
    seeds: Seeds, cfg: dict[str, Any], x: torch.Tensor, y: torch.Tensor, x_test: torch.Tensor
) -> torch.Tensor:
    from seedwise.bayes import bayesianize, elbo_loss
    from seedwise.bayes.variational import predict, sampling

    base = make_cnn(int(cfg["width"]), 0.0)
    sw.init.initialize(base, seeds[INIT][0])  # the single model's initial weights
    model = bayesianize(base, prior_std=1.0, posterior_rho_init=-5.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(cfg["lr"]))
    n, step = len(y), 0
    model.train()
    for epoch in range(int(cfg["epochs"])):
        for batch in epoch_batches(seeds[DATA_ORDER]["variational"], epoch, n, int(cfg["batch_size"])):
            idx = torch.from_numpy(batch)
            with sampling(model, seeds[DROPOUT]["variational"], step):
                loss = elbo_loss(model(x[idx]), y[idx], model, n)
            optimizer.zero_grad(set_to_none=True)
            torch.autograd.backward(loss)
            optimizer.step()
            step += 1
    return predict(model, x_test, samples=int(cfg["vi_samples"]), seeds=seeds[DROPOUT]["vi_sample"]).mean(0)


def _report_reliability(report: Any, probs: torch.Tensor, y: torch.Tensor, bins: int = 10) -> None:
    """Per confidence bin: examples, correct ones and summed confidence (sums add up over seeds)."""
    from seedwise import metrics

    curve = metrics.reliability_curve(probs, y, bins=bins)
    for b in range(bins):
        n = float(curve.counts[b])
        report(
            b,
            reliability_count=n,
            reliability_correct=float(curve.accuracy[b]) * n if n else 0.0,
            reliability_confidence=float(curve.confidence[b]) * n if n else 0.0,
        )


def train_method(seeds: Seeds, config: dict[str, Any], report: Any = None) -> dict[str, float]:
    """Train and evaluate ``config["method"]`` under ``seeds``; return its test metrics.

    ``report``, when given, receives the reliability diagram's sums per confidence bin.
    """
    probs, y_test = _predict(seeds, config)
    if report is not None:
        _report_reliability(report, probs, y_test)
    return _metrics(probs, y_test)


def _predict(seeds: Seeds, config: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    torch.set_num_threads(1)
    cfg = {**METHOD_DEFAULTS, **config}
    method = check_choice("config['method']", cfg.get("method"), METHODS)
    data: DigitsData = load_digits_data()
    x, y = DigitsData.tensor(data.x_train), torch.from_numpy(data.y_train)
    x_test, y_test = DigitsData.tensor(data.x_test), torch.from_numpy(data.y_test)

    if method == "variational":
        return _variational(seeds, cfg, x, y, x_test), y_test

    ens = _train_single(seeds, cfg, x, y, int(cfg["k"]) if method == "ensemble" else 1)
    if method in ("single", "ensemble"):
        with torch.no_grad():
            return ens.predict_proba(x_test), y_test
    model = ens.members()[0]
    if method == "mc_dropout":
        probs = sw.bayes.mc_dropout(model, x_test, samples=int(cfg["mc_samples"]), seeds=seeds[DROPOUT]["mc"]).mean(0)
    elif method == "swag":
        probs = _swag(model, seeds[DATA_ORDER]["swag"], seeds[DROPOUT], cfg, x, y, x_test)
    else:
        from seedwise.bayes import LastLayerLaplace

        model.eval()
        la = LastLayerLaplace(model, hessian="full").fit((x, y))
        # The marginal likelihood picks a weak prior for a net trained without weight
        # decay; the validation split picks it by NLL instead (docs/bayes.md).
        x_val, y_val = DigitsData.tensor(data.x_val), torch.from_numpy(data.y_val)
        la.optimize_prior_precision(method="grid", val=(x_val, y_val))
        probs = la.predictive(x_test, method="probit")
    return probs, y_test
