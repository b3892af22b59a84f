"""Keyed dropout and MC dropout: every dropout mask a pure function of (stream, position, call).

PyTorch's dropout draws its masks from the global RNG, so a prediction with dropout on
changes with everything that drew before it, sample ``t`` of an MC-dropout estimate
changes when the number of samples changes, and inside ``torch.func.vmap`` all members
of an ensemble would either share one mask or draw from one shared global stream.

Here, the model runs under a :class:`~torch.overrides.TorchFunctionMode` that intercepts
every dropout call -- the modules ``nn.Dropout``, ``Dropout1d/2d/3d``, ``AlphaDropout``
and ``FeatureAlphaDropout`` as well as the functions ``F.dropout``, ``F.dropout1d/2d/3d``,
``F.alpha_dropout``, ``F.feature_alpha_dropout`` and ``torch.dropout`` (and its
feature/alpha variants) called directly in a ``forward`` -- and computes the mask from

* the stream's key (the 128-bit :attr:`seedwise.Seeds.key`),
* a position (the MC sample ``t``, or the training step), and
* the call index (the first dropout call of a forward is 0, the next 1, ...),

with a counter-based hash evaluated by torch ops on the input's device: element ``e``
of the mask is kept when ``h(e) >= p * 2**32``, where ``h(e) = mix(mix(e ^ a) ^ b)``,
``mix`` is the ``lowbias32`` integer finaliser (C. Wellons, two multiply-xorshift rounds;
full avalanche) and the 64-bit call seed ``(a, b)`` is the same finaliser chained over
the four key words, the position and the call index. Kept elements are scaled by
``1 / (1 - p)`` exactly as ``torch.nn.functional.dropout`` does (alpha dropout keeps
SELU's mean and variance as torch does). Channel-wise variants (``Dropout1d/2d/3d``,
feature alpha dropout) key one value per (sample, channel). The hash costs about as much
as ``torch.bernoulli`` on CPU; it is not Philox (which would need 64-bit multiplies torch
does not vectorise) and is meant for dropout masks, not for cryptography or statistics.

Because the masks are computed, not drawn, they work inside ``torch.func.vmap`` with a
batched key (one per ensemble member, see :mod:`seedwise.ensemble`) and never touch a
global RNG. Anything else in the model that draws from a global RNG (``torch.randn_like``,
``Tensor.uniform_`` without a generator, ...) raises
:class:`~seedwise.errors.InvalidArgumentError` under this mode instead of silently making
the result irreproducible.

Not keyable: randomness drawn *inside* a torch function, out of the mode's sight --
attention dropout in ``nn.MultiheadAttention``/``nn.Transformer*`` layers (in training
mode), ``F.scaled_dot_product_attention(dropout_p > 0)``, ``F.rrelu`` in training mode,
``F.gumbel_softmax`` -- raises :class:`~seedwise.errors.InvalidArgumentError` rather than
running on the global RNG. (In eval mode attention layers turn their dropout off
themselves, so MC dropout samples the model's ``nn.Dropout`` layers but not attention
dropout.)

Supported layouts: dropout inputs must have the batch as their first dimension (as every
``nn`` layer's batch-first input does); :func:`mc_dropout` checks that it divides by the
number of samples in a forward. Sequence-first layers (``batch_first=False``) are not
supported by :func:`mc_dropout`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from seedwise._validate import check_choice, check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import SeedLike, as_seeds

__all__ = ["mc_dropout", "keyed_dropout", "KeyedDropoutMode", "key_words", "host_key", "DEFAULT_MAX_ROWS"]

#: With ``chunk_size=None``, :func:`mc_dropout` runs as many samples per forward as fit in
#: this many rows (``samples_per_forward * batch <= DEFAULT_MAX_ROWS``).
DEFAULT_MAX_ROWS = 65536

_INT32_MIN = -(2**31)
_C1 = 0x7FEB352D  # lowbias32 multipliers (as signed int32)
_C2 = 0x846CA68B - 2**32
_SALT_A = 0x3C6EF372 - 2**32 if 0x3C6EF372 >= 2**31 else 0x3C6EF372
_SALT_B = 0x9E3779B9 - 2**32


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def _mix(x: torch.Tensor) -> torch.Tensor:
    """lowbias32 on int32 tensors (wrapping multiply; logical shifts by masking)."""
    x = x ^ ((x >> 16) & 0xFFFF)
    x = x * _C1
    x = x ^ ((x >> 15) & 0x1FFFF)
    x = x * _C2
    return x ^ ((x >> 16) & 0xFFFF)


def _mix_(x: torch.Tensor) -> torch.Tensor:
    """:func:`_mix` in place (for the large per-element tensors: half the memory traffic)."""
    x.bitwise_xor_(torch.bitwise_right_shift(x, 16).bitwise_and_(0xFFFF))
    x.mul_(_C1)
    x.bitwise_xor_(torch.bitwise_right_shift(x, 15).bitwise_and_(0x1FFFF))
    x.mul_(_C2)
    return x.bitwise_xor_(torch.bitwise_right_shift(x, 16).bitwise_and_(0xFFFF))


def key_words(seeds: SeedLike, device: Any = "cpu") -> torch.Tensor:
    """The stream's 128-bit key as four int32 words (the hash's key), on ``device``."""
    key = as_seeds(seeds).key
    words = []
    for word in key.tolist():
        words += [_signed32(word), _signed32(word >> 32)]
    return torch.tensor(words, dtype=torch.int32, device=device)


def host_key(seeds: SeedLike) -> np.ndarray:
    """The same four key words as :func:`key_words`, as a NumPy uint32 array (host path)."""
    return key_words(seeds).numpy().view(np.uint32)


def _call_seeds(key: torch.Tensor, position: torch.Tensor | int, call: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The 64-bit seed ``(a, b)`` of one dropout call, from key words, position and call index.

    Torch ops, so that it works on a key batched by ``vmap``.
    """
    k0, k1, k2, k3 = key[..., 0], key[..., 1], key[..., 2], key[..., 3]
    a = _mix(_mix(k0 ^ _SALT_A) ^ k1)
    b = _mix(_mix(k2 ^ _SALT_B) ^ k3)
    a = _mix(_mix(a ^ position) ^ call)
    b = _mix(_mix(b ^ position) ^ (call ^ _SALT_A))
    return a, b


