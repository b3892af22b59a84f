"""seedwise.integrations.transformers with the real Hugging Face Trainer (issue 13 item 3).

Tiny BERTs built from a config, nothing downloaded (HF_HUB_OFFLINE=1):

* a ``SeedwiseTrainer`` run trains on seedwise's order and keyed augmentation, with
  dropout keyed by (process, global step) -- (step, micro-batch) under gradient accumulation;
* it resumes exactly from its own checkpoints: the same final weights after stopping
  and resuming in a fresh process (examples/transformers_digits.py), and with
  gradient accumulation in this one;
* a checkpoint without the loader's position, a position that does not fit the
  checkpoint's step, and a mid-epoch resume the Trainer would count wrong all raise;
* the plain Trainer's way of resuming (skip_first_batches, which rebuilds the loader)
  raises instead of feeding (epoch, index) keys to the dataset.
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

pytest.importorskip("transformers")

import transformers
from accelerate.state import AcceleratorState
from safetensors.torch import load_file
from trainer_kit import Patterns, pipeline, single_process

import seedwise as sw
from seedwise.errors import InvalidArgumentError, StateFileError
from seedwise.integrations.transformers import STATE_FILE, SeedwiseTrainer

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
EXAMPLE = ROOT / "examples" / "transformers_digits.py"

pytestmark = pytest.mark.usefixtures("one_thread", "fresh_accelerate")


def collate(samples):
    """(augmented uint8 8x8x3 image, index) -> 64 tokens (the red channel, 17 levels), a label, the index."""
    images = torch.from_numpy(np.stack([image for image, _ in samples]))
    indices = torch.tensor([i for _, i in samples])
    tokens = torch.round(images[..., 0].reshape(len(samples), 64).float() * (16 / 255)).long()
    return {"input_ids": tokens, "labels": indices % 4, "index": indices}


def make_bert(seeds: sw.Seeds) -> transformers.BertForSequenceClassification:
    config = transformers.BertConfig(
        vocab_size=17, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=64, num_labels=4, hidden_dropout_prob=0.5, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    with sw.keyed(seeds["init"], 0):
        return transformers.BertForSequenceClassification(config)


class Recording(SeedwiseTrainer):
    """Records, at each micro-batch, the step, the indices and the embeddings' dropout mask."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[dict[str, object]] = []
        self._masks: list[torch.Tensor] = []
        self.model.bert.embeddings.dropout.register_forward_hook(
            lambda module, args, output: self._masks.append(output != 0)
        )

    def training_step(self, model, inputs, *args, **kwargs):
        index = inputs.pop("index")
        loss = super().training_step(model, inputs, *args, **kwargs)
        self.seen.append({"step": self.state.global_step, "index": index.tolist(), "mask": self._masks[-1]})
        return loss


def _args(out: Path, **kwargs) -> transformers.TrainingArguments:
    options = {
        "output_dir": str(out),
        "per_device_train_batch_size": 4,
        "num_train_epochs": 2,
        "learning_rate": 1e-2,
        "lr_scheduler_type": "constant",
        "save_strategy": "no",
        "logging_strategy": "no",
        "report_to": [],
        "use_cpu": True,
        "disable_tqdm": True,
    }
    return transformers.TrainingArguments(**{**options, **kwargs})


def _trainer(out: Path, seeds: sw.Seeds, n: int = 16, **kwargs) -> Recording:
    return Recording(
        model=make_bert(seeds),
        args=_args(out, **kwargs),
        train_dataset=Patterns(n),
        data_collator=collate,
        seeds=seeds,
        augment=pipeline(seeds),
    )


