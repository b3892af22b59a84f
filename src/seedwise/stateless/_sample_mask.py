"""Per-sample dropout masks: each batch row's mask from (key, epoch, sample index, call index).

The per-step masks of :mod:`seedwise.stateless._dropout_mask` key a dropout call by the
training step, so the mask a row gets depends on where the row sits in its batch -- on the
batch size, and on the rank and the number of processes. Here every row of a dropout
input is a slab of its own, keyed by the sample it holds, so a sample's masks are the same
in any batch, on any rank, with any number of processes:

    sa = mix(mix(k0 ^ C) ^ k1)                          sb = mix(mix(k2 ^ D) ^ k3)
    ra = mix(mix(mix(mix(sa ^ e0) ^ e1) ^ i0) ^ i1)     rb = the same chain from sb
    a  = mix(ra ^ call)                                 b  = mix(rb ^ (call ^ A))

``mix`` is ``lowbias32`` (:mod:`seedwise.stateless._hash`), ``k0..k3`` the stream's key
words, ``e0, e1`` and ``i0, i1`` the low and high 32-bit words of the epoch and of the
row's sample index, and ``C``, ``D``, ``A`` fixed salts (``C`` and ``D`` differ from the
per-step mode's, which separates the two modes' seeds). Element ``e`` of the row is kept
when ``mix(mix(e ^ a) ^ b) >= round(p * 2**32)``, the per-step mode's element hash. The row
part ``(ra, rb)`` is computed once per batch (:func:`sample_seeds`); a dropout call adds
one ``mix`` per row and then runs the same mask paths as the per-step mode: the compiled
CPU loop, or the torch-op hash on any device and inside ``vmap``. Every form gives the
same bits (tested, with a Python-int reference of the chain above).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch
from numpy.typing import NDArray

from seedwise._validate import check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.stateless._dropout_mask import HostKey, seeded_keep, seeded_noise
from seedwise.stateless._hash import mix, mix_array, mix_int, signed32

__all__ = ["SampleSeeds", "sample_seeds", "check_per_sample", "SALTS"]

#: the salts (C, D, A) of the derivation above, as unsigned 32-bit ints (A is the per-step call salt)
SALTS = (0xBB67AE85, 0xA54FF53A, 0x3C6EF372)
_M32 = 0xFFFFFFFF
_U32 = np.uint64(_M32)
_SHIFT = np.uint64(32)


def check_per_sample(per_sample: object) -> tuple[int, NDArray[np.int64]]:
    """Validate ``per_sample=(epoch, indices)``: an int epoch and a non-empty 1-D array of sample indices."""
    fix = (
        "pass per_sample=(epoch, indices): the batch's epoch (an int) and the dataset index of each of its "
        "rows (a 1-D integer array), e.g. the keys a seedwise.data.DataLoader(with_keys=True) yields"
    )
    if not isinstance(per_sample, tuple) or len(per_sample) != 2:
        raise InvalidTypeError(f"per_sample must be a pair (epoch, indices), got {type(per_sample).__name__}; {fix}")
    epoch_value, raw_indices = per_sample
    if isinstance(epoch_value, np.ndarray | torch.Tensor | list | tuple):
        raise InvalidTypeError(
            f"per_sample's epoch must be one int (a batch never spans two epochs), got {type(epoch_value).__name__}; "
            f"{fix}"
        )
    epoch = check_int("per_sample's epoch", epoch_value, low=0, high=2**64)
    if isinstance(raw_indices, torch.Tensor):
        raw_indices = raw_indices.detach().cpu().numpy()
    indices = np.asarray(raw_indices)
    if indices.ndim == 1 and indices.shape[0] == 0:
        raise InvalidArgumentError(f"per_sample's indices are empty: a batch needs at least one row; {fix}")
    if indices.dtype == np.bool_ or not np.issubdtype(indices.dtype, np.integer) or indices.ndim != 1:
        raise InvalidTypeError(
            f"per_sample's indices must be a 1-D integer array with one sample index per row, got "
            f"dtype {indices.dtype} and shape {indices.shape}; {fix}"
        )
    signed = np.issubdtype(indices.dtype, np.signedinteger)
    if (signed and indices.min() < 0) or (indices.dtype == np.uint64 and int(indices.max()) >= 2**63):
        raise InvalidArgumentError(
            f"per_sample's indices must be sample indices in [0, 2**63), got values from {indices.min()} to "
            f"{indices.max()}"
        )
    return epoch, indices.astype(np.int64)


class SampleSeeds(Protocol):
    """The per-row part of one batch's call seeds, computed once (:func:`sample_seeds`); masks per dropout call."""

    n: int

    def keep(self, call: int, shape: tuple[int, ...], p: float, device: Any) -> torch.Tensor:
        """Boolean keep mask of ``shape``, row ``r`` (``shape[0] == n``) keyed by sample ``r``."""
        ...

    def noise(self, call: int, shape: tuple[int, ...], p: float, dtype: torch.dtype) -> torch.Tensor | None:
        """The compiled CPU multiplier ``keep / (1 - p)`` of the same mask, or ``None`` where it does not apply."""
        ...


