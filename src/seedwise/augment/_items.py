"""Where the image and the label sit in a dataset item, and how to put them back.

Items may be an image alone, a tuple or list (``(image, label, more...)``), or a dict
(``{"image": ..., "label": ..., more...}``, Hugging Face's ``{"pixel_values": ...,
"label": ...}``). The image is found by ``image_key`` (a dict key or a tuple position;
by default the first of :data:`IMAGE_KEYS` a dict has, or position 0), the label by
``label_key`` (by default the first of :data:`LABEL_KEYS`, or position 1; an item may
have none). Everything else passes through unchanged. PIL images (what a Hugging Face
``datasets`` image column holds) become HWC uint8 arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from seedwise.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["ItemFormat", "IMAGE_KEYS", "LABEL_KEYS", "check_key"]

#: dict keys tried, in order, for the image when ``image_key`` is not given
IMAGE_KEYS = ("image", "pixel_values", "img")
#: dict keys tried, in order, for the label when ``label_key`` is not given
LABEL_KEYS = ("label", "labels", "target")


def check_key(name: str, value: object) -> str | int | None:
    """A key argument: a dict key (non-empty str), a tuple position (int >= 0) or None."""
    if value is None or (isinstance(value, str) and value):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise InvalidTypeError(
        f"{name} must be a dict key (a non-empty str), a tuple position (an int >= 0) or None, got {value!r}"
    )


def _as_image(image: Any) -> Any:
    """PIL images as HWC uint8 arrays; arrays and tensors as they are."""
    if type(image).__module__.startswith("PIL."):
        arr = np.asarray(image)
        return arr[:, :, None] if arr.ndim == 2 else arr
    return image


@dataclass(frozen=True)
class ItemFormat:
    """How to take an item apart (:meth:`split`) and put it back together."""

    image_key: str | int | None = None
    label_key: str | int | None = None

    def split(self, item: Any) -> tuple[Any, Any, bool, Callable[[Any, Any], Any]]:
        """``(image, label, has_label, rebuild)``; ``rebuild(image, label)`` gives the item
        with the new image (and label: pass ``label`` unchanged to keep it)."""
        if isinstance(item, Mapping):
            return self._split_dict(item)
        if isinstance(item, (tuple, list)):
            return self._split_sequence(item)
        for name, key in (("image_key", self.image_key), ("label_key", self.label_key)):
            if key not in (None, 0):
                raise InvalidArgumentError(
                    f"{name}={key!r}, but dataset items are {type(item).__name__}s, not dicts or tuples: "
                    "leave image_key and label_key at None for items that are images"
                )
        return _as_image(item), None, False, lambda image, label: image

    def _split_dict(self, item: Mapping[Any, Any]) -> tuple[Any, Any, bool, Callable[[Any, Any], Any]]:
        for name, key in (("image_key", self.image_key), ("label_key", self.label_key)):
            if isinstance(key, int):
                raise InvalidArgumentError(
                    f"{name}={key!r} is a tuple position, but dataset items are dicts: give a key"
                )
        image_key = self.image_key or next((k for k in IMAGE_KEYS if k in item), None)
        if image_key is None or image_key not in item:
            raise InvalidArgumentError(
                f"dataset items are dicts with keys {sorted(map(str, item))}, "
                + (
                    f"without image_key={image_key!r}"
                    if image_key
                    else f"none of them an image key {IMAGE_KEYS}: pass image_key='<the key of the image>'"
                )
            )
        label_key = self.label_key or next((k for k in LABEL_KEYS if k in item), None)
        if self.label_key is not None and self.label_key not in item:
            raise InvalidArgumentError(
                f"dataset items are dicts with keys {sorted(map(str, item))}, without label_key={self.label_key!r}"
            )

        def rebuild(image: Any, label: Any) -> Any:
            out = dict(item)
            out[image_key] = image
            if label_key is not None:
                out[label_key] = label
            return out

        label = item[label_key] if label_key is not None else None
        return _as_image(item[image_key]), label, label_key is not None, rebuild

    def _split_sequence(self, item: tuple[Any, ...] | list[Any]) -> tuple[Any, Any, bool, Callable[[Any, Any], Any]]:
        for name, key in (("image_key", self.image_key), ("label_key", self.label_key)):
            if isinstance(key, str):
                raise InvalidArgumentError(
                    f"{name}={key!r} is a dict key, but dataset items are {type(item).__name__}s: give a position"
                )
        n = len(item)
        image_at = 0 if self.image_key is None else int(self.image_key)
        if self.label_key is not None:
            label_at: int | None = int(self.label_key)
        else:  # the first field that is not the image, if there is one
            label_at = None if n < 2 else (1 if image_at == 0 else 0)
        for name, at in (("image_key", image_at), ("label_key", label_at)):
            if at is not None and not 0 <= at < n:
                raise InvalidArgumentError(
                    f"{name}={at} is out of range for dataset items of {n} fields ({type(item).__name__})"
                )
        if image_at == label_at:
            raise InvalidArgumentError(f"image_key and label_key name the same field ({image_at})")

        def rebuild(image: Any, label: Any) -> Any:
            out = list(item)
            out[image_at] = image
            if label_at is not None:
                out[label_at] = label
            return tuple(out) if isinstance(item, tuple) else out

        label = item[label_at] if label_at is not None else None
        return _as_image(item[image_at]), label, label_at is not None, rebuild
