"""Bad arguments raise errors that name the argument and say what was expected; reprs read well."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seedwise import Seeds
from seedwise import augment as A
from seedwise.errors import InvalidArgumentError, InvalidTypeError


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: A.HorizontalFlip(p=1.5), InvalidArgumentError, r"p must be in \[0, 1\]"),
        (lambda: A.VerticalFlip(p=-0.1), InvalidArgumentError, "p must be in"),
        (lambda: A.Rotate(degrees=(30, -30)), InvalidArgumentError, "degrees is reversed"),
        (lambda: A.Rotate(degrees=-10), InvalidArgumentError, "degrees must be >= 0"),
        (lambda: A.Affine(translate=1.5), InvalidArgumentError, "translate must hold fractions"),
        (lambda: A.Affine(scale=(0.0, 1.0)), InvalidArgumentError, "scale must lie in"),
        (lambda: A.Affine(scale=(1.2, 0.8)), InvalidArgumentError, "scale is reversed"),
        (lambda: A.Affine(shear=(1, 2, 3)), InvalidTypeError, "shear must be"),
        (lambda: A.Affine(fill=2), InvalidArgumentError, "fill must be in"),
        (lambda: A.ColorJitter(brightness=-0.1), InvalidArgumentError, "brightness must be >= 0"),
        (lambda: A.ColorJitter(hue=0.7), InvalidArgumentError, "hue must lie in"),
        (lambda: A.ColorJitter(contrast="high"), InvalidTypeError, "contrast must be"),
        (lambda: A.RandomCrop(0), InvalidArgumentError, "size must be positive"),
        (lambda: A.RandomCrop(8, padding=-1), InvalidArgumentError, "padding must be >= 0"),
        (lambda: A.RandomCrop(8.5), InvalidTypeError, "size must be"),
        (lambda: A.RandomResizedCrop(8, scale=(0.5, 1.5)), InvalidArgumentError, "scale must lie in"),
        (lambda: A.RandomResizedCrop(8, ratio=(2.0, 0.5)), InvalidArgumentError, "ratio is reversed"),
        (lambda: A.GaussianBlur(kernel=4), InvalidArgumentError, "kernel must be an odd int"),
        (lambda: A.GaussianBlur(sigma=(2.0, 1.0)), InvalidArgumentError, "sigma is reversed"),
        (lambda: A.GaussianNoise(std=-0.1), InvalidArgumentError, "std must be >= 0"),
        (lambda: A.RandomErasing(value="noise"), InvalidArgumentError, "'random'"),
        (lambda: A.RandomErasing(scale=(0.5, 0.1)), InvalidArgumentError, "scale is reversed"),
        (lambda: A.MixUp(alpha=0), InvalidArgumentError, "alpha must be > 0"),
        (lambda: A.Compose([], seeds=0), InvalidArgumentError, "at least one transform"),
        (lambda: A.Compose([lambda x: x], seeds=0), InvalidTypeError, "not a seedwise.augment transform"),
        (lambda: A.Compose("flip", seeds=0), InvalidTypeError, "takes a list"),
        (lambda: A.Compose([A.Rotate(5)], seeds=-1), InvalidArgumentError, "non-negative"),
        (lambda: A.RandomApply([A.RandomCrop(8)]), InvalidArgumentError, "changes the image size"),
        (lambda: A.OneOf([A.Rotate(5), A.Rotate(5)], weights=[1]), InvalidArgumentError, "one number per transform"),
        (
            lambda: A.Compose([A.Rotate(5, fill=0.0), A.Affine(fill=1.0)], seeds=0),
            InvalidArgumentError,
            "share one fill",
        ),
        (
            lambda: A.Compose({"inner": A.Compose([A.Rotate(5)], seeds=1)}, seeds=0),
            InvalidArgumentError,
            "nested Compose",
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_calls_raise_clear_errors():
    pipe = A.Compose([A.Rotate(5)], seeds=Seeds(0))
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(InvalidTypeError, match="uint8"):
        pipe(img.astype(np.float32), indices=0)
    with pytest.raises(InvalidArgumentError, match="one dataset index per image"):
        pipe(np.stack([img, img]), indices=[0, 1, 2])
    with pytest.raises(InvalidArgumentError, match=">= 0"):
        pipe(img, indices=-1)
    with pytest.raises(InvalidTypeError, match="ints"):
        pipe(img, indices=1.5)
    with pytest.raises(InvalidArgumentError, match="epoch must be >= 0"):
        pipe(img, indices=0, epoch=-1)
    with pytest.raises(InvalidTypeError, match="indices is required"):
        pipe(img, indices=None)
    with pytest.raises(InvalidTypeError, match="NumPy array"):
        pipe([[1, 2]], indices=0)
    with pytest.raises(InvalidArgumentError, match="HWC"):
        pipe(np.zeros((8, 8), np.uint8), indices=0)
    with pytest.raises(InvalidTypeError, match="uint8 or floating"):
        pipe(torch.zeros((1, 3, 8, 8), dtype=torch.int32), indices=[0])
    with pytest.raises(InvalidArgumentError, match="no seeds"):
        A.Compose([A.Rotate(5)]).sample(indices=[0])
    crop = A.Compose([A.RandomCrop(10)], seeds=Seeds(0))
    with pytest.raises(InvalidArgumentError, match=r"larger than the image \(8, 8\)"):
        crop(img, indices=0)
    padded = A.Compose([A.RandomCrop(10, padding=1)], seeds=Seeds(0))
    assert padded(img, indices=0).shape == (10, 10, 3)
    with pytest.raises(InvalidArgumentError, match="1 or 3"):
        A.Compose([A.ColorJitter(0.2)], seeds=Seeds(0))(np.zeros((4, 4, 2), np.uint8), indices=0)


def test_reprs_read_like_the_code_that_builds_them():
    assert repr(A.HorizontalFlip()) == "HorizontalFlip(p=0.5)"
    assert repr(A.Rotate(15)) == "Rotate(degrees=(-15, 15), p=1, fill=0)"
    assert repr(A.ColorJitter(0.2, hue=0.05)) == (
        "ColorJitter(brightness=(0.8, 1.2), contrast=(1, 1), saturation=(1, 1), hue=(-0.05, 0.05), p=1)"
    )
    assert repr(A.RandomCrop(32, padding=4)) == "RandomCrop(size=(32, 32), padding=4, fill=0)"
    assert repr(A.MixUp(0.2)) == "MixUp(alpha=0.2, p=1)"
    pipe = A.Compose(
        {"flip": A.HorizontalFlip(), "pick": A.OneOf([A.Rotate(5), A.GaussianBlur()])}, seeds=Seeds(3)["augment"]
    )
    text = repr(pipe)
    assert text.startswith("Compose({\n    'flip': HorizontalFlip(p=0.5),\n    'pick': OneOf({")
    assert text.endswith("}, seeds=Seeds(3)['augment'])")
    assert "'Rotate': Rotate(degrees=(-5, 5), p=1, fill=0)," in text


def test_public_names():
    expected = {
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
        # issue 16: deterministic stages, photometric and geometric ops, policies
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
    }
    assert set(A.__all__) == expected
    assert all(hasattr(A, name) for name in expected)