def sample_seeds(key: HostKey | torch.Tensor, epoch: int, indices: NDArray[np.int64]) -> SampleSeeds:
    """The rows' seeds of a batch under ``key``: host words (a uint32 NumPy key) or torch ops (an int32 tensor).

    ``epoch`` in ``[0, 2**64)`` and ``indices`` (int64 in ``[0, 2**63)``, one per row) as
    :func:`check_per_sample` returns them. Both forms give the same masks; the torch form
    also takes a key batched by ``vmap``.
    """
    if isinstance(key, np.ndarray):
        return _HostRows(key, epoch, indices)
    return _TorchRows(key, epoch, indices)


class _HostRows:
    """Row seeds as NumPy words: call seeds without kernel launches, and the compiled CPU loop.

    ``ra`` and ``rb`` are held as the two rows of one ``(2, n)`` array, so that each step
    of the chain is one NumPy operation for both.
    """

    def __init__(self, key: HostKey, epoch: int, indices: NDArray[np.int64]) -> None:
        self.n = int(indices.shape[0])
        k0, k1, k2, k3 = key.tolist()
        idx = indices.astype(np.uint64)
        lo, hi = idx & _U32, idx >> _SHIFT
        sa, sb = mix_int(mix_int(k0 ^ SALTS[0]) ^ k1), mix_int(mix_int(k2 ^ SALTS[1]) ^ k3)
        e0, e1 = epoch & _M32, epoch >> 32
        per_batch = np.array([[mix_int(mix_int(s ^ e0) ^ e1)] for s in (sa, sb)], dtype=np.uint64)  # (2, 1)
        self._rows = mix_array(mix_array(per_batch ^ lo) ^ hi)  # (2, n): ra, rb

    def _call(self, call: int) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
        salts = np.array([[call & _M32], [(call ^ SALTS[2]) & _M32]], dtype=np.uint64)
        ab = mix_array(self._rows ^ salts)
        return ab[0], ab[1]

    def keep(self, call: int, shape: tuple[int, ...], p: float, device: Any) -> torch.Tensor:
        a, b = self._call(call)
        return seeded_keep(_int32_tensor(a, device), _int32_tensor(b, device), self.n, shape, p, device)

    def noise(self, call: int, shape: tuple[int, ...], p: float, dtype: torch.dtype) -> torch.Tensor | None:
        a, b = self._call(call)
        return seeded_noise(a, b, shape, p, dtype)


class _TorchRows:
    """Row seeds as int32 tensors on the key's device (also for a key batched by ``vmap``)."""

    def __init__(self, key: torch.Tensor, epoch: int, indices: NDArray[np.int64]) -> None:
        self.n = int(indices.shape[0])
        idx = torch.from_numpy(indices).to(key.device)
        lo, hi = _signed_words(idx & _M32), _signed_words(idx >> 32)
        e0, e1 = signed32(epoch), signed32(epoch >> 32)
        sa = mix(mix(key[..., 0] ^ signed32(SALTS[0])) ^ key[..., 1])
        sb = mix(mix(key[..., 2] ^ signed32(SALTS[1])) ^ key[..., 3])
        self._ra = mix(mix(mix(mix(sa ^ e0) ^ e1) ^ lo) ^ hi)
        self._rb = mix(mix(mix(mix(sb ^ e0) ^ e1) ^ lo) ^ hi)

    def keep(self, call: int, shape: tuple[int, ...], p: float, device: Any) -> torch.Tensor:
        a = mix(self._ra ^ signed32(call)).view(self.n, 1)
        b = mix(self._rb ^ signed32(call ^ SALTS[2])).view(self.n, 1)
        return seeded_keep(a, b, self.n, shape, p, device)

    def noise(self, call: int, shape: tuple[int, ...], p: float, dtype: torch.dtype) -> torch.Tensor | None:
        return None  # the compiled loop takes host words


def _int32_tensor(words: NDArray[np.uint64], device: Any) -> torch.Tensor:
    """32-bit words as the int32 tensor holding them, shape ``(n, 1)``."""
    signed = words.astype(np.uint32).view(np.int32)
    return torch.from_numpy(signed).to(device).view(-1, 1)


def _signed_words(x: torch.Tensor) -> torch.Tensor:
    """int64 values in ``[0, 2**32)`` as the int32 words holding them."""
    return ((x ^ 0x80000000) - 0x80000000).to(torch.int32)
