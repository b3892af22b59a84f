"""Keyed dropout masks: which elements a dropout call keeps, from (key, position, call index).

Element ``e`` of a call's mask is kept when ``h(e) >= round(p * 2**32)``, where
``h(e) = mix(mix(e ^ a) ^ b)``, ``mix`` the ``lowbias32`` finaliser of
:mod:`seedwise.stateless._hash` and the 64-bit call seed ``(a, b)`` the same finaliser
chained over the four key words, the position and the call index. A mask may hold several
equal slabs along dim 0 (one per MC sample, or one per ensemble member), each with its own
call seed.

Three paths, one set of bits (tested):

* the host computes the call seeds with Python ints (:func:`mix_int`; no kernel launches)
  when the key is a NumPy uint32 array;
* torch ops compute them when the key is an int32 tensor (a batched key inside ``vmap``);
* on the CPU, :func:`host_noise` runs the compiled loop of
  :mod:`seedwise.stateless._mask_kernel`, which writes the dropout multiplier directly:
  about 1.2 ms per million elements on one core against about 9 ms for the ~25 passes of
  the torch-op hash. The torch path remains for other devices, for ``vmap``'s batched keys
  and for installs without numba.

:func:`seeded_keep` (torch ops) and :func:`seeded_noise` (the compiled loop) take the slabs'
call seeds ready-made: the per-sample mode (:mod:`seedwise.stateless._sample_mask`) computes
one per batch row and then runs the same two paths.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from seedwise._optional import compiled
from seedwise.errors import InvalidArgumentError
from seedwise.stateless._hash import mix, mix_, mix_int, signed32

__all__ = ["keep_mask", "seeded_keep", "host_noise", "seeded_noise", "noise_kernel", "apply_mask"]

_INT32_MIN = -(2**31)
_SALT_A = signed32(0x3C6EF372)
_SALT_B = signed32(0x9E3779B9)

HostKey = NDArray[np.uint32]


def _call_seeds(key: torch.Tensor, position: torch.Tensor | int, call: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The 64-bit seed ``(a, b)`` of one dropout call, from key words, position and call index.

    Torch ops, so that it works on a key batched by ``vmap``.
    """
    k0, k1, k2, k3 = key[..., 0], key[..., 1], key[..., 2], key[..., 3]
    a = mix(mix(k0 ^ _SALT_A) ^ k1)
    b = mix(mix(k2 ^ _SALT_B) ^ k3)
    a = mix(mix(a ^ position) ^ call)
    b = mix(mix(b ^ position) ^ (call ^ _SALT_A))
    return a, b


def _call_seeds_host(key: HostKey, positions: list[int], call: int) -> tuple[list[int], list[int]]:
    """:func:`_call_seeds` on the host with Python ints, bit for bit (no kernel launches)."""
    k0, k1, k2, k3 = (int(w) for w in key)
    a0 = mix_int(mix_int(k0 ^ (_SALT_A & 0xFFFFFFFF)) ^ k1)
    b0 = mix_int(mix_int(k2 ^ (_SALT_B & 0xFFFFFFFF)) ^ k3)
    ca, cb = call & 0xFFFFFFFF, (call ^ _SALT_A) & 0xFFFFFFFF
    a = [mix_int(mix_int(a0 ^ pos) ^ ca) for pos in positions]
    b = [mix_int(mix_int(b0 ^ pos) ^ cb) for pos in positions]
    return a, b


def _threshold(p: float) -> int:
    """The keep threshold on the 32-bit hash: element kept when ``h >= round(p * 2**32)``."""
    return min(round(float(p) * 2**32), 2**32 - 1)


def keep_mask(
    key: torch.Tensor | HostKey,
    positions: torch.Tensor | NDArray[Any] | int,
    call: int,
    shape: tuple[int, ...],
    p: float,
    device: Any,
) -> torch.Tensor:
    """Boolean keep mask of ``shape``; with a positions vector, one slab per position along dim 0.

    ``key`` is a uint32 NumPy array (host path) or an int32 tensor (inside ``vmap``); the
    two give identical masks. A host ``key`` of shape ``(K, 4)`` (K members' keys, one
    position) gives one slab per member instead.
    """
    n = 1 if isinstance(positions, int) else int(positions.shape[0])
    if isinstance(key, np.ndarray):
        a_list, b_list = host_slab_seeds(key, positions, call)
        n = len(a_list)
        a = torch.tensor([signed32(v) for v in a_list], dtype=torch.int32, device=device).reshape(n, 1)
        b = torch.tensor([signed32(v) for v in b_list], dtype=torch.int32, device=device).reshape(n, 1)
    elif isinstance(positions, int):
        a, b = _call_seeds(key, positions, call)
    else:
        a, b = _call_seeds(key, torch.as_tensor(positions, dtype=torch.int32, device=device).view(n, 1), call)
    return seeded_keep(a, b, n, shape, p, device)


