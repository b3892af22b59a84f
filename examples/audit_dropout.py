"""A training step that is not repeatable, the audit that names the culprit, and the fix.

``nn.Dropout`` draws its masks from torch's *global* RNG, which ``seeds`` does not
control: two runs of the same step with the same seeds give different losses and
gradients, and nothing in the code says so. ``seedwise.audit`` finds it:

* ``repeatability`` runs the step twice (each run from a different global RNG state, so
  global draws show up) and lists what differs, and which global RNG the step drew from;
* ``first_divergence`` hooks every module and names the first one whose output differs:
  ``drop (Dropout)``.

The fix keys the global RNGs inside the step with ``seedwise.keyed(seeds["dropout"], step)``:
the dropout masks become a pure function of (stream, step), and the audit passes.

Run:  python examples/audit_dropout.py     (exit status 0 when the audit behaves as shown)
Or:   seedwise audit examples/audit_dropout.py:train_step --model model
"""

from __future__ import annotations

import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

import seedwise as sw

seeds = sw.Seeds(2026)

# Built at import, like a model in a training script. initialize() redraws every weight from
# seeds["init"][parameter name], so the weights do not depend on the global RNG either.
model = nn.Sequential(OrderedDict(fc1=nn.Linear(16, 64), act=nn.ReLU(), drop=nn.Dropout(0.2), fc2=nn.Linear(64, 4)))
sw.init.initialize(model, seeds["init"])


def batch(seeds: sw.Seeds, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch ``step``, drawn from its own stream: repeatable already."""
    g = seeds["data"][step].torch()
    return torch.randn(32, 16, generator=g), torch.randint(0, 4, (32,), generator=g)


def train_step(seeds: sw.Seeds, step: int = 0) -> dict:
    """NOT repeatable: nn.Dropout draws from torch's global RNG."""
    model.zero_grad()
    x, y = batch(seeds, step)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return {"loss": loss, "grads": {name: p.grad for name, p in model.named_parameters()}}


def fixed_step(seeds: sw.Seeds, step: int = 0) -> dict:
    """Repeatable: the global RNGs are seeded from (seeds["dropout"], step), then restored."""
    model.zero_grad()
    x, y = batch(seeds, step)
    with sw.keyed(seeds["dropout"], step):
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    return {"loss": loss, "grads": {name: p.grad for name, p in model.named_parameters()}}


def main() -> int:
    from rich.console import Console

    console = Console()
    reports = {}
    for step in (train_step, fixed_step):
        console.rule(f"[bold]{step.__name__}[/bold]: {step.__doc__.splitlines()[0]}")
        rep = sw.audit.repeatability(step, seeds=seeds)
        div = sw.audit.first_divergence(step, model, seeds=seeds)
        console.print(rep)
        console.print(rep.global_rng)
        console.print(div)
        reports[step.__name__] = (rep, div)
    broken, fixed = reports["train_step"], reports["fixed_step"]
    as_shown = (
        not broken[0].ok
        and broken[1].module == "drop"
        and broken[0].global_rng.used == ["torch (CPU)"]
        and fixed[0].ok
        and fixed[1].ok
    )
    return 0 if as_shown else 1


if __name__ == "__main__":
    sys.exit(main())
