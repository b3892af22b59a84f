"""MC dropout (Gal & Ghahramani 2016): many stochastic forwards of one model, batched and keyed.

:func:`mc_dropout` runs the model in eval mode with its dropout kept stochastic, the
samples stacked into one batch, under :class:`~seedwise.stateless.dropout.KeyedDropoutMode`:
sample ``t``'s masks are a pure function of ``(seeds, t, call index)``, so sample ``t`` is
the same whatever the number of samples or the chunking, and the global RNGs are never
read or advanced. The keyed-dropout mechanism itself (the mode, :func:`keyed_dropout` for
training, :func:`key_words` / :func:`host_key`, the mask hash and what it refuses) is a
core generator and lives in :mod:`seedwise.stateless.dropout`; its public names are
re-exported here, where users find them (``from seedwise.bayes.dropout import
keyed_dropout``).

Supported layouts: dropout inputs must have the batch as their first dimension (as every
``nn`` layer's batch-first input does); :func:`mc_dropout` checks that it divides by the
number of samples in a forward. Sequence-first layers (``batch_first=False``) are not
supported by :func:`mc_dropout`. In eval mode attention layers turn their dropout off
themselves, so MC dropout samples the model's ``nn.Dropout`` layers but not attention
dropout.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from seedwise._validate import check_choice, check_int
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.seeds import SeedLike, as_seeds
from seedwise.stateless.dropout import KeyedDropoutMode, host_key, key_words, keyed_dropout

__all__ = ["mc_dropout", "keyed_dropout", "KeyedDropoutMode", "key_words", "host_key", "DEFAULT_MAX_ROWS"]

#: With ``chunk_size=None``, :func:`mc_dropout` runs as many samples per forward as fit in
#: this many rows (``samples_per_forward * batch <= DEFAULT_MAX_ROWS``).
DEFAULT_MAX_ROWS = 65536


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