def _mix_int(x: int) -> int:
    """:func:`_mix` on one Python int in ``[0, 2**32)``."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    return x ^ (x >> 16)


def _call_seeds_host(key: np.ndarray, positions: list[int], call: int) -> tuple[list[int], list[int]]:
    """:func:`_call_seeds` on the host with Python ints, bit for bit (no kernel launches)."""
    k0, k1, k2, k3 = (int(w) for w in key)
    a0 = _mix_int(_mix_int(k0 ^ (_SALT_A & 0xFFFFFFFF)) ^ k1)
    b0 = _mix_int(_mix_int(k2 ^ (_SALT_B & 0xFFFFFFFF)) ^ k3)
    ca, cb = call & 0xFFFFFFFF, (call ^ _SALT_A) & 0xFFFFFFFF
    a = [_mix_int(_mix_int(a0 ^ pos) ^ ca) for pos in positions]
    b = [_mix_int(_mix_int(b0 ^ pos) ^ cb) for pos in positions]
    return a, b


def _threshold(p: float) -> int:
    """The keep threshold on the 32-bit hash: element kept when ``h >= round(p * 2**32)``."""
    return min(int(round(p * 2**32)), 2**32 - 1)


def _keep_mask(
    key: torch.Tensor | np.ndarray,
    positions: torch.Tensor | np.ndarray | int,
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
        a_list, b_list = _host_slab_seeds(key, positions, call)
        n = len(a_list)
        a = torch.tensor([_signed32(v) for v in a_list], dtype=torch.int32, device=device).reshape(n, 1)
        b = torch.tensor([_signed32(v) for v in b_list], dtype=torch.int32, device=device).reshape(n, 1)
    elif isinstance(positions, int):
        a, b = _call_seeds(key, positions, call)
    else:
        a, b = _call_seeds(key, torch.as_tensor(positions, dtype=torch.int32, device=device).view(n, 1), call)
    per = _per_slab(shape, n)
    e = torch.arange(per, dtype=torch.int32, device=device)
    h = _mix_(_mix_(e ^ a).bitwise_xor_(b))
    keep = torch.ge(h.bitwise_xor_(_INT32_MIN), _threshold(p) + _INT32_MIN)
    return keep.reshape(shape)


def _host_slab_seeds(key: np.ndarray, positions: np.ndarray | int, call: int) -> tuple[list[int], list[int]]:
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


# -- the compiled CPU path ----------------------------------------------------------------
#
# On the CPU the torch-op hash above costs ~25 passes over the mask (about 9 ms per million
# elements on one core, more than the matrix products of a small MLP); the same hash as one
# compiled loop (numba) costs about 1.2 ms and writes the dropout multiplier directly. Both
# give the same bits (tested); the torch path remains for other devices, for ``vmap``'s
# batched keys and for installs without numba.


@functools.lru_cache(maxsize=1)
def _noise_kernel() -> Any:
    """The numba-compiled noise loop, or ``None`` when numba cannot be imported."""
    try:
        from seedwise.bayes._mask_kernel import noise
    except Exception:  # ImportError, or a numba built against another NumPy
        return None
    return noise


def _host_noise(
    key: np.ndarray, positions: np.ndarray | int, call: int, shape: tuple[int, ...], p: float, dtype: torch.dtype
) -> torch.Tensor | None:
    """The dropout multiplier ``keep / (1 - p)`` of ``shape`` on the CPU, or ``None`` (no kernel).

    Equal bit for bit to ``_keep_mask(...).to(dtype) / (1 - p)``: the scale is torch's own
    ``1 / (1 - p)`` in ``dtype``, and the keep decisions are the same hash.
    """
    kernel = _noise_kernel()
    np_dtype = {torch.float32: np.float32, torch.float64: np.float64}.get(dtype)
    if kernel is None or np_dtype is None:
        return None
    a_list, b_list = _host_slab_seeds(key, positions, call)
    per = _per_slab(shape, len(a_list))
    scale = np_dtype((torch.ones((), dtype=dtype) / (1.0 - p)).item())
    out = np.empty(per * len(a_list), dtype=np_dtype)
    kernel(
        np.array(a_list, dtype=np.uint64), np.array(b_list, dtype=np.uint64), per, np.uint64(_threshold(p)), scale, out
    )
    return torch.from_numpy(out).reshape(shape)


_ALPHA = 1.7580993408473766  # -SELU's negative saturation value, as in ATen's alpha dropout


def _apply(x: torch.Tensor, keep: torch.Tensor, p: float, alpha: bool) -> torch.Tensor:
    """Apply a keep mask as ATen's dropout does (``x * noise (+ b)``)."""
    noise = keep.to(x.dtype)
    if alpha:
        a = 1.0 / (((_ALPHA * _ALPHA * p + 1.0) * (1.0 - p)) ** 0.5)
        b = (noise - 1.0) * (_ALPHA * a) + _ALPHA * a * p
        return x * (noise * a) + b
    return x * (noise / (1.0 - p))


