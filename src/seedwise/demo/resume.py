"""Run or resume one demo training in its own process (the demo's interruption check).

    python -m seedwise.demo.resume --seeds JSON --config JSON --checkpoint DIR --stop-after-steps K
    python -m seedwise.demo.resume --seeds JSON --config JSON --checkpoint DIR --resume --out FINAL.safetensors

The first form trains until step K and writes a checkpoint (weights, optimiser state,
the loader's position); the second starts a fresh process from that checkpoint and
writes the final weights. No RNG state is saved: every draw is keyed by its position.
"""

from __future__ import annotations

import argparse
import json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seedwise.demo.resume", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", required=True, help="the run's Seeds as JSON (Seeds.to_json())")
    parser.add_argument("--config", default="{}", help="training config as JSON")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--stop-after-steps", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--out", help="where to write the final weights (safetensors)")
    args = parser.parse_args(argv)

    import torch
    from safetensors.torch import save_file

    from seedwise import Seeds
    from seedwise.demo.digits import fit

    torch.set_num_threads(1)
    seeds = Seeds.from_json(args.seeds)
    model = fit(
        seeds,
        json.loads(args.config),
        stop_after_steps=args.stop_after_steps,
        checkpoint=args.checkpoint,
        resume=args.resume,
    )
    if args.out:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
