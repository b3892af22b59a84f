"""Real torchrun (torch.distributed.run, gloo, CPU) runs of examples/torchrun_ddp.py.

One chain of three launches serves both tests (each launch spends seconds importing torch
in every process): 4 processes crash mid-epoch after a checkpoint, 2 resume and crash
mid-way through the next epoch, 4 resume and finish.

* The recipe (issue 13, item 4), on the 2-process run: a loader built without
  rank/world_size shards itself from the process group: disjoint shards that interleave
  to the single-process order, augmented content of every sample identical to the
  single-process run, dropout masks that differ between ranks.
* Elastic resume (issue 17, item 2), 4 -> 2 -> 4 processes: the samples
  trained on (the steps after a crashed run's last checkpoint are trained again by the
  resumed run, and dropped here) are each epoch's global order exactly once, and
  every sample's augmented content equals the single-process run's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

import seedwise as sw
from seedwise import stateless as S

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "torchrun_ddp.py"
N, BATCH, SEED = 48, 8, 5  # 6 steps of 8 samples per epoch

pytestmark = pytest.mark.slow  # each launch starts 2 to 4 Python processes that import torch


def _torchrun(nproc: int, *args: str, crash: bool = False) -> None:
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
    options = ["--samples", str(N), "--batch-size", str(BATCH), "--seed", str(SEED), *args]
    run = subprocess.run(
        [*launch, str(EXAMPLE), *options],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if crash:
        assert run.returncode != 0, run.stdout + run.stderr
    else:
        assert run.returncode == 0, run.stdout + run.stderr


def _records(directory: Path) -> dict[int, dict[int, dict[str, np.ndarray]]]:
    """step -> rank -> what that rank trained on at that step."""
    out: dict[int, dict[int, dict[str, np.ndarray]]] = defaultdict(dict)
    for path in sorted(directory.glob("step*-rank*.npz")):
        step, rank = (int(part) for part in path.stem.removeprefix("step").split("-rank"))
        with np.load(path, allow_pickle=False) as f:
            out[step][rank] = {key: f[key] for key in f.files}
    return out


def _single_process_images(epoch: int) -> dict[int, np.ndarray]:
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        from torchrun_ddp import Patterns, make_pipeline
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    seeds = sw.Seeds(SEED)
    loader = sw.data.DataLoader(Patterns(N), batch_size=N, shuffle=True, seeds=seeds, augment=make_pipeline(seeds))
    loader.set_epoch(epoch)
    images, indices = next(iter(loader))
    return {int(i): images[k].numpy() for k, i in enumerate(indices)}


def _check_steps(steps: dict[int, dict[int, dict[str, np.ndarray]]], world_size: int) -> None:
    """Each step's ranks interleave to the next BATCH samples of the global order; content as single-process."""
    reference = {e: _single_process_images(e) for e in (0, 1)}
    for step, ranks in steps.items():
        assert sorted(ranks) == list(range(world_size[step] if isinstance(world_size, dict) else world_size))
        epoch = int(ranks[0]["epoch"])
        order = S.permutation(sw.Seeds(SEED)["data_order"], epoch, N)
        k = (step - 1) % (N // BATCH)
        w = len(ranks)
        interleaved = [int(ranks[p % w]["indices"][p // w]) for p in range(BATCH)]
        assert interleaved == order[k * BATCH : (k + 1) * BATCH].tolist()
        for rank in ranks.values():
            for i, image in zip(rank["indices"].tolist(), rank["images"]):
                assert np.array_equal(image, reference[epoch][i])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The three launches (each is seconds of importing torch per process, so the tests share them)."""
    tmp = tmp_path_factory.mktemp("torchrun")
    ckpt = tmp / "ckpt"
    # 4 processes: a checkpoint after step 2, a crash after step 3 (mid-epoch 0).
    _torchrun(4, "--out", str(ckpt), "--record", str(tmp / "a"), "--crash-after-step", "3", crash=True)
    # 2 processes resume at step 2 (global position 16 of epoch 0); last checkpoint at step 8, crash after 9.
    _torchrun(2, "--out", str(ckpt), "--record", str(tmp / "b"), "--resume", "--crash-after-step", "9", crash=True)
    # 4 processes resume at step 8 (position 16 of epoch 1) and finish.
    _torchrun(4, "--out", str(ckpt), "--record", str(tmp / "c"), "--resume")
    return {name: _records(tmp / name) for name in "abc"} | {"ckpt": ckpt}


def test_the_torchrun_recipe_on_two_processes(runs):
    # Run b: 2 processes, loader built without rank/world_size (it asks the process group).
    steps = {s: runs["b"][s] for s in range(7, 13) if s in runs["b"]}  # epoch 1 up to the crash
    assert sorted(steps) == [7, 8, 9]
    _check_steps(steps, 2)
    shards = [np.concatenate([steps[s][r]["indices"] for s in steps]) for r in (0, 1)]
    assert not set(shards[0].tolist()) & set(shards[1].tolist())  # disjoint shards
    for ranks in runs["b"].values():  # dropout keyed by (rank, step): every step, the ranks' masks differ
        assert not np.array_equal(ranks[0]["mask"], ranks[1]["mask"])


def test_elastic_resume_4_to_2_to_4_processes(runs):
    a, b, c = runs["a"], runs["b"], runs["c"]
    assert sorted(a) == [1, 2, 3] and sorted(b) == list(range(3, 10)) and sorted(c) == list(range(9, 13))
    # What was trained on after a crashed run's last checkpoint is trained again by the next run:
    # the same global samples, now split over another number of ranks.
    for before, again in ((a[3], b[3]), (b[9], c[9])):
        assert sorted(np.concatenate([r["indices"] for r in before.values()]).tolist()) == sorted(
            np.concatenate([r["indices"] for r in again.values()]).tolist()
        )
    kept = {**{s: a[s] for s in (1, 2)}, **{s: b[s] for s in range(3, 9)}, **{s: c[s] for s in range(9, 13)}}
    _check_steps(kept, {s: 4 if s <= 2 or s >= 9 else 2 for s in kept})
    for epoch_steps in (range(1, 7), range(7, 13)):  # each epoch: the dataset exactly once
        seen = np.concatenate([r["indices"] for s in epoch_steps for r in kept[s].values()])
        assert sorted(seen.tolist()) == list(range(N))
    assert torch.load(runs["ckpt"] / "weights.pt", weights_only=True)["model"]  # the finished run's checkpoint loads