def _weights(trainer: transformers.Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


class StopAfter(transformers.TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def test_the_trainer_uses_seedwise_order_and_keys_dropout_by_step(tmp_path, test_seed):
    seeds = sw.Seeds(test_seed)
    trainer = _trainer(tmp_path, seeds)
    trainer.train()
    assert [s["step"] for s in trainer.seen] == list(range(8))  # 16 samples in batches of 4, 2 epochs
    for epoch in (0, 1):
        order, _ = single_process(seeds, 16, epoch)
        assert [i for s in trainer.seen[4 * epoch : 4 * epoch + 4] for i in s["index"]] == order
    for s in trainer.seen:
        with sw.keyed(seeds["dropout"][0], s["step"]):  # BERT's first dropout in the step
            expected = torch.nn.functional.dropout(torch.ones(4, 64, 16), 0.5, training=True) != 0
        assert torch.equal(s["mask"], expected)
    assert isinstance(trainer.train_loader, sw.data.DataLoader) and trainer.args.ignore_data_skip


@pytest.mark.slow
def test_stopped_then_resumed_in_a_fresh_process_gives_the_same_weights(tmp_path):
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import transformers_digits as example
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    run = {"samples": 96, "batch_size": 16, "epochs": 2, "checkpoint_every": 4}
    example.train(tmp_path / "reference", **run)
    AcceleratorState._reset_state(True)
    example.train(tmp_path / "resumed", **run, stop_after_step=9)  # checkpoints after steps 4 and 8
    state = json.loads((tmp_path / "resumed" / "checkpoint-8" / STATE_FILE).read_text())
    assert (state["epoch"], state["position"]) == (1, 32)
    resumed = subprocess.run(
        [sys.executable, str(EXAMPLE), "--out", str(tmp_path / "resumed"), "--resume",
         *(f"--{k.replace('_', '-')}={v}" for k, v in run.items())],
        env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    reference = load_file(str(tmp_path / "reference" / "weights.safetensors"))
    _assert_same(reference, load_file(str(tmp_path / "resumed" / "weights.safetensors")))


def test_resume_with_gradient_accumulation_gives_the_same_weights(tmp_path, test_seed):
    seeds = sw.Seeds(test_seed)
    accumulate = {"gradient_accumulation_steps": 2, "save_strategy": "steps", "save_steps": 1}
    reference = _trainer(tmp_path / "a", seeds, **accumulate)
    reference.train()  # 4 batches an epoch: 2 steps of 2 micro-batches
    assert [s["step"] for s in reference.seen] == [0, 0, 1, 1, 2, 2, 3, 3]
    for micro, s in zip([0, 1] * 4, reference.seen):
        with sw.keyed(seeds["dropout"][0], (s["step"], micro)):
            expected = torch.nn.functional.dropout(torch.ones(4, 64, 16), 0.5, training=True) != 0
        assert torch.equal(s["mask"], expected)
    AcceleratorState._reset_state(True)
    stopped = _trainer(tmp_path / "b", seeds, **accumulate)
    stopped.add_callback(StopAfter(2))
    stopped.train()
    AcceleratorState._reset_state(True)
    resumed = _trainer(tmp_path / "b", seeds, **accumulate)
    resumed.train(resume_from_checkpoint=str(tmp_path / "b" / "checkpoint-1"))  # mid-epoch 0
    assert [s["step"] for s in resumed.seen] == [1, 1, 2, 2, 3, 3]
    assert [s["index"] for s in resumed.seen] == [s["index"] for s in reference.seen[2:]]
    _assert_same(_weights(reference), _weights(resumed))


def test_mid_epoch_resume_the_trainer_would_count_wrong_is_refused(tmp_path, test_seed):
    seeds = sw.Seeds(test_seed)
    accumulate = {"gradient_accumulation_steps": 3, "save_strategy": "steps", "save_steps": 1}
    stopped = _trainer(tmp_path, seeds, **accumulate)  # 4 batches an epoch: steps of 3 and 1 micro-batches
    stopped.add_callback(StopAfter(1))
    stopped.train()
    AcceleratorState._reset_state(True)
    with pytest.raises(InvalidArgumentError, match="gradient_accumulation_steps=3, which does not divide the 4"):
        _trainer(tmp_path, seeds, **accumulate).train(resume_from_checkpoint=True)


def test_a_checkpoint_without_or_with_a_wrong_loader_position_is_refused(tmp_path, test_seed):
    seeds = sw.Seeds(test_seed)
    stopped = _trainer(tmp_path, seeds, save_strategy="steps", save_steps=1)
    stopped.add_callback(StopAfter(2))
    stopped.train()
    one, two = tmp_path / "checkpoint-1", tmp_path / "checkpoint-2"
    (two / STATE_FILE).write_text((one / STATE_FILE).read_text())  # the position of step 1 with step 2
    AcceleratorState._reset_state(True)
    with pytest.raises(StateFileError, match="is not where global step 2 leaves the Trainer"):
        _trainer(tmp_path, seeds).train(resume_from_checkpoint=str(two))
    (one / STATE_FILE).unlink()
    AcceleratorState._reset_state(True)
    with pytest.raises(StateFileError, match="holds no seedwise loader position"):
        _trainer(tmp_path, seeds).train(resume_from_checkpoint=str(one))


def test_the_plain_trainers_skipping_cannot_rebuild_a_seedwise_loader(test_seed):
    # What the HF Trainer does on resume when it owns the loader (ignore_data_skip=False).
    from accelerate import skip_first_batches

    loader = sw.data.DataLoader(Patterns(8), batch_size=2, shuffle=True, seeds=sw.Seeds(test_seed))
    with pytest.raises(TypeError, match="cannot be iterated on its own"):
        list(skip_first_batches(loader, 1))