def seeded_keep(
    a: torch.Tensor, b: torch.Tensor, n: int, shape: tuple[int, ...], p: float, device: Any
) -> torch.Tensor:
    """The keep mask of ``n`` slabs along dim 0 from their call seeds: int32 ``a``, ``b`` of shape ``(n, 1)``.

    (A 0-d ``a``, ``b`` with ``n == 1``: one slab.) The torch-op form of the hash, on any device.
    """
    per = _per_slab(shape, n)
    e = torch.arange(per, dtype=torch.int32, device=device)
    h = mix_(mix_(e ^ a).bitwise_xor_(b))
    keep = torch.ge(h.bitwise_xor_(_INT32_MIN), _threshold(p) + _INT32_MIN)
    return keep.reshape(shape)


def host_slab_seeds(
    key: HostKey, positions: torch.Tensor | NDArray[Any] | int, call: int
) -> tuple[list[int], list[int]]:
    """Per-slab call seeds: one per position (key ``(4,)``) or one per member (keys ``(K, 4)``)."""
    if key.ndim == 2:
        if not isinstance(positions, int):
            raise InvalidArgumentError("member keys of shape (K, 4) take one position (the step), not a vector")
        pairs = [_call_seeds_host(row, [positions], call) for row in key]
        return [a[0] for a, _ in pairs], [b[0] for _, b in pairs]
    pos = [positions] if isinstance(positions, int) else [int(v) for v in np.asarray(positions).reshape(-1)]
    return _call_seeds_host(key, pos, call)


def _per_slab(shape: tuple[int, ...], n: int) -> int:
    numel = 1
    for s in shape:
        numel *= s
    per = numel // n
    if per >= 2**31:
        raise InvalidArgumentError(f"keyed dropout supports up to 2**31 mask elements per sample, got {per}")
    return per


@functools.lru_cache(maxsize=1)
def noise_kernel() -> Any:
    """The numba-compiled noise loop, or ``None`` when numba cannot be imported."""
    return compiled("seedwise.stateless._mask_kernel", "noise")


_NP_DTYPES: dict[torch.dtype, Any] = {torch.float32: np.float32, torch.float64: np.float64}


def host_noise(
    key: HostKey, positions: NDArray[Any] | int, call: int, shape: tuple[int, ...], p: float, dtype: torch.dtype
) -> torch.Tensor | None:
    """The dropout multiplier ``keep / (1 - p)`` of ``shape`` on the CPU, or ``None`` (no kernel).

    Equal bit for bit to ``keep_mask(...).to(dtype) / (1 - p)``: the scale is torch's own
    ``1 / (1 - p)`` in ``dtype``, and the keep decisions are the same hash.
    """
    if noise_kernel() is None or dtype not in _NP_DTYPES:
        return None
    a_list, b_list = host_slab_seeds(key, positions, call)
    return seeded_noise(np.array(a_list, dtype=np.uint64), np.array(b_list, dtype=np.uint64), shape, p, dtype)


def seeded_noise(
    a: NDArray[np.uint64], b: NDArray[np.uint64], shape: tuple[int, ...], p: float, dtype: torch.dtype
) -> torch.Tensor | None:
    """The compiled CPU multiplier of ``len(a)`` slabs from their call seeds, or ``None`` (no kernel, other dtype).

    Equal bit for bit to ``seeded_keep(a, b, ...).to(dtype) / (1 - p)`` with the seeds as int32.
    """
    kernel = noise_kernel()
    np_dtype = _NP_DTYPES.get(dtype)
    if kernel is None or np_dtype is None:
        return None
    per = _per_slab(shape, int(a.shape[0]))
    scale = np_dtype((torch.ones((), dtype=dtype) / (1.0 - p)).item())
    out = np.empty(per * int(a.shape[0]), dtype=np_dtype)
    kernel(a, b, per, np.uint64(_threshold(p)), scale, out)
    return torch.from_numpy(out).reshape(shape)


_ALPHA = 1.7580993408473766  # -SELU's negative saturation value, as in ATen's alpha dropout


def apply_mask(x: torch.Tensor, keep: torch.Tensor, p: float, alpha: bool) -> torch.Tensor:
    """Apply a keep mask as ATen's dropout does (``x * noise (+ b)``)."""
    noise = keep.to(x.dtype)
    if alpha:
        a: float = 1.0 / (((_ALPHA * _ALPHA * p + 1.0) * (1.0 - p)) ** 0.5)
        b = (noise - 1.0) * (_ALPHA * a) + _ALPHA * a * p
        return x * (noise * a) + b
    return x * (noise / (1.0 - p))