#: dropout function -> (name, channel-wise, batched ndim (0: any), alpha, default training)
_DROPOUT: dict[Any, tuple[str, bool, int, bool, bool]] = {
    F.dropout: ("dropout", False, 0, False, True),
    F.dropout1d: ("dropout1d", True, 3, False, True),
    F.dropout2d: ("dropout2d", True, 4, False, True),
    F.dropout3d: ("dropout3d", True, 5, False, True),
    F.alpha_dropout: ("alpha_dropout", False, 0, True, False),
    F.feature_alpha_dropout: ("feature_alpha_dropout", True, 0, True, False),
    torch.dropout: ("torch.dropout", False, 0, False, True),
    torch.feature_dropout: ("torch.feature_dropout", True, 0, False, True),
    torch.alpha_dropout: ("torch.alpha_dropout", False, 0, True, True),
    torch.feature_alpha_dropout: ("torch.feature_alpha_dropout", True, 0, True, True),
}

#: functions that draw from a global RNG unless given a generator=
_GLOBAL_RNG = {
    getattr(torch, n)
    for n in ("rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like",
              "bernoulli", "multinomial", "normal", "poisson", "binomial")
    if hasattr(torch, n)
} | {
    getattr(torch.Tensor, n)
    for n in ("bernoulli", "bernoulli_", "uniform_", "normal_", "random_", "exponential_", "geometric_",
              "cauchy_", "log_normal_", "multinomial")
    if hasattr(torch.Tensor, n)
} | {F.gumbel_softmax}  # fmt: skip

