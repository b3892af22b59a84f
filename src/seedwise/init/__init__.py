"""Name-keyed seeded initialisation: each parameter draws from its own stream.

PyTorch modules draw their initial weights from the global RNG in construction order,
so inserting one layer shifts the weights of every layer built after it, and two models
built in a different order differ under the same seed. :func:`initialize` re-draws every
parameter in place from ``seeds[qualified_parameter_name]`` instead, so that

* the same model under the same seeds gets bit-identical weights however and in
  whatever order it was built;
* adding, removing or renaming one submodule leaves every other parameter bit-identical.

Rules (the contract):

* **Streams.** Parameter ``"encoder.0.weight"`` is filled by
  ``seeds["encoder.0.weight"].torch(device=param.device)`` and nothing else. A tied
  (shared) parameter is drawn once, under the first name ``named_parameters()`` gives it.
* **scheme="default"** reproduces the distribution of each module's own
  ``reset_parameters()`` (Linear, Conv*/ConvTranspose*, Bilinear, Embedding(Bag) with its
  ``padding_idx`` row zeroed, LayerNorm, GroupNorm, RMSNorm, BatchNorm/InstanceNorm with
  running statistics reset, RNN/LSTM/GRU and their cells, MultiheadAttention, Transformer,
  PReLU) but seeded per parameter name. A module subclass that overrides
  ``reset_parameters`` is treated as its own kind (its override is respected).
* **Modules seedwise has no rule for** but that define ``reset_parameters()``: it is
  called inside :func:`seedwise.keyed` with the stream ``seeds[module_name]`` at position
  ``"reset_parameters"``, and the global RNGs are restored afterwards. Such a module's
  parameters are then keyed by *module* name, not parameter name: they are unchanged by
  edits elsewhere in the model, but adding a parameter to that module can change its
  others. Any parameter with a rule (a child's, or a scheme) is then drawn from its own
  stream as usual.
* **A parameter no rule covers** (a module with a bare ``nn.Parameter`` and no
  ``reset_parameters``) raises :class:`~seedwise.errors.InvalidArgumentError` naming it;
  nothing is skipped silently. Give it a rule with ``rules={"name": scheme}``.
* **Named schemes** (``"xavier_uniform"``, ``"kaiming_normal"``, ``TruncNormal(std=0.02)``
  ...) given as ``scheme=`` apply to weights, the parameters with two or more dimensions
  (matrices, kernels, embedding tables); biases, norm scales and all buffers keep the
  default rule (so ``scheme=TruncNormal(std=0.02)`` does not zero a LayerNorm's scale). ``rules=`` maps
  ``fnmatch`` patterns of parameter names to schemes, first match wins, and applies to
  every parameter it matches. A callable ``(name, tensor, generator) -> None`` applies to
  every parameter.
* **In place, on any device.** Every tensor keeps its storage (no second copy of the
  weights; a non-contiguous tensor, e.g. channels-last, is drawn into a contiguous
  temporary of its own size so the values do not depend on the memory format), and each
  generator lives on its parameter's device. The global RNGs are left untouched.

The package: ``_schemes`` (the :class:`Scheme` dataclasses and :func:`as_scheme`),
``_rules`` (the per-module default rules), ``_report`` (:class:`InitReport`) and
``_initialize`` (:func:`initialize`: decide every tensor's rule, then draw).
"""

from __future__ import annotations

from seedwise.init._initialize import initialize
from seedwise.init._report import InitEntry, InitReport
from seedwise.init._schemes import (
    SCHEMES,
    Constant,
    Custom,
    Default,
    KaimingNormal,
    KaimingUniform,
    Normal,
    Orthogonal,
    Scheme,
    TruncNormal,
    Uniform,
    XavierNormal,
    XavierUniform,
    as_scheme,
)
from seedwise.init._schemes import InitFn as InitFn  # the type of a custom rule
from seedwise.init._schemes import SchemeLike as SchemeLike  # what scheme= accepts

__all__ = [
    "initialize",
    "InitReport",
    "InitEntry",
    "Scheme",
    "Default",
    "XavierUniform",
    "XavierNormal",
    "KaimingUniform",
    "KaimingNormal",
    "Orthogonal",
    "TruncNormal",
    "Normal",
    "Uniform",
    "Constant",
    "Custom",
    "SCHEMES",
    "as_scheme",
]
