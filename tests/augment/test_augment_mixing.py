"""MixUp / CutMix at dataset level, through AugmentedDataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seedwise import Seeds
from seedwise import augment as A
from seedwise.errors import InvalidArgumentError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Images:
    """A map-style dataset of flat-colour images: image i has value 10 * i, label i % 4."""

    def __init__(self, n: int = 12, tensor: bool = False, labelled: bool = True):
        self.n, self.tensor, self.labelled = n, tensor, labelled

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        img = np.full((8, 10, 3), 10 * i, dtype=np.uint8)
        if self.tensor:
            img = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        return (img, i % 4) if self.labelled else img


def test_partner_and_weight_are_a_pure_function_of_epoch_and_index():
    pipe = A.Compose([A.MixUp(0.4)], seeds=Seeds(1)["augment"])
    idx = np.arange(200)
    p = pipe.sample(indices=idx, epoch=3, dataset_size=200)["MixUp"]
    assert not np.any(p["partner"] == idx)
    assert p["partner"].min() >= 0 and p["partner"].max() < 200
    assert len(np.unique(p["partner"])) > 100  # partners spread over the dataset
    for i in (0, 57, 199):
        alone = pipe.sample(indices=i, epoch=3, dataset_size=200)["MixUp"]
        assert alone["partner"][0] == p["partner"][i] and alone["lam"][0] == p["lam"][i]
    other_epoch = pipe.sample(indices=idx, epoch=4, dataset_size=200)["MixUp"]
    assert np.mean(other_epoch["partner"] != p["partner"]) > 0.9


def test_mixup_item_blends_the_sample_with_its_partner_and_the_labels_likewise():
    ds = A.AugmentedDataset(Images(), A.Compose({"mix": A.MixUp(1.0)}, seeds=Seeds(2)), num_classes=4)
    ds.set_epoch(5)
    img, soft = ds[3]
    params = ds.pipe.sample(indices=3, epoch=5, dataset_size=12)["mix"]
    lam, j = params["lam"][0], int(params["partner"][0])
    assert j != 3
    assert np.array_equal(img, np.full((8, 10, 3), np.rint(lam * 30 + (1 - lam) * 10 * j), dtype=np.uint8))
    expected = np.zeros(4, dtype=np.float32)
    expected[3 % 4] += lam
    expected[j % 4] += 1 - lam
    assert soft.dtype == np.float32 and np.allclose(soft, expected, atol=1e-6)
    assert abs(float(soft.sum()) - 1.0) < 1e-6
    # an (epoch, index) key gives the same item whatever the dataset's own epoch
    ds.set_epoch(0)
    img2, soft2 = ds[(5, 3)]
    assert np.array_equal(img2, img) and np.array_equal(soft2, soft)


def test_cutmix_pastes_the_partner_box_and_weights_labels_by_area():
    cut = A.CutMix(1.0)
    ds = A.AugmentedDataset(Images(tensor=True), A.Compose({"cut": cut}, seeds=Seeds(3)), num_classes=4)
    for i in range(12):
        img, soft = ds[(1, i)]
        params = ds.pipe.sample(indices=i, epoch=1, dataset_size=12)["cut"]
        j = int(params["partner"][0])
        top, left, bottom, right, lam = cut.box(params, (8, 10))
        expected = torch.full((3, 8, 10), 10 * i, dtype=torch.uint8)
        expected[:, top[0] : bottom[0], left[0] : right[0]] = 10 * j
        assert torch.equal(img, expected)
        assert isinstance(soft, torch.Tensor) and soft.shape == (4,)
        area = (bottom[0] - top[0]) * (right[0] - left[0]) / 80
        assert abs(float(soft[j % 4]) - (area if i % 4 != j % 4 else 1.0)) < 1e-6
        assert abs(float(lam[0]) - (1 - area)) < 1e-12


def test_transforms_before_mixing_run_on_the_partner_with_its_own_params():
    pipe = A.Compose(
        {"flip": A.HorizontalFlip(0.5), "mix": A.MixUp(0.5), "jitter": A.ColorJitter(brightness=0.3)}, seeds=Seeds(4)
    )

    class Ramp(Images):
        def __getitem__(self, i: int):
            img = np.zeros((6, 8, 3), dtype=np.uint8)
            img[:, :, 0] = np.arange(8) * 20 + i
            return img, i % 4

    data = Ramp(10)
    ds = A.AugmentedDataset(data, pipe, num_classes=4)
    img, _ = ds[(2, 6)]
    params = pipe.sample(indices=6, epoch=2, dataset_size=10)
    j = int(params["mix"]["partner"][0])
    flip_only = A.Compose({"flip": A.HorizontalFlip(0.5)}, seeds=Seeds(4))
    own = flip_only(data[6][0], indices=6, epoch=2).astype(float)
    partner = flip_only(data[j][0], indices=j, epoch=2).astype(float)
    lam = params["mix"]["lam"][0]
    mixed = np.clip(np.rint(lam * own + (1 - lam) * partner), 0, 255).astype(np.uint8)
    jitter_only = A.Compose({"jitter": A.ColorJitter(brightness=0.3)}, seeds=Seeds(4))
    assert np.array_equal(img, jitter_only(mixed, indices=6, epoch=2))


def test_items_do_not_depend_on_access_order():
    ds = A.AugmentedDataset(Images(), A.Compose([A.Affine(degrees=10), A.CutMix()], seeds=Seeds(5)), num_classes=4)
    forward = [ds[(0, i)] for i in range(12)]
    backward = [ds[(0, i)] for i in reversed(range(12))][::-1]
    for (a, sa), (b, sb) in zip(forward, backward):
        assert np.array_equal(a, b) and np.array_equal(sa, sb)


def test_without_mixing_labels_pass_through_and_unlabelled_items_work():
    pipe = A.Compose([A.HorizontalFlip()], seeds=Seeds(6))
    ds = A.AugmentedDataset(Images(), pipe)
    img, label = ds[5]
    assert label == 1 and img.shape == (8, 10, 3)
    unl = A.AugmentedDataset(Images(labelled=False), pipe)
    assert np.array_equal(unl[5], img)
    assert len(ds) == 12 and "AugmentedDataset" in repr(ds)


def test_mixing_errors_teach():
    mix = A.Compose([A.MixUp()], seeds=Seeds(7))
    with pytest.raises(InvalidArgumentError, match="num_classes"):
        A.AugmentedDataset(Images(), mix)
    with pytest.raises(InvalidArgumentError, match="AugmentedDataset"):
        mix(np.zeros((4, 4, 3), np.uint8), indices=0)
    with pytest.raises(InvalidArgumentError, match="dataset_size"):
        mix.sample(indices=[0, 1])
    with pytest.raises(InvalidArgumentError, match="labels"):
        A.AugmentedDataset(Images(labelled=False), mix, num_classes=4)[0]
    with pytest.raises(InvalidArgumentError, match="out of range"):
        A.AugmentedDataset(Images(), mix, num_classes=2)[3]
    with pytest.raises(InvalidArgumentError, match="mix samples once"):
        A.Compose([A.MixUp(), A.CutMix()], seeds=Seeds(0))
    with pytest.raises(IndexError):
        A.AugmentedDataset(Images(), mix, num_classes=4)[12]
    A.Compose([A.OneOf([A.MixUp(), A.CutMix()])], seeds=Seeds(0))  # choosing one of them is fine


def test_one_of_mixup_or_cutmix():
    pipe = A.Compose({"mix": A.OneOf({"mixup": A.MixUp(), "cutmix": A.CutMix()})}, seeds=Seeds(8))
    ds = A.AugmentedDataset(Images(20), pipe, num_classes=4)
    p = pipe.sample(indices=np.arange(20), epoch=0, dataset_size=20)["mix"]
    for i in range(20):
        img, soft = ds[(0, i)]
        chosen = "mixup" if p["choice"][i] == 0 else "cutmix"
        j = p["transforms"][chosen]["partner"][i]
        assert set(np.unique(img)) <= {np.uint8(10 * i), np.uint8(10 * j)} or chosen == "mixup"
        assert abs(float(soft.sum()) - 1.0) < 1e-6


def test_a_pickled_dataset_gives_the_same_items():
    """Worker processes started with 'spawn' receive the dataset pickled."""
    import pickle

    ds = A.AugmentedDataset(
        Images(), A.Compose([A.Affine(degrees=10), A.GaussianNoise(p=1.0), A.CutMix()], seeds=Seeds(5)), num_classes=4
    )
    copy = pickle.loads(pickle.dumps(ds))
    for key in ((0, 3), (7, 11)):
        (a, sa), (b, sb) = ds[key], copy[key]
        assert np.array_equal(a, b) and np.array_equal(sa, sb)
