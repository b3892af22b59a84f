"""Geometric correctness on images with known content, on both backends."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seedwise import Seeds
from seedwise import augment as A

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def gradient(h: int = 20, w: int = 30) -> np.ndarray:
    """Channel 0 grows with x, channel 1 with y, channel 2 with both: every pixel differs."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 8, y * 12, (x * 3 + y * 5) % 256], axis=-1).astype(np.uint8)


def pattern(n: int = 16) -> np.ndarray:
    """An asymmetric pattern: no flip or rotation maps it onto itself."""
    img = np.zeros((n, n, 3), dtype=np.uint8)
    img[2:5, 1:12] = (255, 0, 0)  # a bar near the top
    img[6:14, 10:13] = (0, 255, 0)  # a bar on the right
    img[12, 2] = (0, 0, 255)  # a dot bottom-left
    img += np.arange(n, dtype=np.uint8)[:, None, None]  # and a vertical ramp
    return img


def to_torch(img: np.ndarray, dtype=torch.uint8) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]
    return t if dtype == torch.uint8 else t.to(dtype) / 255.0


def from_torch(t: torch.Tensor) -> np.ndarray:
    if t.dtype != torch.uint8:
        t = (t * 255.0).round().to(torch.uint8)
    return t[0].permute(1, 2, 0).numpy()


def both(pipe: A.Compose, img: np.ndarray, index: int = 0):
    """Outputs of the CPU path, the torch uint8 path and the torch float32 path."""
    yield "cpu", pipe(img, indices=index)
    yield "torch-uint8", from_torch(pipe(to_torch(img), indices=[index]))
    yield "torch-float32", from_torch(pipe(to_torch(img, torch.float32), indices=[index]))


@pytest.mark.parametrize(
    "cls, expected", [(A.HorizontalFlip, lambda a: a[:, ::-1]), (A.VerticalFlip, lambda a: a[::-1])]
)
def test_flips_mirror_a_gradient_exactly(cls, expected):
    img = gradient()
    pipe = A.Compose([cls(p=1.0)], seeds=Seeds(0))
    for name, out in both(pipe, img):
        assert np.array_equal(out, expected(img)), name


@pytest.mark.parametrize("angle, k", [(90, 1), (-90, -1), (180, 2)])
def test_quarter_turns_equal_rot90(angle, k):
    img = pattern()
    pipe = A.Compose([A.Rotate((angle, angle))], seeds=Seeds(0))
    for name, out in both(pipe, img):
        assert np.array_equal(out, np.rot90(img, k)), name


def test_flip_then_quarter_turn_fuse_into_one_exact_map():
    img = pattern()
    pipe = A.Compose([A.HorizontalFlip(p=1.0), A.Rotate((90, 90)), A.VerticalFlip(p=1.0)], seeds=Seeds(0))
    expected = np.rot90(img[:, ::-1], 1)[::-1]
    for name, out in both(pipe, img):
        assert np.array_equal(out, expected), name


def test_random_crop_takes_the_window_its_box_names():
    img = gradient(24, 32)
    crop = A.RandomCrop((10, 12), padding=3)
    pipe = A.Compose({"crop": crop}, seeds=Seeds(1))
    idx = np.arange(40)
    params = pipe.sample(indices=idx)["crop"]
    top, left, h, w = crop.box(params, (24, 32))
    assert (h, w) == (10, 12)
    assert top.min() >= -3 and top.max() <= 24 + 3 - 10 and left.min() >= -3 and left.max() <= 32 + 3 - 12
    padded = np.pad(img, ((3, 3), (3, 3), (0, 0)))
    batch = np.repeat(img[None], len(idx), axis=0)
    cpu = pipe(batch, indices=idx)
    tor = pipe(torch.from_numpy(batch).permute(0, 3, 1, 2), indices=idx).permute(0, 2, 3, 1).numpy()
    for i in range(len(idx)):
        window = padded[top[i] + 3 : top[i] + 3 + 10, left[i] + 3 : left[i] + 3 + 12]
        assert np.array_equal(cpu[i], window)
        assert np.array_equal(tor[i], window)
    assert len({(int(t), int(x)) for t, x in zip(top, left)}) > 10  # the windows do move


