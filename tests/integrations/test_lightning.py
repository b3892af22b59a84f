"""seedwise.integrations.lightning in a real Lightning Trainer (issue 13 item 2, issue 17 item 4).

* Bit-identical weights: two runs, ``num_workers`` 0 vs 2, and a run killed with SIGKILL
  mid-epoch then resumed from Lightning's checkpoint in a fresh process (the example
  ``examples/lightning_digits.py`` is the script).
* ``devices=2, strategy="ddp"`` on CPU (gloo): disjoint shards whose union is each
  epoch, augmented content as in one process, dropout masks that differ between ranks
  (they used to be identical when following the docs); the checkpoint it leaves mid-epoch
  resumes on 1 device at the next global sample, and with another global batch size the
  callback refuses instead of letting Lightning end the epoch at the wrong sample.
* Dropout keyed by (global step, rank); the seeds tree, the seed_everything report and the
  fingerprint in the loggers' hyperparameters; loaders on the wrong shard or from other
  seeds refused; a torch loader warned about.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("lightning")

import lightning as L
import yaml
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning_recorder import Recorder
from safetensors.torch import load_file
from trainer_kit import Patterns, pipeline, single_process

import seedwise as sw
from seedwise import stateless as S
from seedwise.bayes import keyed_dropout
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.integrations.lightning import SeedwiseCallback, SeedwiseDataModule

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
EXAMPLE = ROOT / "examples" / "lightning_digits.py"

pytestmark = [
    pytest.mark.slow,  # importing Lightning takes seconds, and so does each Trainer
    pytest.mark.filterwarnings("ignore::FutureWarning:lightning"),  # torch 2.13's LeafSpec deprecation
    pytest.mark.usefixtures("one_thread"),
]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}


def _example():
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import lightning_digits
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    return lightning_digits


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "weights.safetensors"))


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def _trainer(**kwargs) -> L.Trainer:
    options = {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    return L.Trainer(**{**options, **kwargs})


# The example's run, shared: 96 samples in global batches of 16 (6 steps an epoch), 2 epochs.
RUN = {"samples": 96, "batch_size": 16, "epochs": 2, "checkpoint_every": 4}


@pytest.fixture(scope="module")
def reference(one_thread, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    _example().train(out, **RUN)
    return out


def test_two_runs_and_any_worker_count_give_the_same_weights(reference, tmp_path):
    example = _example()
    example.train(tmp_path / "again", **RUN)
    example.train(tmp_path / "workers", **RUN, num_workers=2)
    _assert_same_weights(_weights(reference), _weights(tmp_path / "again"))
    _assert_same_weights(_weights(reference), _weights(tmp_path / "workers"))
    initial = sw.Seeds(0)
    assert not torch.equal(_weights(reference)["net.0.weight"], example.DigitsCNN(initial).state_dict()["net.0.weight"])


def test_the_seeds_report_and_fingerprint_are_logged_as_hyperparameters(reference):
    hparams = yaml.safe_load((reference / "lightning_logs" / "version_0" / "hparams.yaml").read_text())
    record = hparams["seedwise"]
    seeds = sw.Seeds(0)
    assert sw.Seeds.from_json(record["seeds"]["root"]) == seeds
    assert record["seeds"]["streams"]["dropout"] == str(int(seeds["dropout"]))
    assert record["seed_everything"]["title"].startswith("seedwise.seed_everything(")
    assert {s["framework"] for s in record["seed_everything"]["settings"]} == {"python", "numpy", "torch"}
    assert record["fingerprint"]["versions"]["seedwise"] == sw.__version__
    assert record["fingerprint"]["versions"]["torch"] == torch.__version__


def test_kill_9_mid_epoch_then_resume_in_a_fresh_process_gives_the_same_weights(reference, tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        options = [f"--{k.replace('_', '-')}={v}" for k, v in RUN.items()]
        return subprocess.run(
            [sys.executable, str(EXAMPLE), "--out", str(tmp_path), *options, *args],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )

    # Checkpoints after steps 4 and 8; killed (SIGKILL: nothing runs after it) after step 9, mid-epoch 1.
    crashed = run("--crash-after-step=9")
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
    assert not (tmp_path / "weights.safetensors").exists()
    resumed = run("--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _assert_same_weights(_weights(reference), _weights(tmp_path))


def test_resuming_a_checkpoint_saved_at_the_end_of_an_epoch(reference, tmp_path):
    # In this process: stop after step 6 (the last batch of epoch 0, checkpointed), then continue.
    example = _example()

    class StopAfter6(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if trainer.global_step == 6:
                trainer.should_stop = True

    example.train(tmp_path, **{**RUN, "checkpoint_every": 6}, callbacks=(StopAfter6(),))
    assert (tmp_path / "checkpoints" / "epoch=0-step=6.ckpt").exists()
    example.train(tmp_path, **{**RUN, "checkpoint_every": 6}, resume=True)
    _assert_same_weights(_weights(reference), _weights(tmp_path))


# -- dropout, keyed by (global step, rank) --------------------------------------------


def test_each_step_draws_its_dropout_masks_from_the_step_and_the_rank(test_seed):
    seeds = sw.Seeds(test_seed)
    model = Recorder(seeds)
    datamodule = SeedwiseDataModule(train=Patterns(20), seeds=seeds, batch_size=5, augment=pipeline(seeds))
    before = torch.get_rng_state()
    _trainer(max_epochs=2, callbacks=[SeedwiseCallback(seeds, log_hyperparams=False)]).fit(model, datamodule=datamodule)
    assert [s["step"] for s in model.steps] == list(range(8))
    for s in model.steps:
        with sw.keyed(seeds["dropout"][0], s["step"]):  # what nn.Dropout drew inside the step
            expected = torch.nn.functional.dropout(torch.ones(5, 16), 0.5, training=True) != 0
        assert np.array_equal(s["mask"], expected.numpy())
    assert not np.array_equal(model.steps[0]["mask"], model.steps[1]["mask"])
    assert torch.equal(torch.get_rng_state(), before)  # each step's keying was undone


def test_with_gradient_accumulation_each_micro_batch_has_its_own_masks(test_seed):
    seeds = sw.Seeds(test_seed)
    model = Recorder(seeds)
    datamodule = SeedwiseDataModule(train=Patterns(20), seeds=seeds, batch_size=5)
    callback = SeedwiseCallback(seeds, log_hyperparams=False)
    _trainer(max_epochs=1, accumulate_grad_batches=2, callbacks=[callback]).fit(model, datamodule=datamodule)
    assert [s["step"] for s in model.steps] == [0, 0, 1, 1]
    for micro, s in zip([0, 1, 0, 1], model.steps):
        with sw.keyed(seeds["dropout"][0], (s["step"], micro)):
            expected = torch.nn.functional.dropout(torch.ones(5, 16), 0.5, training=True) != 0
        assert np.array_equal(s["mask"], expected.numpy())


def test_with_keys_each_rows_dropout_mask_is_its_samples_whatever_the_batch(test_seed):
    # The recipe for masks that do not depend on the number of devices (docs/integrations.md).
    seeds = sw.Seeds(test_seed)

    class PerSample(Recorder):
        def training_step(self, batch, batch_idx):
            keys, batch = batch
            with keyed_dropout(seeds["dropout"], per_sample=keys):
                return super().training_step(batch, batch_idx)

    model = PerSample(seeds)
    datamodule = SeedwiseDataModule(train=Patterns(12), seeds=seeds, batch_size=4, with_keys=True)
    callback = SeedwiseCallback(seeds, key_dropout=False, log_hyperparams=False)
    _trainer(max_epochs=2, callbacks=[callback]).fit(model, datamodule=datamodule)
    assert [s["epoch"] for s in model.steps] == [0, 0, 0, 1, 1, 1]
    assert sorted(int(i) for s in model.steps[:3] for i in s["indices"]) == list(range(12))
    for s in model.steps:
        for row, i in enumerate(s["indices"].tolist()):
            with keyed_dropout(seeds["dropout"], per_sample=(int(s["epoch"]), np.array([i]))):
                alone = torch.nn.functional.dropout(torch.ones(1, 16), 0.5, training=True) != 0
            assert np.array_equal(s["mask"][row], alone[0].numpy())  # the sample's mask, as in any batch


# -- DDP on 2 CPU processes, then resumed on 1 --------------------------------------

N, GLOBAL_BATCH, STEPS = 24, 6, 6  # 4 steps an epoch: stopped after 2 steps of epoch 1 (global position 12)


def _records(directory: Path) -> dict[int, dict[int, dict[str, np.ndarray]]]:
    out: dict[int, dict[int, dict[str, np.ndarray]]] = {}
    for path in sorted(directory.glob("step*-rank*.npz")):
        step, rank = (int(part) for part in path.stem.removeprefix("step").split("-rank"))
        with np.load(path, allow_pickle=False) as f:
            out.setdefault(step, {})[rank] = {key: f[key] for key in f.files}
    return out


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    seed = 11
    run = subprocess.run(
        [
            sys.executable,
            str(HERE / "lightning_ddp_run.py"),
            str(out),
            str(seed),
            str(N),
            str(GLOBAL_BATCH),
            str(STEPS),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return out, seed, _records(out / "records")


def test_ddp_ranks_train_on_disjoint_shards_with_their_own_dropout_masks(ddp_run):
    out, seed, steps = ddp_run
    seeds = sw.Seeds(seed)
    assert sorted(steps) == list(range(STEPS))
    reference = {e: single_process(seeds, N, e) for e in (0, 1)}
    for step, ranks in steps.items():
        epoch, k = divmod(step, N // GLOBAL_BATCH)
        assert sorted(ranks) == [0, 1] and all(int(r["epoch"]) == epoch for r in ranks.values())
        order, images = reference[epoch]
        interleaved = [int(ranks[p % 2]["indices"][p // 2]) for p in range(GLOBAL_BATCH)]
        assert interleaved == order[k * GLOBAL_BATCH : (k + 1) * GLOBAL_BATCH]  # the single-process batch
        for r in ranks.values():
            for i, image in zip(r["indices"].tolist(), r["images"]):
                assert np.array_equal(image, images[i])  # augmented as in one process
        assert not np.array_equal(ranks[0]["mask"], ranks[1]["mask"])  # keyed by rank
    epoch0 = np.concatenate([r["indices"] for s in range(4) for r in steps[s].values()])
    assert sorted(epoch0.tolist()) == list(range(N))  # disjoint shards, their union the epoch
    weights = [torch.load(out / f"weights-rank{r}.pt", weights_only=True) for r in (0, 1)]
    _assert_same_weights(*weights)


def _resuming_trainer(seeds: sw.Seeds, directory: Path) -> L.Trainer:
    """A one-device trainer with the callbacks of the DDP run (Lightning wants the checkpoint's ModelCheckpoint,
    writing to the same directory)."""
    checkpoints = ModelCheckpoint(dirpath=directory, every_n_train_steps=STEPS, save_last=True)
    callbacks = [SeedwiseCallback(seeds, log_hyperparams=False), checkpoints]
    return _trainer(max_epochs=2, callbacks=callbacks, enable_checkpointing=True)


@pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty:UserWarning")  # resuming there
def test_a_ddp_checkpoint_resumes_on_one_device_at_the_next_global_sample(ddp_run):
    out, seed, steps = ddp_run
    seeds = sw.Seeds(seed)
    model = Recorder(seeds)
    datamodule = SeedwiseDataModule(
        train=Patterns(N), seeds=seeds, global_batch_size=GLOBAL_BATCH, augment=pipeline(seeds)
    )
    trainer = _resuming_trainer(seeds, out / "ckpt")
    trainer.fit(model, datamodule=datamodule, ckpt_path=out / "ckpt" / "epoch=1-step=6.ckpt")
    assert [s["step"] for s in model.steps] == [6, 7]  # the rest of epoch 1, one device
    order, images = single_process(seeds, N, 1)
    assert [int(i) for s in model.steps for i in s["indices"]] == order[12:]
    before = [int(r["indices"][p // 2]) for s in (4, 5) for p in range(GLOBAL_BATCH) for r in [steps[s][p % 2]]]
    assert sorted(before + order[12:]) == list(range(N))  # epoch 1: every sample once, over 2 then 1 device
    for s in model.steps:
        for i, image in zip(s["indices"].tolist(), s["images"]):
            assert np.array_equal(image, images[i])


@pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty:UserWarning")  # resuming there
def test_resuming_on_another_device_count_with_another_global_batch_is_refused(ddp_run):
    out, seed, _ = ddp_run
    seeds = sw.Seeds(seed)
    per_device = GLOBAL_BATCH // 2  # kept per device: the global batch halves on one device
    datamodule = SeedwiseDataModule(train=Patterns(N), seeds=seeds, batch_size=per_device)
    trainer = _resuming_trainer(seeds, out / "ckpt")
    with pytest.raises(InvalidArgumentError, match="keep the global batch size"):
        trainer.fit(Recorder(seeds), datamodule=datamodule, ckpt_path=out / "ckpt" / "epoch=1-step=6.ckpt")


# -- misuse is loud ---------------------------------------------------------------------


def test_a_loader_on_another_shard_than_the_trainers_is_refused(test_seed):
    seeds = sw.Seeds(test_seed)
    loader = sw.data.DataLoader(Patterns(8), batch_size=2, shuffle=True, seeds=seeds, rank=0, world_size=2)
    trainer = _trainer(max_epochs=1, callbacks=[SeedwiseCallback(seeds, log_hyperparams=False)])
    with pytest.raises(InvalidArgumentError, match="shard 0 of 2.*rank 0 of 1"):
        trainer.fit(Recorder(seeds), train_dataloaders=loader)


def test_a_loader_from_other_seeds_is_refused(test_seed):
    seeds = sw.Seeds(test_seed)
    loader = sw.data.DataLoader(Patterns(8), batch_size=2, shuffle=True, seeds=sw.Seeds(test_seed + 1))
    trainer = _trainer(max_epochs=1, callbacks=[SeedwiseCallback(seeds, log_hyperparams=False)])
    with pytest.raises(InvalidArgumentError, match="do not come from the SeedwiseCallback's seeds"):
        trainer.fit(Recorder(seeds), train_dataloaders=loader)


def test_a_torch_loader_is_warned_about(test_seed):
    seeds = sw.Seeds(test_seed)
    loader = torch.utils.data.DataLoader(Patterns(8), batch_size=2)
    trainer = _trainer(max_epochs=1, callbacks=[SeedwiseCallback(seeds, log_hyperparams=False)])
    with warnings.catch_warnings(record=True) as caught:  # Lightning adds its own (few workers, ...)
        warnings.simplefilter("always")
        trainer.fit(Recorder(seeds), train_dataloaders=loader)
    ours = [w for w in caught if "not a seedwise.data.DataLoader" in str(w.message)]
    assert len(ours) == 1 and ours[0].category is UserWarning


def test_callback_and_datamodule_arguments_are_checked():
    with pytest.raises(InvalidTypeError, match="report must be what seedwise.seed_everything"):
        SeedwiseCallback(0, report={"seeded": True})
    with pytest.raises(InvalidTypeError, match="key_dropout must be True or False"):
        SeedwiseCallback(0, key_dropout=1)
    with pytest.raises(InvalidArgumentError, match="exactly one of them"):
        SeedwiseDataModule(Patterns(4), seeds=0)
    with pytest.raises(InvalidArgumentError, match="exactly one of them"):
        SeedwiseDataModule(Patterns(4), seeds=0, batch_size=2, global_batch_size=4)
    with pytest.raises(InvalidArgumentError, match="at least one dataset"):
        SeedwiseDataModule(seeds=0, batch_size=2)
    datamodule = SeedwiseDataModule(Patterns(4), seeds=0, global_batch_size=3)
    assert len(datamodule.train_dataloader()) == 2  # outside a trainer: one device


def test_the_datamodule_builds_seedwise_loaders_for_the_splits_given(test_seed):
    from lightning.pytorch.utilities.model_helpers import is_overridden

    seeds = sw.Seeds(test_seed)
    datamodule = SeedwiseDataModule(Patterns(10), val=Patterns(6), seeds=seeds, batch_size=4, augment=pipeline(seeds))
    assert is_overridden("train_dataloader", datamodule) and is_overridden("val_dataloader", datamodule)
    assert not is_overridden("test_dataloader", datamodule)  # Lightning does not look for a test split
    train, val = datamodule.train_dataloader(), datamodule.val_dataloader()
    assert isinstance(train, sw.data.DataLoader) and train.shuffle and train.augment is not None
    assert isinstance(val, sw.data.DataLoader) and not val.shuffle and val.augment is None
    train.set_epoch(3)
    assert [int(i) for _, b in train for i in b] == S.permutation(seeds["data_order"], 3, 10).tolist()
    assert json.loads(json.dumps(train.state_dict()))["epoch"] == 3
