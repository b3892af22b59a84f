"""Stateless, vectorised random draws: pure functions of (key, counter).

Every function here evaluates the Philox-4x64-10 bijection (Salmon et al. 2011, the
generator behind :class:`numpy.random.Philox`) at explicit counters, so a draw never
depends on what was drawn before it. This is what makes augmentation independent of
the number of workers, the batch size and resumption: sample ``i`` of epoch ``e`` gets
the numbers at counter ``(e, i)`` however the samples are grouped.

Counter layout: Philox has a 256-bit counter of four 64-bit words. Word 0 numbers the
blocks of four values one position needs (a position asking for ``size=10`` values
uses blocks 0, 1 and 2); words 1-3 are the position the caller gives, as one integer
array or a tuple of up to three broadcastable integer arrays (for example
``(epoch, index)``). :func:`philox` is the raw bijection; its output equals
``numpy.random.Philox(key=key, counter=counter - 1).random_raw(4)`` (NumPy increments
its counter before each block), which the tests check bit for bit.

Distributions:

* :func:`uniform`: ``(raw >> 11) * 2**-53``, the 53-bit float NumPy uses, in ``[0, 1)``
  scaled to ``[low, high)``;
* :func:`normal`: Box-Muller on two uniforms;
* :func:`integers`: ``low + mulhi64(raw, high - low)`` (bias below ``(high-low) / 2**64``);
* :func:`bernoulli`: ``uniform < p``;
* :func:`permutation`: a stable argsort of 64-bit random keys.

Values of different functions at the same counter share raw bits: give independent
quantities their own stream (``seeds["angle"]``, ``seeds["flip"]``) rather than their
own counter.

This package is the only place in seedwise that turns keys into random bits. Besides the
public functions above it holds, for seedwise's own consumers:

* :mod:`._philox`: the bijection, vectorised (:func:`philox`) and on Python ints
  (``philox_block``, bit for bit the same);
* :mod:`._per_sample`: the per-sample helpers augmentation uses (uniforms for several
  streams at once, with the Python-int fast path for a few samples; one NumPy generator
  per sample for noise images);
* :mod:`.dropout` (public, imports torch): keyed dropout, every dropout mask a pure
  function of (stream, position, call index) -- or, per sample, each batch row's of
  (stream, epoch, sample index, call index) (:mod:`._sample_mask`) -- over the
  ``lowbias32`` hash of :mod:`._hash` (torch, Python-int, NumPy and compiled forms).

Importing this package imports NumPy only; the torch-using modules load on use.
"""

from __future__ import annotations

from seedwise.stateless._distributions import bernoulli, integers, normal, permutation, raw, uniform
from seedwise.stateless._philox import as_key, philox

__all__ = ["philox", "raw", "uniform", "normal", "integers", "bernoulli", "permutation", "as_key"]
