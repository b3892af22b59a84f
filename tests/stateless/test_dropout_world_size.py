"""Issue 17's "Done when" for dropout: with per-sample masks, 1 and 2 processes train the same model.

Real processes, a real gloo process group (a file store), torch's DistributedDataParallel
averaging the gradients: world_size_dropout_script.py trains a tiny MLP for a few steps
on a global batch of 8, once on 1 process (the test's own) and once on 2 (4 samples each), with the
seedwise loader (the same samples and augmentation in every layout) and each dropout mode.

* Per-sample masks (``keyed_dropout(seeds["dropout"], per_sample=keys)``): every sample
  gets the same masks in both layouts, so the two runs differ only by the order in which
  floating-point gradients are summed: weights within float tolerance.
* Per-rank masks (``keyed_dropout(seeds["dropout"][rank], step)``): a sample's mask
  depends on its rank and place in the batch, so the runs train different networks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

SCRIPT = Path(__file__).with_name("world_size_dropout_script.py")

pytestmark = pytest.mark.slow  # two Python processes that import torch


def _launch(world_size: int, tmp: Path) -> list[subprocess.Popen[str]]:
    store = tmp / f"store-{world_size}"
    processes = []
    for rank in range(world_size):
        args = ["--rank", str(rank), "--world-size", str(world_size), "--store", str(store), "--out", str(tmp)]
        processes.append(
            subprocess.Popen(
                [sys.executable, str(SCRIPT), *args],
                env={**os.environ, "OMP_NUM_THREADS": "1"},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    return processes


def _weights(run: dict[str, np.ndarray], mode: str) -> dict[str, torch.Tensor]:
    prefix = f"{mode}/"
    return {
        k[len(prefix) :]: torch.from_numpy(v) for k, v in run.items() if k.startswith(prefix) and k != f"{mode}/seen"
    }


def _single_process() -> dict[str, np.ndarray]:
    """The same training on one process: here, with no process group (nothing to average)."""
    assert not torch.distributed.is_initialized()
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from world_size_dropout_script import both_modes
    finally:
        sys.path.remove(str(SCRIPT.parent))
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return both_modes()
    finally:
        torch.set_num_threads(before)


def test_per_sample_masks_train_the_same_model_on_1_and_2_processes(tmp_path):
    processes = _launch(2, tmp_path)
    runs = {"w1-r0": _single_process()}  # while the two processes start
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output
    for name in ("w2-r0", "w2-r1"):
        with np.load(tmp_path / f"{name}.npz", allow_pickle=False) as f:
            runs[name] = {key: f[key] for key in f.files}
    one, two = runs["w1-r0"], runs["w2-r0"]

    # the same samples at every step: the two ranks' rows interleave to the single process's batch
    for mode in ("per_sample", "per_rank"):
        both = np.empty_like(one[f"{mode}/seen"])
        both[:, 0::2], both[:, 1::2] = two[f"{mode}/seen"], runs["w2-r1"][f"{mode}/seen"]
        assert np.array_equal(both, one[f"{mode}/seen"])
        assert one[f"{mode}/seen"].shape == (8, 8)

    for name in two:  # DDP keeps the two ranks' weights equal
        assert np.array_equal(two[name], runs["w2-r1"][name]) or name.endswith("/seen")
    per_sample_1, per_sample_2 = _weights(one, "per_sample"), _weights(two, "per_sample")
    per_rank_1, per_rank_2 = _weights(one, "per_rank"), _weights(two, "per_rank")
    assert per_sample_1.keys() == per_rank_1.keys() and len(per_sample_1) == 6
    for name in per_sample_1:
        torch.testing.assert_close(per_sample_2[name], per_sample_1[name], rtol=1e-5, atol=1e-6)
    # per-rank masks: another network (the gap is orders of magnitude above the tolerance)
    gap = max((per_rank_2[name] - per_rank_1[name]).abs().max().item() for name in per_rank_1)
    assert gap > 1e-2, gap
    # and both modes trained: the weights moved away from the shared initialisation differently
    assert any(not torch.equal(per_sample_1[name], per_rank_1[name]) for name in per_sample_1)
