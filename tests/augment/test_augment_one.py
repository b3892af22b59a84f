"""The per-image path (seedwise.augment._one): the same pixels as the general path, for every pipeline it takes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedwise import Seeds
from seedwise import augment as A
from seedwise.augment.base import has_params_one
from seedwise.augment.color import ColorJitter
from seedwise.errors import InvalidArgumentError


def _images(n: int, channels: int, size: tuple[int, int] = (37, 52)) -> np.ndarray:
    rng = Seeds(5)["one-path-images"].numpy()
    return rng.integers(0, 256, size=(n, *size, channels), dtype=np.uint8)


PIPELINES = {
    "flip-affine-jitter": lambda: [
        A.HorizontalFlip(0.5),
        A.Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
        A.ColorJitter(0.2, 0.2, 0.2, 0.05),
    ],
    "rotate-shear-vflip": lambda: [A.Rotate(30, p=0.7), A.Shear(10, 5, p=0.5), A.VerticalFlip(0.5)],
    "sizing-then-colour": lambda: [
        A.Resize((31, 40)),
        A.CenterCrop(24),
        A.Pad(3, fill=0.5),
        A.ColorJitter(brightness=0.3),
    ],
    "grey-invert-between-warps": lambda: [
        A.Affine(degrees=5, p=0.5, fill=0.25),
        A.RandomGrayscale(0.5),
        A.Invert(p=0.5),
        A.HorizontalFlip(0.5),
        A.ColorJitter(contrast=0.4, p=0.5),
    ],
    # a contrast change alone: the batch finishes its map per image from the mean (affine_split)
    "brightness-contrast": lambda: [A.ColorJitter(0.3, 0.4, p=0.7)],
    # a contrast change fused with another colour op: the batch composes per image (map_one)
    "contrast-then-invert": lambda: [A.ColorJitter(0.2, 0.4, 0.3, p=0.7), A.Invert(p=0.5)],
    "never-and-always": lambda: [A.HorizontalFlip(0.0), A.Affine(degrees=10, p=1.0), A.ColorJitter(0.1, p=0.0)],
}


@pytest.mark.parametrize("name", list(PIPELINES))
@pytest.mark.parametrize("channels", [3, 1])
def test_one_image_gives_the_pixels_of_the_general_path(name, channels):
    pipe = A.Compose(PIPELINES[name](), seeds=Seeds(9)["augment"])
    assert pipe._one is not None
    images = _images(24, channels)
    for epoch in (0, 7):
        for i, image in enumerate(images):
            one = pipe(image, indices=i, epoch=epoch)
            general = pipe(image[None], indices=np.array([i]), epoch=epoch)[0]  # the batch path, one row
            assert one.dtype == np.uint8 and one.shape == general.shape
            assert np.array_equal(one, general), (name, epoch, i)
        batch = pipe(images, indices=np.arange(len(images)), epoch=epoch)
        assert np.array_equal(np.stack([pipe(im, indices=i, epoch=epoch) for i, im in enumerate(images)]), batch)


def test_the_input_is_left_alone():
    pipe = A.Compose(PIPELINES["flip-affine-jitter"](), seeds=Seeds(1))
    image = _images(1, 3)[0]
    before = image.copy()
    for i in range(10):
        pipe(image, indices=i)
    assert np.array_equal(image, before)


@pytest.mark.parametrize(
    "items",
    [
        [A.RandomCrop(16)],  # a scalar form not written: the general path
        [A.HorizontalFlip(0.5), A.GaussianBlur(p=0.5)],  # a pixel transform
        [A.OneOf([A.HorizontalFlip(), A.VerticalFlip()])],  # a container
        [A.Solarize(p=0.5)],  # a lookup table
        [A.HorizontalFlip(0.5), A.Normalize((0.5,) * 3, (0.2,) * 3)],  # a conversion
    ],
)
def test_other_pipelines_take_the_general_path(items):
    pipe = A.Compose(items, seeds=Seeds(2))
    assert pipe._one is None
    pipe(_images(1, 3, (20, 20))[0], indices=3)  # and still run


def test_inputs_it_does_not_take_go_the_general_way_and_fail_there():
    pipe = A.Compose(PIPELINES["flip-affine-jitter"](), seeds=Seeds(3))
    assert not pipe._one.accepts(np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(InvalidArgumentError, match="1 or 3"):
        pipe(np.zeros((8, 8, 4), np.uint8), indices=0)
    with pytest.raises(InvalidArgumentError, match="at least one pixel"):
        pipe(np.zeros((0, 8, 3), np.uint8), indices=0)
    with pytest.raises(InvalidArgumentError, match=">= 0"):
        pipe(np.zeros((8, 8, 3), np.uint8), indices=0, epoch=-1)


class _Brighter(ColorJitter):
    """A subclass that changes the mapping but not its scalar form."""

    def _from_uniforms(self, u, applied, *, indices, dataset_size):
        params = super()._from_uniforms(u, applied, indices=indices, dataset_size=dataset_size)
        params["brightness"] = params["brightness"] * 2
        return params


def test_a_scalar_form_counts_only_where_it_matches_the_mapping():
    assert has_params_one(A.Affine(degrees=3)) and has_params_one(A.HorizontalFlip()) and has_params_one(A.Resize(4))
    assert not has_params_one(_Brighter(0.2))
    assert not has_params_one(A.RandomResizedCrop(8))
    assert A.Compose([_Brighter(0.2)], seeds=Seeds(0))._one is None


LEAVES = [
    A.Affine(degrees=(-20, 35), translate=(0.1, 0.3), scale=(0.5, 1.5), shear=(-5, 5, 2, 9)),
    A.Rotate((-90, 45)),
    A.Shear((-10, 20), (3, 4)),
    A.ColorJitter(0.4, (0.5, 1.5), 0.1, 0.5),
    A.HorizontalFlip(),
    A.Grayscale(),
]


@settings(max_examples=40, deadline=None)
@given(u=st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=6, max_size=6), applied=st.booleans())
def test_scalar_params_are_the_mappings_bits(u, applied):
    for leaf in LEAVES:
        k = len(leaf.param_names)
        batch = leaf._from_uniforms(np.array([u[:k]]), np.array([applied]), indices=np.zeros(1, np.uint64),
                                    dataset_size=None)  # fmt: skip
        one = leaf._params_one(u[:k], applied)
        assert set(one) == set(batch)
        for key, value in batch.items():
            assert one[key] == value.tolist()[0] and type(one[key]) is type(value.tolist()[0]), (leaf, key)


class _MeanShift(A.Transform):
    """A colour transform written as docs/augment.md describes one: no affine_split."""

    kind = "color"
    needs_mean = True
    mixes_channels = False
    param_names = ("k",)

    def _from_uniforms(self, u, applied, *, indices, dataset_size):
        return {"applied": applied, "k": u[:, 0]}

    def affine(self, params, mean):
        n, c = mean.shape
        out = np.zeros((n, c, c + 1))
        out[:, range(c), range(c)] = 1.0
        out[:, :, c] = np.where(params["applied"], 0.5 * params["k"], 0.0)[:, None] * (0.5 - mean)
        return out

    def affine_one(self, p, mean):
        return self.affine({k: np.array([v]) for k, v in p.items()}, np.array([mean]))[0].tolist()


class _ContrastAboutMid(A.ColorJitter):
    """Contrast about mid-grey rather than the mean: its own map, so ColorJitter's split is not it."""

    def affine(self, params, mean):
        return super().affine(params, np.full_like(mean, 0.5))

    def affine_one(self, p, mean):
        return super().affine_one(p, [0.5] * len(mean))


@pytest.mark.parametrize("item", [_MeanShift(), _ContrastAboutMid(contrast=0.8)], ids=["custom", "subclass"])
def test_a_colour_transform_without_a_split_of_its_own_gets_its_own_map_in_a_batch(item):
    pipe = A.Compose([item], seeds=Seeds(0)["augment"])
    x = np.random.default_rng(0).integers(0, 60, (4, 16, 16, 3), dtype=np.uint8)
    batch = pipe(x, indices=np.arange(4))
    assert np.array_equal(batch, np.stack([pipe(x[i : i + 1], indices=[i])[0] for i in range(4)]))
    assert not np.array_equal(batch, x)
    if isinstance(item, ColorJitter):
        assert item.affine_split({"applied": np.ones(1, dtype=bool)}, 3) is None
