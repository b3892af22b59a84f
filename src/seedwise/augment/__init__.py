"""Reproducible augmentation: each sample's random parameters are a pure function of
(augment stream, epoch, sample index).

So the augmented data a model sees does not change with the number of DataLoader
workers, the batch size, the number of ranks, or where a run was resumed; and mixing
(MixUp / CutMix) picks partners from the dataset by index rather than from the batch.

>>> from seedwise import Seeds, augment as A
>>> pipe = A.Compose([A.HorizontalFlip(0.5), A.Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
...                   A.ColorJitter(0.2, 0.2, 0.2, 0.05)], seeds=Seeds(42)["augment"])
>>> out = pipe(images, indices=idx, epoch=epoch)   # doctest: +SKIP

Two backends apply the same parameters: OpenCV on uint8 HWC NumPy images
(:mod:`seedwise.augment.cpu`) and batched torch on BCHW tensors
(:mod:`seedwise.augment.torch_backend`). See docs/augment.md.
"""

from __future__ import annotations

from seedwise.augment.base import Transform
from seedwise.augment.blur import GaussianBlur
from seedwise.augment.color import ColorJitter, Grayscale, Invert, RandomGrayscale
from seedwise.augment.compose import Compose
from seedwise.augment.containers import OneOf, RandomApply
from seedwise.augment.convert import Normalize, ToFloat
from seedwise.augment.crops import RandomCrop, RandomResizedCrop
from seedwise.augment.dataset import AugmentedDataset
from seedwise.augment.erasing import RandomErasing
from seedwise.augment.geometric import Affine, HorizontalFlip, Rotate, Shear, VerticalFlip
from seedwise.augment.levels import AutoContrast, Equalize, Posterize, Solarize
from seedwise.augment.mixing import CutMix, MixUp
from seedwise.augment.noise import GaussianNoise
from seedwise.augment.policies import AutoAugment, RandAugment, TrivialAugmentWide
from seedwise.augment.sharpness import Sharpness
from seedwise.augment.sizing import CenterCrop, Pad, Resize

__all__ = [
    "Transform",
    "Compose",
    "OneOf",
    "RandomApply",
    "AugmentedDataset",
    "HorizontalFlip",
    "VerticalFlip",
    "Affine",
    "Rotate",
    "RandomResizedCrop",
    "RandomCrop",
    "ColorJitter",
    "GaussianNoise",
    "GaussianBlur",
    "RandomErasing",
    "MixUp",
    "CutMix",
    "Shear",
    "Resize",
    "CenterCrop",
    "Pad",
    "ToFloat",
    "Normalize",
    "Invert",
    "Grayscale",
    "RandomGrayscale",
    "Solarize",
    "Posterize",
    "Equalize",
    "AutoContrast",
    "Sharpness",
    "RandAugment",
    "TrivialAugmentWide",
    "AutoAugment",
]