#: composite functions that draw dropout masks from the global RNG *inside* torch, where
#: the mode cannot see them: function -> (index of dropout_p, index of training or None)
_INNER_DROPOUT: dict[Any, tuple[int, int | None, str]] = {
    F.multi_head_attention_forward: (10, 13, "attention dropout (nn.MultiheadAttention / nn.Transformer*)"),
    F.scaled_dot_product_attention: (4, None, "F.scaled_dot_product_attention(dropout_p > 0)"),
    F.rrelu: (-1, 3, "F.rrelu / nn.RReLU in training mode"),
}


class KeyedDropoutMode(TorchFunctionMode):
    """Torch function mode that computes every dropout mask from (key, position, call index).

    Args:
        key: the four key words: a uint32 NumPy array (:func:`host_key`; the per-call
            seeds are then computed on the host) or an int32 tensor (:func:`key_words`;
            inside ``vmap`` a batched one, giving each member its own masks). Both give
            the same masks. ``None``: no stream, and any dropout call that would drop
            something raises (a model without dropout runs normally). A ``(K, 4)`` host
            array (K ensemble members' keys, one int ``position``) without ``member``
            means the K members are stacked along every dropout input's first
            dimension: one mask slab per member.
        position: an int in ``[0, 2**31)`` (the step), or an integer array of shape ``(n,)``
            giving the positions of ``n`` equal slabs along every dropout input's first
            dimension (the MC samples stacked in one batch).
        force: apply dropout even when the call says ``training=False`` (MC dropout runs the
            model in eval mode and still wants its dropout); otherwise the call's own
            ``training`` flag decides, as it would without seedwise.
        member: inside ``vmap`` over ensemble members, the member index (a batched 0-d
            integer tensor); ``key`` is then the ``(K, 4)`` uint32 host keys of all members
            and ``position`` one int. Every dropout call computes all K members' masks in
            one pass (the compiled CPU kernel where it applies) and each member takes its
            own row: the same masks as a batched ``key`` tensor, at a fraction of the cost.

    Used by :func:`keyed_dropout`, :func:`mc_dropout` and :class:`seedwise.ensemble.Ensemble`;
    public for training loops written by hand. ``calls`` counts the dropout calls made.
    """

    def __init__(
        self,
        key: torch.Tensor | np.ndarray | None,
        position: int | np.ndarray,
        *,
        force: bool = False,
        member: torch.Tensor | None = None,
    ):
        super().__init__()
        if member is not None and not (isinstance(key, np.ndarray) and key.ndim == 2 and isinstance(position, int)):
            raise InvalidArgumentError(
                "member= needs key= the (K, 4) uint32 host keys of all members and one int position"
            )
        self.key = key
        self.position = position
        self.force = bool(force)
        self.member = member
        self.calls = 0

    def __repr__(self) -> str:
        position = self.position if isinstance(self.position, int) else f"<{self.position.shape[0]} samples>"
        return f"KeyedDropoutMode(position={position}, force={self.force}, calls={self.calls})"

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        spec = _DROPOUT.get(func)
        if spec is not None:
            return self._dropout(spec, args, kwargs)
        inner = _INNER_DROPOUT.get(func)
        if inner is not None:
            self._check_inner(func, inner, args, kwargs)
        if func in _GLOBAL_RNG and kwargs.get("generator") is None:
            name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
            raise InvalidArgumentError(
                f"the model calls {name} without a generator, which draws from the global RNG and "
                "would make this keyed run irreproducible; pass an explicit torch.Generator "
                "(e.g. seeds['noise'].torch()) or move the draw out of the forward"
            )
        return func(*args, **kwargs)

    def _check_inner(self, func: Any, spec: tuple[int, int | None, str], args: tuple, kwargs: dict) -> None:
        p_index, train_index, what = spec
        if func is F.rrelu:
            active = bool(args[3] if len(args) > 3 else kwargs.get("training", False))
        else:
            p = args[p_index] if len(args) > p_index else kwargs.get("dropout_p", 0.0)
            training = True
            if train_index is not None:
                training = bool(args[train_index] if len(args) > train_index else kwargs.get("training", True))
            active = float(p) > 0.0 and training
        if active:
            raise InvalidArgumentError(
                f"{what} draws its randomness from the global RNG inside torch, where seedwise cannot key it; "
                "set that dropout to 0 (keep nn.Dropout layers, which are keyed) or run the model without seedwise's keyed dropout"
            )

    def _dropout(self, spec: tuple[str, bool, int, bool, bool], args: tuple, kwargs: dict) -> torch.Tensor:
        name, channel, batched_ndim, alpha, default_training = spec
        flag = "train" if name.startswith("torch.") else "training"
        values = dict(zip(("input", "p", flag, "inplace"), args))
        values.update(kwargs)
        x = values["input"]
        p = float(values.get("p", 0.5))
        training = bool(values.get(flag, default_training))
        if not 0.0 <= p <= 1.0:
            raise InvalidArgumentError(f"{name}: the dropout probability p must be in [0, 1], got {p}")
        if not (training or self.force) or p == 0.0:
            return x
        if self.key is None:
            raise InvalidArgumentError(
                f"the model calls {name} in training mode but no dropout stream was given; pass seeds= "
                "(e.g. seeds=root) so that every mask is keyed, or put the model in eval mode"
            )
        call = self.calls
        self.calls += 1
        if p == 1.0:
            return x * 0.0
        # (K, 4) host keys without a member index: the K members are stacked along dim 0
        stacked = self.member is None and isinstance(self.key, np.ndarray) and self.key.ndim == 2
        per_member = tuple(x.shape[1:]) if stacked else tuple(x.shape)
        if channel:
            unbatched = batched_ndim and len(per_member) == batched_ndim - 1
            lead = 1 if unbatched else 2
            if len(per_member) < lead:
                raise InvalidArgumentError(
                    f"{name} needs an input with a channel dimension, got shape {tuple(x.shape)}"
                )
            shape = per_member[:lead] + (1,) * (len(per_member) - lead)
        else:
            shape = per_member
        if stacked:
            shape = (int(x.shape[0]),) + shape
        if not isinstance(self.position, int):
            n = self.position.shape[0]
            if not shape or shape[0] % n:
                raise InvalidArgumentError(
                    f"{name} got an input of shape {tuple(x.shape)} whose first dimension does not hold "
                    f"{n} stacked samples; MC dropout needs batch-first dropout inputs"
                )
        if self.member is not None:  # inside vmap: all members' masks at once, each member picks its own
            shape = (self.key.shape[0],) + shape  # type: ignore[union-attr]
        noise = None
        if not alpha and isinstance(self.key, np.ndarray) and x.device.type == "cpu":
            noise = _host_noise(self.key, self.position, call, shape, p, x.dtype)
        if noise is not None:
            return x * (noise if self.member is None else noise[self.member])
        keep = _keep_mask(self.key, self.position, call, shape, p, x.device)
        return _apply(x, keep if self.member is None else keep[self.member], p, alpha)


