"""seedwise.integrations.accelerate with the real Accelerate (issue 13 item 3, issue 17 item 4).

``accelerator.prepare(loader)`` used to return the seedwise loader untouched: no sharding,
no device placement, and ``save_state`` left its position out. ``swa.prepare`` fixes all
three; tested here:

* batches on ``accelerator.device``, in the loader's order, objects returned in order;
* the position in ``save_state`` (as JSON) and back from ``load_state``: bit-identical
  final weights after stopping and resuming in a fresh process (examples/accelerate_digits.py);
* ``accelerate launch --multi_gpu --num_processes 2`` on CPU (torchrun, gloo): disjoint
  shards that interleave to the single-process order, augmented content as in one
  process, dropout masks that differ between processes; its checkpoint resumes on one
  process at the next global sample;
* ``accelerator.accumulate`` synchronises the last, shorter accumulation of an epoch;
* a checkpoint without the loader's position, a loader on the wrong shard and
  ``skip_first_batches`` on a seedwise loader all raise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("accelerate")

import accelerate_run
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from safetensors.torch import load_file
from trainer_kit import Patterns, make_net, pipeline, single_process

import seedwise as sw
from seedwise.errors import InvalidArgumentError, InvalidTypeError, StateFileError
from seedwise.integrations import accelerate as swa

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
EXAMPLE = ROOT / "examples" / "accelerate_digits.py"

pytestmark = pytest.mark.usefixtures("one_thread", "fresh_accelerate")


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path]),
    }


def _example():
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import accelerate_digits
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    return accelerate_digits


def _loader(seeds: sw.Seeds, n: int = 12, batch_size: int = 4, **kwargs) -> sw.data.DataLoader:
    return sw.data.DataLoader(
        Patterns(n), batch_size=batch_size, shuffle=True, seeds=seeds, augment=pipeline(seeds), **kwargs
    )


def test_prepare_returns_the_objects_in_order_with_the_loader_on_the_device(test_seed):
    seeds = sw.Seeds(test_seed)
    accelerator = Accelerator(cpu=True)
    net = make_net(seeds)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    model, loader, prepared_optimizer = swa.prepare(accelerator, net, _loader(seeds), optimizer)
    assert isinstance(loader, swa.AcceleratedLoader) and isinstance(model, torch.nn.Module)
    assert prepared_optimizer.optimizer is optimizer  # Accelerate's wrapper around it
    assert swa.prepare(accelerator, loader.loader) is loader  # prepared once
    reference = _loader(seeds)
    for epoch in (0, 1):
        loader.set_epoch(epoch)
        reference.set_epoch(epoch)
        got = list(loader)
        assert len(got) == len(loader) == 3
        for (images, indices), (ref_images, ref_indices) in zip(got, reference):
            assert images.device == accelerator.device
            assert torch.equal(images, ref_images) and torch.equal(indices, ref_indices)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batches_land_on_the_cuda_device(test_seed):
    accelerator = Accelerator()
    loader = swa.prepare(accelerator, _loader(sw.Seeds(test_seed)))
    images, indices = next(iter(loader))
    assert images.device.type == "cuda" and indices.device.type == "cuda"


def test_accumulate_synchronises_the_last_shorter_accumulation_of_each_epoch(test_seed):
    seeds = sw.Seeds(test_seed)
    accelerator = Accelerator(cpu=True, gradient_accumulation_steps=3)
    net = make_net(seeds)
    model, loader = swa.prepare(accelerator, net, _loader(seeds, n=16))  # 4 batches an epoch
    synced = []
    for epoch in (0, 1):
        loader.set_epoch(epoch)
        for _batch in loader:
            with accelerator.accumulate(model):
                synced.append(accelerator.sync_gradients)
    assert synced == [False, False, True, True] * 2  # the 4th batch ends the epoch: its gradients are applied


@pytest.mark.slow
def test_save_state_holds_the_position_and_a_fresh_process_resumes_to_the_same_weights(tmp_path):
    example = _example()
    run = {"samples": 96, "batch_size": 16, "epochs": 2, "checkpoint_every": 4}
    example.train(tmp_path / "reference", **run)
    AcceleratorState._reset_state(True)
    example.train(tmp_path / "resumed", **run, stop_after_step=9)  # checkpoints after steps 4 and 8
    checkpoint = tmp_path / "resumed" / "checkpoints" / "step_8"
    state = json.loads((checkpoint / "seedwise_loader_0.json").read_text())
    assert (state["epoch"], state["position"]) == (1, 32)  # 8 steps of 16: 2 batches into epoch 1
    assert not list(checkpoint.glob("custom_checkpoint_*"))  # the position is not pickled
    resumed = subprocess.run(
        [sys.executable, str(EXAMPLE), "--out", str(tmp_path / "resumed"), "--resume",
         *(f"--{k.replace('_', '-')}={v}" for k, v in run.items())],
        env=_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    reference = load_file(str(tmp_path / "reference" / "weights.safetensors"))
    weights = load_file(str(tmp_path / "resumed" / "weights.safetensors"))
    assert reference.keys() == weights.keys()
    for name in reference:
        assert torch.equal(reference[name], weights[name]), name


# -- accelerate launch, 2 CPU processes; then resumed on 1 -------------------------

N, GLOBAL_BATCH, STEPS, SEED = 24, 6, 6, 7  # 4 steps an epoch: stopped 2 steps into epoch 1 (position 12)


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    out = tmp_path_factory.mktemp("launch")
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]  # fmt: skip
    run = subprocess.run(
        [*launch, str(HERE / "accelerate_run.py"), str(out), str(SEED), str(N), str(GLOBAL_BATCH), str(STEPS)],
        env=_env(out),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    steps: dict[int, dict[int, dict[str, np.ndarray]]] = {}
    for path in sorted((out / "records").glob("step*-rank*.npz")):
        step, rank = (int(part) for part in path.stem.removeprefix("step").split("-rank"))
        with np.load(path, allow_pickle=False) as f:
            steps.setdefault(step, {})[rank] = {key: f[key] for key in f.files}
    return out, steps


@pytest.mark.slow
def test_accelerate_launch_on_two_processes_gives_disjoint_shards(launched):
    out, steps = launched
    seeds = sw.Seeds(SEED)
    assert sorted(steps) == list(range(STEPS))
    reference = {e: single_process(seeds, N, e) for e in (0, 1)}
    for step, ranks in steps.items():
        epoch, k = divmod(step, N // GLOBAL_BATCH)
        assert sorted(ranks) == [0, 1]
        order, images = reference[epoch]
        interleaved = [int(ranks[p % 2]["indices"][p // 2]) for p in range(GLOBAL_BATCH)]
        assert interleaved == order[k * GLOBAL_BATCH : (k + 1) * GLOBAL_BATCH]
        for r in ranks.values():
            for i, image in zip(r["indices"].tolist(), r["images"]):
                assert np.array_equal(image, images[i])
        assert not np.array_equal(ranks[0]["mask"], ranks[1]["mask"])  # dropout keyed by process
    epoch0 = np.concatenate([r["indices"] for s in range(4) for r in steps[s].values()])
    assert sorted(epoch0.tolist()) == list(range(N))
    weights = [torch.load(out / f"weights-rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


@pytest.mark.slow
def test_a_two_process_checkpoint_resumes_on_one_process_at_the_next_global_sample(launched):
    out, steps = launched
    _, _, record = accelerate_run.train(out, SEED, N, GLOBAL_BATCH, resume=True)
    assert [int(s["step"]) for s in record] == [6, 7]
    order, images = single_process(sw.Seeds(SEED), N, 1)
    assert [int(i) for s in record for i in s["indices"]] == order[12:]
    before = [int(steps[s][p % 2]["indices"][p // 2]) for s in (4, 5) for p in range(GLOBAL_BATCH)]
    assert sorted(before + order[12:]) == list(range(N))  # epoch 1: every sample once, on 2 then 1 process
    for s in record:
        for i, image in zip(s["indices"].tolist(), s["images"]):
            assert np.array_equal(image, images[i])


# -- misuse is loud -------------------------------------------------------------------


def test_a_checkpoint_without_the_loader_position_is_refused(tmp_path, test_seed):
    seeds = sw.Seeds(test_seed)
    accelerator = Accelerator(cpu=True)
    accelerator.prepare(make_net(seeds))
    accelerator.save_state(tmp_path / "ckpt")  # no seedwise loader prepared
    AcceleratorState._reset_state(True)
    accelerator = Accelerator(cpu=True)
    swa.prepare(accelerator, make_net(seeds), _loader(seeds))
    with pytest.raises(StateFileError, match="holds no position for seedwise loader 0"):
        accelerator.load_state(tmp_path / "ckpt")


def test_a_loader_on_another_shard_is_refused(test_seed):
    accelerator = Accelerator(cpu=True)
    with pytest.raises(InvalidArgumentError, match="shard 1 of 2.*rank 0 of 1"):
        swa.prepare(accelerator, _loader(sw.Seeds(test_seed), rank=1, world_size=2))


def test_skip_first_batches_cannot_rebuild_a_seedwise_loader(test_seed):
    accelerator = Accelerator(cpu=True)
    loader = swa.prepare(accelerator, _loader(sw.Seeds(test_seed)))
    with pytest.raises(InvalidTypeError, match="cannot be iterated on its own"):
        list(accelerator.skip_first_batches(loader, 1))


def test_prepare_needs_an_accelerator(test_seed):
    with pytest.raises(InvalidTypeError, match="accelerator must be an accelerate.Accelerator"):
        swa.prepare(_loader(sw.Seeds(test_seed)))