def test_random_resized_crop_of_its_full_box_size_is_a_copy():
    img = gradient(24, 32)
    rrc = A.RandomResizedCrop((6, 8), scale=(0.05, 0.2))
    pipe = A.Compose({"rrc": rrc}, seeds=Seeds(2))
    params = pipe.sample(indices=np.arange(30))["rrc"]
    top, left, h, w = rrc.box(params, (24, 32))
    assert np.all(top >= 0) and np.all(top + h <= 24) and np.all(left >= 0) and np.all(left + w <= 32)
    area = h * w / (24 * 32)
    assert np.all(area > 0.03) and np.all(area < 0.25)
    # where the box already has the output size the crop is an exact copy
    same = np.flatnonzero((h == 6) & (w == 8))
    out = pipe(np.repeat(img[None], 30, axis=0), indices=np.arange(30))
    for i in same:
        assert np.array_equal(out[i], img[top[i] : top[i] + 6, left[i] : left[i] + 8])


def test_pure_translation_moves_content_by_the_drawn_shift():
    img = np.zeros((40, 40, 3), dtype=np.uint8)
    img[18:22, 18:22] = 200
    aff = A.Affine(translate=0.2)
    pipe = A.Compose({"aff": aff}, seeds=Seeds(3))
    params = pipe.sample(indices=np.arange(8))["aff"]
    out = pipe(np.repeat(img[None], 8, axis=0), indices=np.arange(8))
    for i in range(8):
        ys, xs = np.nonzero(out[i, :, :, 0] > 100)
        assert abs(xs.mean() - (19.5 + params["translate_x"][i] * 40)) < 0.6
        assert abs(ys.mean() - (19.5 + params["translate_y"][i] * 40)) < 0.6


def test_fill_colours_pixels_from_outside():
    img = np.full((10, 10, 3), 100, dtype=np.uint8)
    pipe = A.Compose([A.Affine(scale=0.5, fill=1.0)], seeds=Seeds(0))
    for name, out in both(pipe, img):
        assert out[0, 0].tolist() == [255, 255, 255], name
        assert out[5, 5].tolist() == [100, 100, 100], name


def test_a_transform_can_run_alone_with_its_own_stream():
    img = gradient()
    assert np.array_equal(A.HorizontalFlip(p=1.0)(img, indices=0, seeds=Seeds(0)), img[:, ::-1])
    rot = A.Rotate(20)
    out = rot(np.stack([img, img]), indices=[4, 5], epoch=1, seeds=Seeds(3))
    params = rot.sample([4, 5], 1, seeds=Seeds(3))
    same = A.Compose([A.Rotate((params["angle"][1],) * 2)], seeds=Seeds(0))(img, indices=5)
    assert np.array_equal(out[1], same)


def test_per_image_maps_equal_the_vectorised_maps():
    """The CPU path's scalar forms (matrix_one / affine_one) agree with the batched forms."""
    from seedwise.augment.color import ColorJitter

    pipe = A.Compose(
        {
            "h": A.HorizontalFlip(),
            "v": A.VerticalFlip(),
            "aff": A.Affine(30, 0.2, (0.5, 1.5), (-10, 10, -5, 5), p=0.7),
            "crop": A.RandomResizedCrop(16),
            "pad": A.RandomCrop(12, padding=3),
            "cj": ColorJitter(0.5, 0.5, 0.5, 0.3, p=0.6),
        },
        seeds=Seeds(12),
    )
    params = pipe.sample(indices=np.arange(40), epoch=2)
    mean = Seeds(0)["mean"].numpy().random((40, 3))
    for name, (_, leaf) in zip(params, pipe.items):
        p = params[name]
        rows = [{k: v[i].item() for k, v in p.items()} for i in range(40)]
        if name == "cj":
            vec = leaf.affine(p, mean)
            for i in range(40):
                assert np.allclose(leaf.affine_one(rows[i], mean[i].tolist()), vec[i], rtol=0, atol=1e-12)
            continue
        vec, size = leaf.matrices(p, (20, 24))
        for i in range(40):
            one, size_one = leaf.matrix_one(rows[i], (20, 24))
            assert size_one == size
            assert np.allclose(np.array(one).reshape(2, 3), vec[i, :2], rtol=0, atol=1e-9), name
