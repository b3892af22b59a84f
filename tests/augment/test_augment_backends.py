"""The two backends: batch-size invariance (bit for bit), agreement up to interpolation,
types and layouts, and no global RNG touched."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from seedwise import Seeds
from seedwise import augment as A

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def full_pipe(seed: int = 11) -> A.Compose:
    """Every per-sample transform, with p < 1 where it has one."""
    return A.Compose(
        {
            "crop": A.RandomResizedCrop((36, 44), scale=(0.3, 1.0)),
            "flip": A.HorizontalFlip(),
            "vflip": A.VerticalFlip(0.3),
            "affine": A.Affine(degrees=20, translate=0.1, scale=(0.8, 1.2), shear=8, p=0.8),
            "jitter": A.ColorJitter(0.3, 0.3, 0.3, 0.1, p=0.8),
            "blur": A.GaussianBlur(5, (0.5, 1.5), p=0.5),
            "noise": A.GaussianNoise((0.01, 0.04), p=0.5),
            "erase": A.RandomErasing(p=0.5, value="random"),
            "one": A.OneOf([A.Rotate(10), A.ColorJitter(brightness=0.4)], p=0.7),
            "pad_crop": A.RandomCrop(32, padding=2),
        },
        seeds=Seeds(seed)["augment"],
    )


def smooth_images(n: int, h: int = 48, w: int = 56) -> np.ndarray:
    """Smooth content (interpolation differences stay small on it), fixed by a seeded generator."""
    import cv2

    rng = Seeds(0)["test-images"].numpy()
    small = rng.integers(0, 256, size=(n, 6, 7, 3), dtype=np.uint8)
    return np.stack([cv2.resize(s, (w, h), interpolation=cv2.INTER_LINEAR) for s in small])


IMAGES = smooth_images(32)
INDICES = np.arange(1000, 1032)[::-1].copy()


@pytest.mark.parametrize("batch", [1, 7, 32])
def test_cpu_output_is_identical_however_samples_are_grouped(batch):
    pipe = full_pipe()
    whole = pipe(IMAGES, indices=INDICES, epoch=4)
    for s in range(0, 32, batch):
        part = pipe(IMAGES[s : s + batch], indices=INDICES[s : s + batch], epoch=4)
        assert np.array_equal(part, whole[s : s + batch])
    if batch == 1:
        assert np.array_equal(pipe(IMAGES[5], indices=int(INDICES[5]), epoch=4), whole[5])


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("batch", [1, 7, 32])
def test_torch_output_is_identical_however_samples_are_grouped(batch, dtype):
    pipe = full_pipe()
    x = torch.from_numpy(IMAGES).permute(0, 3, 1, 2).contiguous()
    if dtype == torch.float32:
        x = x.float() / 255.0
    idx = torch.from_numpy(INDICES)
    whole = pipe(x, indices=idx, epoch=4)
    for s in range(0, 32, batch):
        part = pipe(x[s : s + batch], indices=idx[s : s + batch], epoch=4)
        assert torch.equal(part, whole[s : s + batch])
    if batch == 1:
        assert torch.equal(pipe(x[5], indices=int(INDICES[5]), epoch=4), whole[5])


def test_cpu_and_torch_differ_only_by_interpolation():
    pipe = full_pipe()
    cpu = pipe(IMAGES, indices=INDICES, epoch=4).astype(np.int64)
    x = torch.from_numpy(IMAGES).permute(0, 3, 1, 2).contiguous()
    for t in (pipe(x, indices=INDICES, epoch=4), (pipe(x.float() / 255, indices=INDICES, epoch=4) * 255).round()):
        tor = t.permute(0, 2, 3, 1).numpy().astype(np.int64)
        diff = np.abs(cpu - tor)
        assert diff.mean() < 0.5, diff.mean()
        assert np.percentile(diff, 99) <= 2
        assert diff.max() <= 8
    # and the two are not trivially equal to the input: something happened
    assert cpu.shape == (32, 32, 32, 3)


def test_output_keeps_type_dtype_and_layout():
    pipe = A.Compose([A.Affine(degrees=10), A.ColorJitter(0.2, 0.2, 0.2, 0.05)], seeds=Seeds(1))
    out = pipe(IMAGES[:3], indices=[0, 1, 2])
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == IMAGES[:3].shape
    one = pipe(IMAGES[0], indices=0)
    assert one.shape == IMAGES[0].shape
    x = torch.from_numpy(IMAGES[:3]).permute(0, 3, 1, 2)
    for t in (x, x.float() / 255, x.double() / 255):
        out = pipe(t, indices=[0, 1, 2])
        assert out.dtype == t.dtype and out.shape == t.shape
    grey = IMAGES[:2, :, :, :1].copy()
    assert pipe(grey, indices=[0, 1]).shape == grey.shape
    assert pipe(torch.from_numpy(grey).permute(0, 3, 1, 2), indices=[0, 1]).shape == (2, 1, 48, 56)


def test_augmentation_leaves_the_global_rngs_alone():
    before = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone())
    pipe = full_pipe()
    pipe(IMAGES[:4], indices=[0, 1, 2, 3])
    pipe(torch.from_numpy(IMAGES[:4]).permute(0, 3, 1, 2), indices=[0, 1, 2, 3])
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert torch.equal(torch.get_rng_state(), before[2])


def test_noise_of_a_sample_does_not_depend_on_its_batch():
    pipe = A.Compose([A.GaussianNoise((0.05, 0.05), p=1.0)], seeds=Seeds(2))
    flat_img = np.full((16, 16, 3), 128, dtype=np.uint8)
    batch = np.repeat(flat_img[None], 6, axis=0)
    out = pipe(batch, indices=np.arange(6))
    alone = pipe(flat_img, indices=3)
    assert np.array_equal(out[3], alone)
    assert not np.array_equal(out[2], out[3])  # different samples, different noise
    assert 5.0 < np.std(out.astype(float) - 128) < 20.0  # std 0.05 * 255 = 12.75


def test_blur_and_colour_match_their_definitions():
    img = IMAGES[0]
    import cv2

    blur = A.Compose({"b": A.GaussianBlur(5, (1.0, 1.0), p=1.0)}, seeds=Seeds(0))
    assert np.array_equal(blur(img, indices=0), cv2.GaussianBlur(img, (5, 5), 1.0, borderType=cv2.BORDER_REFLECT_101))
    bright = A.Compose({"c": A.ColorJitter(brightness=(1.5, 1.5))}, seeds=Seeds(0))
    expected = np.clip(np.rint(img * 1.5), 0, 255).astype(np.uint8)
    assert np.array_equal(bright(img, indices=0), expected)
    grey = A.Compose({"c": A.ColorJitter(saturation=(0.0, 0.0))}, seeds=Seeds(0))(img, indices=0).astype(float)
    luma = img.astype(float) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(grey - luma[..., None]).max() <= 1.0
    muted = (96 + img // 4).astype(np.uint8)  # colours a quarter turn of hue cannot push out of range
    hue = A.Compose({"c": A.ColorJitter(hue=(0.25, 0.25))}, seeds=Seeds(0))(muted, indices=0).astype(float)
    muted_luma = muted.astype(float) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(hue @ np.array([0.299, 0.587, 0.114]) - muted_luma).max() <= 1.0  # a hue shift keeps the luma
    assert np.abs(hue - muted).max() > 10  # and changes the colours


def test_erasing_erases_the_box_it_names():
    er = A.RandomErasing(p=1.0, value=1.0)
    pipe = A.Compose({"e": er}, seeds=Seeds(6))
    img = np.zeros((30, 40, 3), dtype=np.uint8)
    params = pipe.sample(indices=[7])["e"]
    top, left, h, w = er.box(params, (30, 40))
    for out in (pipe(img, indices=7), pipe(torch.from_numpy(img).permute(2, 0, 1), indices=7).permute(1, 2, 0).numpy()):
        mask = np.zeros((30, 40), dtype=bool)
        mask[top[0] : top[0] + h[0], left[0] : left[0] + w[0]] = True
        assert np.all(out[mask] == 255) and np.all(out[~mask] == 0)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_torch_colour_blocks_give_the_same_bits_and_leave_the_input_alone(monkeypatch, dtype):
    from seedwise.augment import torch_backend

    x = torch.from_numpy(IMAGES[:9]).permute(0, 3, 1, 2).contiguous()
    if dtype == torch.float32:
        x = x.float() / 255.0
    before = x.clone()
    outs = []
    monkeypatch.setattr(torch_backend, "_kernel", lambda *args: None)  # the torch-op form, which blocks
    for block_bytes in (1, 3 * 48 * 56 * 4 * 4, 1 << 40):  # one sample a block, four, the whole batch
        monkeypatch.setattr(torch_backend, "_BLOCK_BYTES", block_bytes)
        for pipe in (full_pipe(), A.Compose([A.ColorJitter(0.3, 0.3, 0.3, 0.1)], seeds=Seeds(2)["augment"])):
            outs.append(pipe(x, indices=INDICES[:9], epoch=1))
        assert torch.equal(x, before)  # a colour stage straight on the input writes a new tensor
    for k in range(2):
        assert torch.equal(outs[k], outs[k + 2]) and torch.equal(outs[k], outs[k + 4])
    assert not torch.equal(outs[1], x if dtype == torch.uint8 else x.to(outs[1].dtype))
