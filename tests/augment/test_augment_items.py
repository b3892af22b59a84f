"""Dict items (Hugging Face style) and tuples with more than two fields work with augment=
(issue 13): the image field is augmented, every other field passes through, and MixUp /
CutMix mix the named label field."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import seedwise as sw
from seedwise import Seeds
from seedwise import augment as A
from seedwise.data import DataLoader
from seedwise.errors import InvalidArgumentError, InvalidTypeError

pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")


def picture(i: int) -> np.ndarray:
    return ((np.arange(10 * 12 * 3).reshape(10, 12, 3) * 5 + 11 * i) % 256).astype(np.uint8)


class HuggingFaceStyle(torch.utils.data.Dataset):
    """Items as a Hugging Face image dataset gives them after set_format("torch")."""

    def __len__(self) -> int:
        return 16

    def __getitem__(self, i: int) -> dict:
        return {"pixel_values": torch.from_numpy(picture(i)).permute(2, 0, 1), "label": i % 4, "id": f"img-{i}"}


class Triples(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 16

    def __getitem__(self, i: int) -> tuple:
        return picture(i), i % 4, {"weight": float(i)}


def pipe(mix: bool = False) -> A.Compose:
    transforms = [A.HorizontalFlip(), A.Affine(degrees=10, translate=0.1), A.ColorJitter(0.3, 0.3)]
    return A.Compose(transforms + ([A.CutMix(1.0)] if mix else []), seeds=Seeds(7)["augment"])


def test_hugging_face_dict_items_through_the_loader():
    seeds = sw.Seeds(3)
    loader = DataLoader(HuggingFaceStyle(), batch_size=5, shuffle=True, seeds=seeds, augment=pipe(), num_workers=0)
    loader.set_epoch(2)
    order = []
    for batch in loader:
        assert set(batch) == {"pixel_values", "label", "id"}
        ids = [int(s.split("-")[1]) for s in batch["id"]]
        order += ids
        assert torch.equal(batch["label"], torch.tensor([i % 4 for i in ids]))
        for k, i in enumerate(ids):
            expected = pipe()(torch.from_numpy(picture(i)).permute(2, 0, 1), indices=i, epoch=2)
            assert torch.equal(batch["pixel_values"][k], expected)
    assert sorted(order) == list(range(16))


def test_dict_items_with_mixing_mix_the_label_field():
    ds = A.AugmentedDataset(HuggingFaceStyle(), pipe(mix=True), num_classes=4)
    item = ds[(1, 5)]
    assert set(item) == {"pixel_values", "label", "id"} and item["id"] == "img-5"
    params = ds.pipe.sample(indices=5, epoch=1, dataset_size=16)["CutMix"]
    j = int(params["partner"][0])
    lam = float(A.CutMix(1.0).box(params, (10, 12))[4][0])
    expected = np.zeros(4, dtype=np.float32)
    expected[5 % 4] += lam
    expected[j % 4] += 1 - lam
    assert isinstance(item["label"], torch.Tensor) and torch.allclose(item["label"], torch.from_numpy(expected))


def test_tuples_with_more_fields_keep_them_and_mix_the_label():
    ds = A.AugmentedDataset(Triples(), pipe())
    image, label, extra = ds[(0, 3)]
    assert np.array_equal(image, pipe()(picture(3), indices=3)) and label == 3 and extra == {"weight": 3.0}
    batch = ds.__getitems__([(0, 3), (0, 9), (0, 0)])
    assert [b[1] for b in batch] == [3, 1, 0] and batch[1][2] == {"weight": 9.0}
    assert np.array_equal(batch[0][0], image)
    mixed = A.AugmentedDataset(Triples(), pipe(mix=True), num_classes=4)[(0, 3)]
    assert len(mixed) == 3 and mixed[1].shape == (4,) and mixed[2] == {"weight": 3.0}
    loader = DataLoader(Triples(), batch_size=4, seeds=sw.Seeds(1), augment=pipe(mix=True), num_classes=4)
    x, y, extra = next(iter(loader))
    assert x.shape == (4, 10, 12, 3) and y.shape == (4, 4) and torch.equal(extra["weight"], torch.arange(4.0).double())


def test_named_fields_and_pil_images():
    class Custom:
        def __len__(self) -> int:
            return 8

        def __getitem__(self, i: int) -> dict:
            return {"photo": Image.fromarray(picture(i)), "y": i % 2, "grey": Image.fromarray(picture(i)[..., 0])}

    ds = A.AugmentedDataset(Custom(), pipe(mix=True), num_classes=2, image_key="photo", label_key="y")
    item = ds[(0, 4)]
    assert isinstance(item["photo"], np.ndarray) and item["photo"].shape == (10, 12, 3)
    assert item["y"].shape == (2,) and isinstance(item["grey"], Image.Image)
    grey = A.AugmentedDataset(Custom(), pipe(), image_key="grey", label_key="y")[(0, 4)]["grey"]
    assert grey.shape == (10, 12, 1)
    assert "image_key='photo'" in repr(ds)
    by_position = A.AugmentedDataset(Triples(), pipe(), image_key=0, label_key=1)[(0, 2)]
    assert by_position[1] == 2


def test_unclear_items_raise_errors_that_say_what_to_pass():
    class NoImageKey:
        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int) -> dict:
            return {"x": picture(i), "y": 1}

    with pytest.raises(InvalidArgumentError, match=r"keys \['x', 'y'\], none of them an image key.*image_key="):
        A.AugmentedDataset(NoImageKey(), pipe())[0]
    with pytest.raises(InvalidArgumentError, match="without label_key='label'"):
        A.AugmentedDataset(NoImageKey(), pipe(), image_key="x", label_key="label")[0]
    with pytest.raises(InvalidArgumentError, match="needs labels.*label_key="):
        A.AugmentedDataset(NoImageKey(), pipe(mix=True), num_classes=2, image_key="x")[0]
    with pytest.raises(InvalidArgumentError, match="is a tuple position, but dataset items are dicts"):
        A.AugmentedDataset(NoImageKey(), pipe(), image_key=0)[0]
    with pytest.raises(InvalidArgumentError, match="is a dict key, but dataset items are tuples"):
        A.AugmentedDataset(Triples(), pipe(), image_key="image")[0]
    with pytest.raises(InvalidArgumentError, match="out of range for dataset items of 3 fields"):
        A.AugmentedDataset(Triples(), pipe(), label_key=3)[0]
    with pytest.raises(InvalidTypeError, match="image_key must be a dict key"):
        A.AugmentedDataset(Triples(), pipe(), image_key=1.5)
    ok = A.AugmentedDataset(NoImageKey(), pipe(), image_key="x")[1]
    assert ok["y"] == 1  # found by default as no label key: y passes through
