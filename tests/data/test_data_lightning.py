"""The seedwise loader inside a real Lightning Trainer, as far as the loader goes (issue 13, item 1).

* Lightning 2.6 signals the epoch with ``loader.sampler.set_epoch(e)``: every epoch gets
  its own order (seedwise used to ignore it and repeat epoch 0).
* ``Trainer(devices=2, strategy="ddp")`` on CPU: Lightning's ``use_distributed_sampler``
  only rebuilds torch DataLoaders and leaves seedwise's alone; the loader takes its shard
  from the process group, so the ranks see disjoint shards whose union is the epoch in
  the single-process order (both ranks used to train on the same samples).

The Lightning callback and DataModule are built on this later (seedwise.integrations).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("lightning")

import lightning as L
from lightning_kit import Recorder, Rows

import seedwise as sw
from seedwise import stateless as S

HERE = Path(__file__).parent

pytestmark = [
    pytest.mark.slow,  # importing Lightning takes seconds
    pytest.mark.filterwarnings("ignore::FutureWarning:lightning"),  # torch 2.13's LeafSpec deprecation
]


def _trainer(**kwargs) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def test_lightning_epochs_each_get_their_own_order(test_seed):
    seeds = sw.Seeds(test_seed)
    model = Recorder(sw.data.DataLoader(Rows(12), batch_size=5, shuffle=True, seeds=seeds))
    _trainer(max_epochs=3, devices=1).fit(model)
    for epoch in range(3):
        seen = [i for batch in model.seen[epoch] for i in batch]
        assert seen == S.permutation(seeds["data_order"], epoch, 12).tolist()


def test_lightning_ddp_gives_each_rank_its_own_shard(tmp_path, test_seed):
    run = subprocess.run(
        [sys.executable, str(HERE / "lightning_ddp_script.py"), str(tmp_path), str(test_seed)],
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for epoch in (0, 1):
        order = S.permutation(sw.Seeds(test_seed)["data_order"], epoch, 24).tolist()
        shards = [[i for batch in ranks[r][str(epoch)] for i in batch] for r in (0, 1)]
        assert not set(shards[0]) & set(shards[1])
        assert [shards[p % 2][p // 2] for p in range(24)] == order
