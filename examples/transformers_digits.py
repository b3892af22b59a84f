"""The Hugging Face Trainer with seedwise: a tiny BERT on scikit-learn's digits, resumable to the bit.

    python examples/transformers_digits.py --out runs/hf
    python examples/transformers_digits.py --out runs/hf --stop-after-step 7   # stops after checkpoint-6 ...
    python examples/transformers_digits.py --out runs/hf --resume              # ... and ends with the same weights

What seedwise does in it:

* ``SeedwiseTrainer`` trains on a ``seedwise.data.DataLoader``: the order of each epoch from
  ``seeds["data_order"]``, augmentation keyed by (epoch, sample index), and each process
  its shard under ``torchrun`` / ``accelerate launch``;
* dropout (BERT's) is keyed by (process, global step);
* every ``checkpoint-<step>`` holds the loader's position (``seedwise_loader.json``), and
  ``train(resume_from_checkpoint=True)`` continues at the next sample.

The model is built from a config (nothing is downloaded): a one-layer BERT that reads a
digit as a sequence of 64 pixel tokens (17 grey levels). The final weights go to
``OUT/weights.safetensors``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing to download: the model is built from its config

import numpy as np
import torch
import transformers
from safetensors.torch import save_file

import seedwise as sw
from seedwise.demo.digits import load_digits_data, make_pipeline
from seedwise.integrations.transformers import SeedwiseTrainer


class Digits(torch.utils.data.Dataset):
    """uint8 8x8x1 images and their labels."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.images[i], int(self.labels[i])


def collate(samples: list[tuple[np.ndarray, int]]) -> dict[str, torch.Tensor]:
    """(augmented uint8 8x8 image, label) pairs -> BERT's inputs: 64 pixel tokens, 17 grey levels."""
    images = torch.from_numpy(np.stack([image for image, _ in samples])).reshape(len(samples), 64)
    return {
        "input_ids": torch.round(images.float() * (16 / 255)).long(),
        "labels": torch.tensor([label for _, label in samples]),
    }


def make_model(seeds: sw.Seeds) -> transformers.BertForSequenceClassification:
    config = transformers.BertConfig(
        vocab_size=17, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, num_labels=10, hidden_dropout_prob=0.1,
    )  # fmt: skip
    with sw.keyed(seeds["init"], 0):  # transformers initialises from the global RNGs: key them
        return transformers.BertForSequenceClassification(config)


class StopAfter(transformers.TrainerCallback):
    """End training after step ``step`` (as if the job had died then)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def train(
    out: Path,
    *,
    seed: int = 0,
    samples: int = 320,
    epochs: int = 2,
    batch_size: int = 32,
    checkpoint_every: int = 3,
    stop_after_step: int | None = None,
    resume: bool = False,
) -> transformers.PreTrainedModel:
    """Train (or, with ``resume``, continue) the run in ``out``; the final weights go to ``out/weights.safetensors``."""
    seeds = sw.Seeds(seed)
    data = load_digits_data()
    args = transformers.TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=batch_size,
        num_train_epochs=epochs,
        learning_rate=3e-3,
        lr_scheduler_type="constant",
        save_strategy="steps",
        save_steps=checkpoint_every,
        logging_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=seed,
        disable_tqdm=True,
    )
    trainer = SeedwiseTrainer(
        model=make_model(seeds),
        args=args,
        train_dataset=Digits(data.x_train[:samples], data.y_train[:samples]),
        data_collator=collate,
        seeds=seeds,
        augment=make_pipeline(seeds["augment"]),
        callbacks=[StopAfter(stop_after_step)] if stop_after_step is not None else None,
    )
    trainer.train(resume_from_checkpoint=True if resume else None)
    if stop_after_step is None and trainer.is_world_process_zero():
        weights = {k: v.contiguous() for k, v in trainer.model.state_dict().items()}
        save_file(weights, str(out / "weights.safetensors"))
    return trainer.model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="checkpoints and the final weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=320, help="training samples (of 1,197)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32, help="per process")
    parser.add_argument("--checkpoint-every", type=int, default=3, help="steps")
    parser.add_argument("--stop-after-step", type=int, default=None)
    parser.add_argument("--resume", action="store_true", help="continue from the last OUT/checkpoint-<step>")
    args = parser.parse_args()
    train(
        args.out,
        seed=args.seed,
        samples=args.samples,
        epochs=args.epochs,
        batch_size=args.batch_size,
        checkpoint_every=args.checkpoint_every,
        stop_after_step=args.stop_after_step,
        resume=args.resume,
    )


if __name__ == "__main__":
    main()
