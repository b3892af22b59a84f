"""Each op against a reference on the same parameters: Pillow's ImageOps / ImageEnhance,
and albumentations where it has the op. Exact where the definitions are the same
integer arithmetic; otherwise within the tolerance docs/augment.md states."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageOps

from seedwise import Seeds
from seedwise import augment as A

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network call on import
import albumentations as alb

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def photos() -> list[np.ndarray]:
    """Smooth and noisy RGB images, one with a narrow range of levels (what equalise and
    autocontrast change most), one flat."""
    import cv2

    rng = Seeds(0)["reference-images"].numpy()
    smooth = cv2.resize(rng.integers(0, 256, (7, 9, 3), dtype=np.uint8), (45, 37), interpolation=cv2.INTER_CUBIC)
    noisy = rng.integers(0, 256, (37, 45, 3), dtype=np.uint8)
    narrow = (60 + smooth // 4).astype(np.uint8)
    flat = np.full((37, 45, 3), 77, dtype=np.uint8)
    return [smooth, noisy, narrow, flat]


def run(t: A.Transform, img: np.ndarray, torch_tolerance: int = 0) -> np.ndarray:
    """The op alone on the CPU path, and check that the torch path gives the same pixels
    (within ``torch_tolerance`` levels: colour matrices round in float32 on one, in OpenCV on the other)."""
    out = t(img, indices=0, seeds=Seeds(0))
    tor = t(torch.from_numpy(img).permute(2, 0, 1), indices=0, seeds=Seeds(0)).permute(1, 2, 0).numpy()
    assert np.abs(out.astype(int) - tor).max() <= torch_tolerance, type(t).__name__
    return out


def pil(img: np.ndarray) -> Image.Image:
    return Image.fromarray(img[..., 0] if img.shape[2] == 1 else img)


def back(im: Image.Image, channels: int) -> np.ndarray:
    return np.asarray(im).reshape(im.size[1], im.size[0], channels)


@pytest.mark.parametrize("grey", [False, True])
def test_level_ops_equal_pillow_exactly(grey):
    for img in photos():
        img = img[..., :1].copy() if grey else img
        c = img.shape[2]
        for t in (0, 1, 77, 128, 200, 255):
            assert np.array_equal(run(A.Solarize(t / 255), img), back(ImageOps.solarize(pil(img), t), c))
        for bits in range(1, 9):
            assert np.array_equal(run(A.Posterize(bits), img), back(ImageOps.posterize(pil(img), bits), c))
        assert np.array_equal(run(A.Equalize(), img), back(ImageOps.equalize(pil(img)), c))
        assert np.array_equal(run(A.AutoContrast(), img), back(ImageOps.autocontrast(pil(img)), c))
        assert np.array_equal(run(A.Invert(), img), back(ImageOps.invert(pil(img)), c))


def test_composed_tables_equal_the_ops_one_after_another():
    img = photos()[2]
    pipe = A.Compose([A.Posterize(5), A.Equalize(), A.Solarize(0.6), A.AutoContrast()], seeds=Seeds(0))
    expected = ImageOps.autocontrast(ImageOps.solarize(ImageOps.equalize(ImageOps.posterize(pil(img), 5)), 153))
    assert len(pipe._stages) == 1  # one lookup table, one pass
    assert np.array_equal(pipe(img, indices=0), back(expected, 3))


def test_grayscale_is_pillows_luma_within_one_level():
    for img in photos():
        ours = run(A.Grayscale(), img, torch_tolerance=1)
        assert np.array_equal(ours[..., 0], ours[..., 1]) and np.array_equal(ours[..., 0], ours[..., 2])
        ref = np.asarray(pil(img).convert("L")).astype(int)
        assert np.abs(ours[..., 0].astype(int) - ref).max() <= 1
    grey = photos()[0][..., :1].copy()
    assert np.array_equal(run(A.Grayscale(), grey), grey)  # one channel: already grey


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0, 1.7, 2.0])
def test_sharpness_is_pillows_within_the_stated_tolerance(factor):
    for img in photos():
        ours = A.Sharpness(factor)(img, indices=0, seeds=Seeds(0)).astype(int)
        ref = np.asarray(ImageEnhance.Sharpness(pil(img)).enhance(factor)).astype(int)
        diff = np.abs(ours - ref)
        assert diff.max() <= 1 and diff.mean() < 0.5, (factor, diff.max(), diff.mean())
        assert np.array_equal(ours[0], img[0]) and np.array_equal(ours[:, -1], img[:, -1])  # border kept
    if factor == 1.0:
        assert np.array_equal(ours, img)


def test_ops_equal_albumentations_where_it_has_them():
    for img in photos():
        for t in (0.37, 0.5, 0.81):  # thresholds between levels (albumentations compares v >= t * 255)
            ref = alb.Solarize(threshold_range=(t, t), p=1.0)(image=img)["image"]
            assert np.array_equal(run(A.Solarize(t), img), ref)
        for bits in range(1, 8):
            assert np.array_equal(run(A.Posterize(bits), img), alb.Posterize(num_bits=bits, p=1.0)(image=img)["image"])
        assert np.array_equal(run(A.Invert(), img), alb.InvertImg(p=1.0)(image=img)["image"])
        # even margins (torchvision rounds an odd margin's half to even, albumentations down)
        assert np.array_equal(run(A.CenterCrop((21, 31)), img), alb.CenterCrop(21, 31, p=1.0)(image=img)["image"])
        padded = alb.Pad(padding=(3, 1, 2, 4), fill=0, p=1.0)(image=img)["image"]
        assert np.array_equal(run(A.Pad((3, 1, 2, 4)), img), padded)
        grey = alb.ToGray(num_output_channels=3, method="weighted_average", p=1.0)(image=img)["image"]
        assert np.abs(run(A.Grayscale(), img, torch_tolerance=1).astype(int) - grey).max() <= 1


def test_shear_equals_albumentations_affine_with_the_opposite_angle():
    """Same bilinear warp about the same centre; albumentations counts the angle the other way."""
    import cv2

    for img in photos()[:3]:
        for sx, sy in ((12.0, 0.0), (0.0, -9.0), (7.5, 4.0)):
            ref = alb.Affine(
                shear={"x": (-sx, -sx), "y": (-sy, -sy)},
                interpolation=cv2.INTER_LINEAR,
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                p=1.0,
            )(image=img)["image"]
            ours = A.Shear((sx, sx), (sy, sy))(img, indices=0, seeds=Seeds(0))
            assert np.array_equal(ours, ref), (sx, sy)


def test_resize_is_opencvs_within_one_level():
    import cv2

    for img in photos():
        for size in ((20, 30), (60, 71), (37, 45)):
            ours = A.Resize(size)(img, indices=0, seeds=Seeds(0)).astype(int)
            ref = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_LINEAR).astype(int)
            assert ours.shape == ref.shape
            assert np.abs(ours - ref).max() <= 1
        assert np.array_equal(A.Resize(img.shape[:2])(img, indices=0, seeds=Seeds(0)), img)  # same size: a copy


def test_normalize_is_torchvisions_arithmetic_on_both_paths():
    img = photos()[0]
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    expected = (torch.from_numpy(img).permute(2, 0, 1).float().div(255) - torch.tensor(mean)[:, None, None]) / (
        torch.tensor(std)[:, None, None]
    )
    for output, get in (("tensor", lambda o: o), ("array", lambda o: torch.from_numpy(o).permute(2, 0, 1))):
        n = A.Normalize(mean, std, output=output)
        assert torch.equal(get(n(img, indices=0, seeds=Seeds(0))), expected)
        assert torch.equal(get(n(torch.from_numpy(img).permute(2, 0, 1), indices=0, seeds=Seeds(0))), expected)
    ref = alb.Normalize(mean=mean, std=std, max_pixel_value=255.0, p=1.0)(image=img)["image"]
    assert np.abs(A.Normalize(mean, std)(img, indices=0, seeds=Seeds(0)) - ref).max() < 1e-5
    assert torch.equal(
        A.ToFloat(output="tensor")(img, indices=0, seeds=Seeds(0)), torch.from_numpy(img).permute(2, 0, 1).float() / 255
    )
