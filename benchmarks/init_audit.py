"""Cost of name-keyed initialisation and of the audit hooks, against plain PyTorch, on one core.

Claims:

1. ``seedwise.init.initialize`` (one generator per parameter, keyed by name) costs about
   what PyTorch's own initialisation costs (every module's ``reset_parameters()`` drawing
   from the global RNG): the time goes into drawing the numbers, not into deriving keys.
2. ``seedwise.audit.repeatability`` costs the runs themselves plus a copy of what the step
   returns; ``first_divergence`` adds hooks and a CPU copy of every activation and gradient,
   a small multiple of two plain runs, which is why the docs say to audit a small batch.

    OMP_NUM_THREADS=1 python benchmarks/init_audit.py [--layers 6] [--width 512]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch
import torch.nn as nn
import torch.nn.functional as F

import seedwise as sw


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def torch_reset(model: nn.Module) -> None:
    """The peer: each module's own init, from the global RNG, as at construction."""
    with torch.no_grad():
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
            elif hasattr(m, "_reset_parameters"):
                m._reset_parameters()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(1)

    with sw.keyed(sw.Seeds(0)["build"], 0):
        layer = nn.TransformerEncoderLayer(args.width, 8, 4 * args.width, dropout=0.1, batch_first=True)
        model = nn.Sequential(
            nn.Embedding(1000, args.width),
            nn.TransformerEncoder(layer, args.layers, enable_nested_tensor=False),
            nn.Linear(args.width, 10),
        )
    n_params = sum(p.numel() for p in model.parameters())
    n_tensors = len(list(model.parameters()))
    seeds = sw.Seeds(0)["init"]

    t_ours = best_of(lambda: sw.init.initialize(model, seeds))
    with torch.random.fork_rng():
        t_peer = best_of(lambda: torch_reset(model))
    print(
        f"model: {args.layers}-layer transformer encoder, width {args.width}: "
        f"{n_params / 1e6:.1f} M parameters in {n_tensors} tensors"
    )
    print(
        f"initialise  seedwise.init.initialize {t_ours * 1e3:8.1f} ms   "
        f"torch reset_parameters {t_peer * 1e3:8.1f} ms   ratio {t_ours / t_peer:.2f}x"
    )

    x = torch.randint(0, 1000, (args.batch, 64), generator=sw.Seeds(0)["data"].torch())
    y = torch.randint(0, 10, (args.batch,), generator=sw.Seeds(0)["labels"].torch())

    def step(seeds):
        model.zero_grad()
        with sw.keyed(seeds["dropout"], 0):
            loss = F.cross_entropy(model(x).mean(dim=1), y)
        loss.backward()
        return loss

    t_plain = best_of(lambda: (step(seeds), step(seeds)), repeats=2)
    t_rep = best_of(lambda: sw.audit.repeatability(step, seeds=seeds), repeats=2)
    t_div = best_of(lambda: sw.audit.first_divergence(step, model, seeds=seeds), repeats=2)
    assert sw.audit.repeatability(step, seeds=seeds).ok
    print(f"audit (batch {args.batch}x64 tokens): two plain steps {t_plain * 1e3:8.1f} ms")
    print(f"  repeatability(runs=2)       {t_rep * 1e3:8.1f} ms   ratio {t_rep / t_plain:.2f}x")
    print(f"  first_divergence            {t_div * 1e3:8.1f} ms   ratio {t_div / t_plain:.2f}x")


if __name__ == "__main__":
    main()