def _check_position(position: object) -> int:
    return check_int("position", position, low=0, high=2**31)


@contextlib.contextmanager
def keyed_dropout(seeds: SeedLike, position: int, *, force: bool = False) -> Iterator[Any]:
    """Run a block with every dropout mask keyed by ``(seeds, position, call index)``.

    For training a single model reproducibly: ``with keyed_dropout(seeds["dropout"], step):
    loss = loss_fn(model(x), y)``. The masks do not depend on anything drawn before, so a
    resumed run at step ``s`` sees the masks of step ``s``. The global RNGs are untouched.
    Yields the mode (its ``calls`` counts the dropout calls made).
    """
    key = host_key(as_seeds(seeds))
    mode = KeyedDropoutMode(key, _check_position(position), force=force)
    with mode:
        yield mode


def mc_dropout(
    model: torch.nn.Module,
    x: torch.Tensor,
    *,
    samples: int = 32,
    seeds: SeedLike,
    chunk_size: int | None = None,
    output: Literal["probs", "logits"] = "probs",
) -> torch.Tensor:
    """Monte-Carlo dropout (Gal & Ghahramani 2016): ``samples`` stochastic forwards, batched.

    Everything in ``model`` runs in eval mode (BatchNorm uses its running statistics) except
    dropout, which stays stochastic -- layers and functional calls alike, whatever their
    ``training`` flag. The ``samples`` copies of ``x`` are stacked into one batch of
    ``samples * B`` rows (``chunk_size`` samples per forward; by default as many as fit in
    :data:`DEFAULT_MAX_ROWS` rows) and sample ``t``'s masks are a pure function of
    ``(seeds, t, call index)``: sample ``t`` is the same for any ``samples > t`` and any
    chunking, and the same prediction comes back every time. Runs under ``torch.no_grad``;
    the model's train/eval modes are restored afterwards and the global RNGs are untouched.

    Args:
        model: a classifier mapping ``(B, ...)`` to ``(B, C)`` logits.
        x: the inputs, batch first.
        samples: the number of MC samples ``S``.
        seeds: the dropout stream (required), e.g. ``root["mc_dropout"]``.
        chunk_size: samples per forward (``None``: automatic; ``1``: a loop, least memory).
        output: ``"probs"`` (softmax over the last dimension; what :mod:`seedwise.metrics`
            takes) or ``"logits"`` (the raw outputs).

    Returns:
        A tensor of shape ``(S, B, C)``: ``.mean(0)`` of the probabilities is the MC-dropout
        predictive distribution; ``seedwise.metrics.mutual_information`` its epistemic part.
    """
    if not isinstance(model, torch.nn.Module):
        raise InvalidTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        raise InvalidTypeError(f"x must be a torch.Tensor (batch first), got {type(x).__name__}")
    if x.dim() == 0 or x.shape[0] == 0:
        raise InvalidArgumentError(f"x must be a non-empty batch (batch dimension first), got shape {tuple(x.shape)}")
    n_samples = check_int("samples", samples, low=1, high=2**31)
    if seeds is None:
        raise InvalidTypeError("mc_dropout needs seeds= (e.g. seeds=root['mc_dropout']): the masks are keyed by it")
    stream = as_seeds(seeds, "seeds")
    check_choice("output", output, ("probs", "logits"))
    batch = int(x.shape[0])
    if chunk_size is None:
        chunk = max(1, min(n_samples, DEFAULT_MAX_ROWS // batch))
    else:
        chunk = check_int("chunk_size", chunk_size, low=1)
        chunk = min(chunk, n_samples)

    key = host_key(stream)
    modes = {m: m.training for m in model.modules()}
    outputs = []
    try:
        model.eval()
        with torch.no_grad():
            for start in range(0, n_samples, chunk):
                n = min(chunk, n_samples - start)
                positions = np.arange(start, start + n, dtype=np.uint32)
                stacked = x.repeat((n,) + (1,) * (x.dim() - 1))
                with KeyedDropoutMode(key, positions, force=True):
                    out = model(stacked)
                if not isinstance(out, torch.Tensor) or out.dim() < 1 or out.shape[0] != n * batch:
                    shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                    raise InvalidArgumentError(
                        f"model must return a tensor with the batch first, shape ({n * batch}, ...) for "
                        f"{n * batch} input rows; got {shape}"
                    )
                outputs.append(out.reshape((n, batch) + tuple(out.shape[1:])))
    finally:
        for module, training in modes.items():
            module.training = training
    result = torch.cat(outputs, dim=0)
    return result.softmax(dim=-1) if output == "probs" else result
