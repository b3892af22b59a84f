"""The DataLoader with a real seedwise.augment pipeline: same pixels and soft labels whatever the loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import seedwise as sw
from seedwise import augment as A
from seedwise.data import DataLoader

# Tests start more workers than a small CI machine has cores; torch warns, the tests need them.
pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")


class Images(torch.utils.data.Dataset):
    """Sample i: an 8x8 RGB uint8 image with an asymmetric pattern that encodes i, label i % 3."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        image = (np.arange(8 * 8 * 3, dtype=np.int64).reshape(8, 8, 3) * 3 + 7 * i) % 256
        return image.astype(np.uint8), i % 3


def _pipe(seeds, mixing):
    transforms = [
        A.HorizontalFlip(0.5),
        A.Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
        A.ColorJitter(0.2, 0.2, 0.2, 0.05),
    ]
    if mixing:
        transforms.append(A.MixUp(0.4))
    return A.Compose(transforms, seeds=seeds["augment"])


def _collect(loader):
    xs, ys = zip(*loader)
    return torch.cat(xs), torch.cat(ys)


@pytest.mark.parametrize("mixing", [False, True])
def test_augmented_batches_do_not_depend_on_workers_or_batch_size(mixing, test_seed):
    seeds = sw.Seeds(test_seed)
    pipe = _pipe(seeds, mixing)
    num_classes = 3 if mixing else None
    runs = []
    for num_workers, batch_size in ((0, 1), (0, 7), (2, 5)):
        loader = DataLoader(
            Images(20),
            batch_size=batch_size,
            shuffle=True,
            seeds=seeds,
            augment=pipe,
            num_classes=num_classes,
            num_workers=num_workers,
        )
        loader.set_epoch(1)
        runs.append(_collect(loader))
    for x, y in runs[1:]:
        assert torch.equal(x, runs[0][0]) and torch.equal(y, runs[0][1])
    assert runs[0][0].dtype == torch.uint8 and runs[0][0].shape == (20, 8, 8, 3)
    if mixing:
        assert runs[0][1].shape == (20, 3)
        assert torch.allclose(runs[0][1].sum(dim=1), torch.ones(20))


def test_augmentation_changes_with_the_epoch_and_the_augment_seed(test_seed):
    seeds = sw.Seeds(test_seed)

    def images(loader_seeds, epoch):
        loader = DataLoader(Images(12), batch_size=12, seeds=loader_seeds, augment=_pipe(loader_seeds, False))
        loader.set_epoch(epoch)
        return next(iter(loader))[0]

    base = images(seeds, 0)
    assert torch.equal(base, images(sw.Seeds(test_seed), 0))
    assert not torch.equal(base, images(seeds, 1))
    assert not torch.equal(base, images(seeds.override(augment=test_seed + 1), 0))


def test_an_augmented_dataset_passed_directly_gets_the_epoch_too(test_seed):
    seeds = sw.Seeds(test_seed)
    pipe = _pipe(seeds, False)
    via_augment = DataLoader(Images(10), batch_size=10, shuffle=True, seeds=seeds, augment=pipe)
    direct = DataLoader(A.AugmentedDataset(Images(10), pipe), batch_size=10, shuffle=True, seeds=seeds)
    for loader in (via_augment, direct):
        loader.set_epoch(3)
    assert torch.equal(next(iter(via_augment))[0], next(iter(direct))[0])
