"""The per-image (Python float) and per-batch (NumPy) forms of every map agree bit for bit,
which is what gives a sample the same pixels in any batch on the CPU path."""

from __future__ import annotations

import numpy as np
import pytest

from seedwise import Seeds
from seedwise import augment as A
from seedwise.augment import _maps


def _same(a, b) -> bool:
    """Equal to the bit, except that 0.0 and -0.0 count as equal (no pixel can tell them apart)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def _bits(a, b) -> bool:
    return np.array_equal(
        np.asarray(a, dtype=np.float64).view(np.uint64), np.asarray(b, dtype=np.float64).view(np.uint64)
    )


def geometric_pipe() -> A.Compose:
    return A.Compose(
        {
            "h": A.HorizontalFlip(),
            "v": A.VerticalFlip(),
            "aff": A.Affine(30, 0.2, (0.5, 1.5), (-10, 10, -5, 5), p=0.7),
            "rot": A.Rotate(180, p=0.5),
            "crop": A.RandomResizedCrop(16),
            "pad": A.RandomCrop(12, padding=3),
        },
        seeds=Seeds(12),
    )


def colour_pipe() -> A.Compose:
    return A.Compose(
        {"cj": A.ColorJitter(0.5, 0.5, 0.5, 0.3, p=0.6), "b": A.ColorJitter(brightness=0.4, contrast=(0.2, 1.8))},
        seeds=Seeds(13),
    )


def test_geometric_maps_per_image_equal_per_batch():
    pipe = geometric_pipe()
    params = pipe.sample(indices=np.arange(64), epoch=2)
    for name, leaf in pipe.items:
        p = params[name]
        vec, size = leaf.matrices(p, (20, 24))
        for i in range(64):
            one, size_one = leaf.matrix_one({k: v[i].item() for k, v in p.items()}, (20, 24))
            assert size_one == size
            assert _same(np.array(one).reshape(2, 3), vec[i, :2]), (name, i)


def test_colour_maps_per_image_equal_per_batch():
    pipe = colour_pipe()
    params = pipe.sample(indices=np.arange(64), epoch=1)
    mean = Seeds(0)["mean"].numpy().random((64, 3))
    for name, leaf in pipe.items:
        p = params[name]
        vec = leaf.affine(p, mean)
        for i in range(64):
            one = leaf.affine_one({k: v[i].item() for k, v in p.items()}, mean[i].tolist())
            assert _same(one, vec[i]), (name, i)
    grey = colour_pipe().items[0][1].affine(params["cj"], mean[:, :1])
    assert grey.shape == (64, 1, 2)


@pytest.mark.parametrize("channels", [3, 1])
def test_a_split_colour_map_finished_from_the_luma_is_affine_one_to_the_bit(channels):
    """What the batched CPU path computes per image from a split map (affine_split), with
    the per-image code's operations, gives affine_one's map (the offset column in levels)."""
    pipe = colour_pipe()
    params = pipe.sample(indices=np.arange(64), epoch=3)
    mean = Seeds(3)["mean"].numpy().random((64, channels))
    w0, w1, w2 = A.color.GREY_WEIGHTS.tolist()
    for name, leaf in pipe.items:
        p = params[name]
        assert not p["applied"].all() or name == "b"
        maps, scale = leaf.affine_split(p, channels)
        for i in range(64):
            m = mean[i].tolist()
            luma = w0 * m[0] + w1 * m[1] + w2 * m[2] if channels == 3 else m[0]
            offset = scale[i] * luma
            finished = [[*row[:channels], row[channels] * offset] for row in maps[i].tolist()]
            one = leaf.affine_one({k: v[i].item() for k, v in p.items()}, m)
            assert _same(finished, one), (name, i)
    assert A.Invert().affine_split(params["cj"], 3) is None  # needs no mean: no split


def test_composition_per_image_equals_per_batch():
    rng = Seeds(1)["maps"].numpy()
    second, first = rng.normal(size=(50, 3, 3)), rng.normal(size=(50, 3, 3))
    second[:, 2], first[:, 2] = (0, 0, 1), (0, 0, 1)
    batch = _maps.compose_2x3_batch(second, first)
    cs, cf = rng.normal(size=(50, 3, 4)), rng.normal(size=(50, 3, 4))
    colour = _maps.compose_colour_batch(cs, cf)
    mean = rng.random((50, 3))
    after = _maps.mean_after_batch(cs, mean)
    for i in range(50):
        one = _maps.compose_2x3(tuple(second[i, :2].ravel()), tuple(first[i, :2].ravel()))
        assert _bits(np.array(one).reshape(2, 3), batch[i, :2])
        assert _same(_maps.compose_colour_rows(cs[i].tolist(), cf[i].tolist()), colour[i])
        assert _same(_maps.mean_after(cs[i].tolist(), mean[i].tolist()), after[i])


@pytest.mark.parametrize("scale", [1e-3, 1.0, 300.0])
def test_inverse_maps_are_opencvs_to_the_bit(scale):
    import cv2

    m = Seeds(2)["inverse"].numpy().normal(size=(2000, 3, 3)) * scale
    m[:, 2] = (0, 0, 1)
    m[0, :2, :2] = 0.0  # singular: zeros, as OpenCV gives
    batch = _maps.invert_2x3_batch(m)
    for i in range(len(m)):
        ref = cv2.invertAffineTransform(m[i, :2])
        assert _bits(batch[i], ref)
        assert _bits(np.array(_maps.invert_2x3(tuple(m[i, :2].ravel()))).reshape(2, 3), ref)
