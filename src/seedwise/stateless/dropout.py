"""Keyed dropout: every dropout mask a pure function of (stream, position, call index).

PyTorch's dropout draws its masks from the global RNG, so a forward with dropout on
changes with everything that drew before it, and inside ``torch.func.vmap`` all members
of an ensemble would either share one mask or draw from one shared global stream.

Here, the model runs under a :class:`~torch.overrides.TorchFunctionMode` that intercepts
every dropout call -- the modules ``nn.Dropout``, ``Dropout1d/2d/3d``, ``AlphaDropout``
and ``FeatureAlphaDropout`` as well as the functions ``F.dropout``, ``F.dropout1d/2d/3d``,
``F.alpha_dropout``, ``F.feature_alpha_dropout`` and ``torch.dropout`` (and its
feature/alpha variants) called directly in a ``forward`` -- and computes the mask from

* the stream's key (the 128-bit :attr:`seedwise.Seeds.key`),
* a position (the MC sample ``t``, or the training step) -- or, in the per-sample mode
  (``per_sample=(epoch, indices)``), each batch row's own ``(epoch, sample index)``, and
* the call index (the first dropout call of a forward is 0, the next 1, ...),

with a counter-based hash evaluated by torch ops on the input's device (or a compiled loop
on the CPU; :mod:`seedwise.stateless._dropout_mask`): element ``e`` of the mask is kept
when ``h(e) >= p * 2**32``, where ``h(e) = mix(mix(e ^ a) ^ b)``, ``mix`` is the
``lowbias32`` integer finaliser (C. Wellons, two multiply-xorshift rounds; full avalanche;
:mod:`seedwise.stateless._hash`) and the 64-bit call seed ``(a, b)`` is the same finaliser
chained over the four key words, the position and the call index. Kept elements are scaled
by ``1 / (1 - p)`` exactly as ``torch.nn.functional.dropout`` does (alpha dropout keeps
SELU's mean and variance as torch does). Channel-wise variants (``Dropout1d/2d/3d``,
feature alpha dropout) key one value per (sample, channel). The hash costs about as much
as ``torch.bernoulli`` on CPU; it is not Philox (which would need 64-bit multiplies torch
does not vectorise) and is meant for dropout masks, not for cryptography or statistics.

The per-sample mode (:mod:`seedwise.stateless._sample_mask`) keys row ``r`` of every
dropout input by the sample it holds, not by the step: a sample's masks are the same in
any batch, at any batch size, on any rank and with any number of processes, so a
data-parallel run on 1, 2 or 4 processes drops the same units of the same samples (see
docs/data.md, "Masks that do not depend on the number of processes"). The per-step mode
keys a whole call by the step: cheaper to key, but row ``r``'s mask is that of position
``r`` in the batch, which moves with the batch size and the world size.

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
themselves.)

Consumers: :func:`seedwise.bayes.mc_dropout` (which re-exports these names from
:mod:`seedwise.bayes.dropout`, their documented home for users), :mod:`seedwise.ensemble`
and its stacked engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from seedwise._validate import check_int
from seedwise.errors import InvalidArgumentError
from seedwise.seeds import SeedLike, as_seeds
from seedwise.stateless._dropout_mask import apply_mask, host_noise, keep_mask
from seedwise.stateless._hash import signed32
from seedwise.stateless._sample_mask import SampleSeeds, check_per_sample, sample_seeds

__all__ = ["keyed_dropout", "KeyedDropoutMode", "key_words", "host_key"]


def key_words(seeds: SeedLike, device: Any = "cpu") -> torch.Tensor:
    """The stream's 128-bit key as four int32 words (the hash's key), on ``device``."""
    key = as_seeds(seeds).key
    words = []
    for word in key.tolist():
        words += [signed32(word), signed32(word >> 32)]
    return torch.tensor(words, dtype=torch.int32, device=device)


def host_key(seeds: SeedLike) -> np.ndarray:
    """The same four key words as :func:`key_words`, as a NumPy uint32 array (host path)."""
    return key_words(seeds).numpy().view(np.uint32)


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
            dimension (the MC samples stacked in one batch). Leave it out (None) with
            ``per_sample``.
        per_sample: instead of ``position``, the pair ``(epoch, indices)`` of the batch:
            row ``r`` of every dropout input (batch-first, ``len(indices)`` rows) gets the
            mask of sample ``indices[r]`` of ``epoch``, the same in any batch, on any rank
            (:mod:`seedwise.stateless._sample_mask`). ``key`` is then one stream's key (a
            ``(4,)`` host array or an int32 tensor, batched inside ``vmap``); a dropout
            input whose first dimension is not the batch raises.
        force: apply dropout even when the call says ``training=False`` (MC dropout runs the
            model in eval mode and still wants its dropout); otherwise the call's own
            ``training`` flag decides, as it would without seedwise.
        member: inside ``vmap`` over ensemble members, the member index (a batched 0-d
            integer tensor); ``key`` is then the ``(K, 4)`` uint32 host keys of all members
            and ``position`` one int. Every dropout call computes all K members' masks in
            one pass (the compiled CPU kernel where it applies) and each member takes its
            own row: the same masks as a batched ``key`` tensor, at a fraction of the cost.

    Used by :func:`keyed_dropout`, :func:`seedwise.bayes.mc_dropout` and :class:`seedwise.ensemble.Ensemble`;
    public for training loops written by hand. ``calls`` counts the dropout calls made.
    """

    def __init__(
        self,
        key: torch.Tensor | np.ndarray | None,
        position: int | np.ndarray | None = None,
        *,
        per_sample: tuple[int, Any] | None = None,
        force: bool = False,
        member: torch.Tensor | None = None,
    ):
        super().__init__()
        if (position is None) == (per_sample is None):
            raise InvalidArgumentError(
                "KeyedDropoutMode takes either position= (the step: one key per call) or per_sample=(epoch, "
                "indices) (one key per batch row), exactly one of them"
            )
        if member is not None and not (isinstance(key, np.ndarray) and key.ndim == 2 and isinstance(position, int)):
            raise InvalidArgumentError(
                "member= needs key= the (K, 4) uint32 host keys of all members and one int position"
            )
        self.rows: SampleSeeds | None = None
        if per_sample is not None:
            epoch, indices = check_per_sample(per_sample)
            if key is None or (isinstance(key, np.ndarray) and key.shape != (4,)):
                raise InvalidArgumentError(
                    "per_sample= needs the key of one dropout stream (host_key(seeds) or key_words(seeds)); "
                    "stacked ensemble members' keys take one int position"
                )
            self.rows = sample_seeds(key, epoch, indices)
        self.key = key
        self.position: int | np.ndarray = 0 if position is None else position
        self.force = bool(force)
        self.member = member
        self.calls = 0

    def __repr__(self) -> str:
        if self.rows is not None:
            return f"KeyedDropoutMode(per_sample=<{self.rows.n} rows>, force={self.force}, calls={self.calls})"
        position = self.position if isinstance(self.position, int) else f"<{self.position.shape[0]} samples>"
        return f"KeyedDropoutMode(position={position}, force={self.force}, calls={self.calls})"

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
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

    def _check_inner(
        self, func: Any, spec: tuple[int, int | None, str], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
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
                "set that dropout to 0 (keep nn.Dropout layers, which are keyed) or run the model without "
                "seedwise's keyed dropout"
            )

    def _dropout(
        self, spec: tuple[str, bool, int, bool, bool], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> torch.Tensor:
        name, channel, batched_ndim, alpha, default_training = spec
        flag = "train" if name.startswith("torch.") else "training"
        values = dict(zip(("input", "p", flag, "inplace"), args))
        values.update(kwargs)
        x: torch.Tensor = values["input"]
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
        unbatched = False
        if channel:
            unbatched = bool(batched_ndim) and len(per_member) == batched_ndim - 1
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
        if self.rows is not None:
            return self._per_sample(self.rows, name, x, call, shape, p, alpha, unbatched=unbatched)
        if not isinstance(self.position, int):
            n = self.position.shape[0]
            if not shape or shape[0] % n:
                raise InvalidArgumentError(
                    f"{name} got an input of shape {tuple(x.shape)} whose first dimension does not hold "
                    f"{n} stacked samples; MC dropout needs batch-first dropout inputs"
                )
        if self.member is not None:  # inside vmap: all members' masks at once, each member picks its own
            shape = (self.key.shape[0],) + shape
        noise = None
        if not alpha and isinstance(self.key, np.ndarray) and x.device.type == "cpu":
            noise = host_noise(self.key, self.position, call, shape, p, x.dtype)
        if noise is not None:
            return x * (noise if self.member is None else noise[self.member])
        keep = keep_mask(self.key, self.position, call, shape, p, x.device)
        return apply_mask(x, keep if self.member is None else keep[self.member], p, alpha)

    @staticmethod
    def _per_sample(
        rows: SampleSeeds,
        name: str,
        x: torch.Tensor,
        call: int,
        shape: tuple[int, ...],
        p: float,
        alpha: bool,
        *,
        unbatched: bool,
    ) -> torch.Tensor:
        if unbatched or not shape or shape[0] != rows.n:
            raise InvalidArgumentError(
                f"{name} got an input of shape {tuple(x.shape)}, but per_sample= keys {rows.n} rows: per-sample "
                "dropout needs batch-first dropout inputs whose first dimension is the batch the indices describe "
                "(reshape to batch-first, or key this model by step with position=)"
            )
        noise = None if alpha or x.device.type != "cpu" else rows.noise(call, shape, p, x.dtype)
        if noise is not None:
            return x * noise
        return apply_mask(x, rows.keep(call, shape, p, x.device), p, alpha)


def _check_position(position: object) -> int:
    return check_int("position", position, low=0, high=2**31)


@contextlib.contextmanager
def keyed_dropout(
    seeds: SeedLike, position: int | None = None, *, per_sample: tuple[int, Any] | None = None, force: bool = False
) -> Iterator[Any]:
    """Run a block with every dropout mask keyed by ``(seeds, position, call index)``, or per sample.

    Two modes, chosen by which argument you pass (exactly one):

    * ``keyed_dropout(seeds["dropout"], step)``: every mask keyed by (stream, step, call
      index). For training a single model reproducibly; a resumed run at step ``s`` sees
      the masks of step ``s``. In data-parallel training key it by rank too
      (``seeds["dropout"][rank]``): the masks then change with the number of processes.
    * ``keyed_dropout(seeds["dropout"], per_sample=(epoch, indices))``: row ``r`` of every
      dropout input gets the mask of sample ``indices[r]`` of ``epoch`` (and the call
      index), whatever else shares its batch. A run on 1, 2 or 4 processes then drops
      the same units of the same samples (the keys come from
      ``seedwise.data.DataLoader(..., with_keys=True)``, or ``(epoch, idx)`` of
      ``epoch_batches``). Dropout inputs must be batch-first.

    The masks never depend on anything drawn before, and the global RNGs are untouched.
    Yields the mode (its ``calls`` counts the dropout calls made).
    """
    key = host_key(as_seeds(seeds))
    if per_sample is not None:
        if position is not None:
            raise InvalidArgumentError(
                "keyed_dropout takes a position (the step) or per_sample=(epoch, indices), not both: per-sample "
                "masks do not depend on the step"
            )
        mode = KeyedDropoutMode(key, per_sample=per_sample, force=force)
    elif position is None:
        raise InvalidArgumentError(
            "keyed_dropout needs the step as position (keyed_dropout(seeds, step)) or per_sample=(epoch, indices) "
            "(the batch's sample keys, for masks that do not depend on the number of processes)"
        )
    else:
        mode = KeyedDropoutMode(key, _check_position(position), force=force)
    with mode:
        yield mode
