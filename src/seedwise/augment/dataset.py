"""``AugmentedDataset``: a map-style dataset whose items are augmented by (epoch, index).

The wrapper is what makes augmentation independent of the loader: item ``i`` of epoch
``e`` is the same whichever worker, batch or rank asks for it, and whether or not the
run was resumed. A sampler can carry the epoch with each index (``dataset[(e, i)]``),
which stays right inside worker processes that were started before ``set_epoch``.
With MixUp / CutMix the wrapper fetches each sample's partner from the wrapped dataset
and returns a soft label.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from seedwise.augment._items import LABEL_KEYS, ItemFormat, check_key
from seedwise.augment.compose import Compose
from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["AugmentedDataset"]


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "ndim")


class AugmentedDataset:
    """Wrap ``dataset`` so that ``self[i]`` is augmented by ``pipe`` at ``(self.epoch, i)``
    and ``self[(e, i)]`` at ``(e, i)``.

    Items may be an image, a tuple or list ``(image, label, more...)``, or a dict
    (``{"image": ..., "label": ..., more...}``; Hugging Face's ``{"pixel_values": ...,
    "label": ...}``); the image is augmented, the other fields pass through, and with
    MixUp / CutMix the label becomes a soft label. Images are uint8 HWC NumPy arrays, CHW
    torch tensors (uint8, or float in [0, 1]) or PIL images (which become arrays).

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``).
        pipe: a :class:`~seedwise.augment.Compose` with seeds.
        num_classes: needed when ``pipe`` mixes samples: labels become soft labels of
            this length (``lam`` on the sample's class, ``1 - lam`` on its partner's).
        image_key: where the image is: a dict key, or a tuple position. Default: the first
            of ``"image"``, ``"pixel_values"``, ``"img"`` a dict has; position 0 of a tuple.
        label_key: where the label is (the one mixing mixes). Default: the first of
            ``"label"``, ``"labels"``, ``"target"`` a dict has (none: no label); the first
            other field of a tuple.
    """

    #: Tells seedwise.data (and any sampler) that this dataset takes ``(epoch, index)`` keys.
    seedwise_epoch_keyed = True

    def __init__(
        self,
        dataset: Any,
        pipe: Compose,
        num_classes: int | None = None,
        *,
        image_key: str | int | None = None,
        label_key: str | int | None = None,
    ):
        if not isinstance(pipe, Compose):
            raise InvalidTypeError(f"pipe must be a seedwise.augment.Compose, got {type(pipe).__name__}")
        if pipe.seeds is None:
            raise InvalidArgumentError("pipe has no seeds: build it as Compose([...], seeds=...)")
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise InvalidTypeError(
                f"dataset must be map-style (with __getitem__ and __len__), got {type(dataset).__name__}"
            )
        if num_classes is not None:
            if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
                raise InvalidArgumentError(f"num_classes must be a positive int, got {num_classes!r}")
            num_classes = int(num_classes)
        if pipe.has_mixing and num_classes is None:
            raise InvalidArgumentError(
                "pipe mixes samples (MixUp / CutMix), so labels become soft labels: "
                "pass num_classes=<number of classes>"
            )
        self.dataset = dataset
        self.pipe = pipe
        self.num_classes = num_classes
        self.image_key = check_key("image_key", image_key)
        self.label_key = check_key("label_key", label_key)
        self._format = ItemFormat(self.image_key, self.label_key)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """The epoch used by ``self[i]`` (``self[(e, i)]`` ignores it)."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise InvalidArgumentError(f"epoch must be an int >= 0, got {epoch!r}")
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def _position(self, key: Any) -> tuple[int, int]:
        if isinstance(key, tuple):
            if len(key) != 2:
                raise InvalidArgumentError(f"a tuple key must be (epoch, index), got {key!r}")
            epoch, index = key
        else:
            epoch, index = self.epoch, key
        for name, value in (("epoch", epoch), ("index", index)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise InvalidTypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
        n = len(self.dataset)
        if not 0 <= index < n:
            raise IndexError(f"index {index} is out of range for a dataset of {n} samples")
        if epoch < 0:
            raise InvalidArgumentError(f"epoch must be >= 0, got {epoch}")
        return int(epoch), int(index)

    def _split(self, item: Any) -> tuple[Any, Any, bool, Any]:
        return self._format.split(item)

    def _one_hot(self, label: Any) -> np.ndarray:
        assert self.num_classes is not None
        if _is_tensor(label):
            label = label.detach().cpu().numpy()
        arr = np.asarray(label)
        if arr.ndim == 0 and np.issubdtype(arr.dtype, np.integer):
            k = int(arr)
            if not 0 <= k < self.num_classes:
                raise InvalidArgumentError(f"label {k} is out of range for num_classes={self.num_classes}")
            out = np.zeros(self.num_classes)
            out[k] = 1.0
            return out
        if arr.shape == (self.num_classes,):
            return arr.astype(np.float64)
        raise InvalidArgumentError(
            f"labels must be class indices (ints) or vectors of length num_classes={self.num_classes}, got {label!r}"
        )

    def __getitem__(self, key: Any) -> Any:
        epoch, index = self._position(key)
        image, label, has_label, rebuild = self._split(self.dataset[index])
        if not self.pipe.has_mixing:
            return rebuild(self.pipe(image, indices=index, epoch=epoch), label)
        if not has_label:
            raise InvalidArgumentError(
                "pipe mixes samples, which needs labels: dataset items must be (image, label) tuples or dicts with "
                f"a label (keys tried: {LABEL_KEYS}; or pass label_key=)"
            )
        partner_labels: dict[int, Any] = {}

        def fetch(j: int) -> Any:
            img, lab, _, _ = self._split(self.dataset[j])
            partner_labels[j] = lab
            return img

        out, partner, lam = self.pipe.apply_mixing(
            image, indices=index, epoch=epoch, dataset_size=len(self.dataset), fetch=fetch
        )
        soft = self._one_hot(label)
        if partner[0] >= 0:
            soft = lam[0] * soft + (1.0 - lam[0]) * self._one_hot(partner_labels[int(partner[0])])
        soft = soft.astype(np.float32)
        if _is_tensor(out):
            import torch

            return rebuild(out, torch.from_numpy(soft))
        return rebuild(out, soft)

    def __getitems__(self, keys: list[Any]) -> list[Any]:
        """Augment many items in one call (``torch.utils.data`` uses it to fetch a batch).

        Images of one epoch and one shape are stacked and augmented as a batch, which
        gives the same bits as item by item (sampling is per index) at a fraction of the
        per-call cost. Pipelines that mix samples, and mixed shapes, go item by item.
        """
        if self.pipe.has_mixing or len(keys) < 2:
            return [self[key] for key in keys]
        positions = [self._position(key) for key in keys]
        items = [self._split(self.dataset[index]) for _, index in positions]
        images = [image for image, _, _, _ in items]
        first = images[0]
        same_kind = all(type(im) is type(first) for im in images)
        stackable = same_kind and all(
            getattr(im, "shape", None) == getattr(first, "shape", None)
            and getattr(im, "dtype", None) == getattr(first, "dtype", None)
            for im in images
        )
        if (
            not stackable
            or len({epoch for epoch, _ in positions}) != 1
            or not (isinstance(first, np.ndarray) or _is_tensor(first))
        ):
            return [self[key] for key in keys]
        epoch = positions[0][0]
        indices = np.array([index for _, index in positions], dtype=np.int64)
        if isinstance(first, np.ndarray):
            batch = self.pipe(np.stack(images), indices=indices, epoch=epoch)
        else:
            import torch

            batch = self.pipe(torch.stack(images), indices=indices, epoch=epoch)
        return [rebuild(batch[i], label) for i, (_, label, _, rebuild) in enumerate(items)]

    def __repr__(self) -> str:
        extra = f", num_classes={self.num_classes}" if self.num_classes is not None else ""
        for name in ("image_key", "label_key"):
            if getattr(self, name) is not None:
                extra += f", {name}={getattr(self, name)!r}"
        return f"AugmentedDataset({type(self.dataset).__name__} of {len(self.dataset)}, epoch={self.epoch}{extra})"
