"""Deep ensembles trained all at once: K members in one vectorised forward and backward.

A deep ensemble (Lakshminarayanan et al. 2017) trains K copies of a network from
different random initialisations (and data orders, and dropout masks) and averages their
predictions; it is the strongest simple way to turn seed-to-seed variance into better,
calibrated predictions. :class:`Ensemble` makes every member's randomness explicit:

* **Initialisation.** Member ``i`` is built by ``make_model()`` and re-initialised by
  :func:`seedwise.init.initialize` from ``seeds[i]`` (``== seeds.spawn(k)[i]``), each
  parameter from ``seeds[i][parameter_name]``. Member ``i`` is therefore bit-identical
  whatever ``k`` is: member 3 of an 8-member ensemble is member 3 of a 16-member one.
  ``make_model()`` runs with the global torch RNG saved and restored, so building an
  ensemble leaves the global RNGs as they were.
* **Data order.** :meth:`Ensemble.fit` gives member ``i`` the order
  ``seedwise.data.epoch_order(seeds[i]["data_order"], epoch, n)`` (of the ``seeds``
  given to ``fit``), cut into batches by :func:`seedwise.data.epoch_batches`: a pure
  function of (stream, epoch), so a resumed fit sees the same batches.
* **Dropout.** Member ``i``'s dropout masks at training step ``s`` are keyed by
  ``(seeds[i]["dropout"], s, call index)`` through
  :class:`seedwise.stateless.dropout.KeyedDropoutMode`: computed by a counter-based hash
  from the member's key, which enters ``vmap`` as a batched input. ``vmap`` runs with
  ``randomness="error"``: torch's own ``randomness="different"`` would draw every mask
  from the global RNG (so member ``i``'s masks would depend on ``k``), and any other random
  op in the model raises instead of silently breaking reproducibility.

Two engines hold and run the members, chosen once by ``vectorize``:

* **vectorised** (``vectorize=True``, ``_vectorized.py``): the members' parameters stacked
  with ``torch.func.stack_module_state``, all members run at once -- a plain
  ``nn.Sequential`` of ``Linear``/``Conv`` layers, batch norm, pooling, elementwise
  activations and dropout directly on the stacked tensors (``_stacked.py``: one batched
  matrix product or one grouped convolution per layer, the same dropout masks), any other
  model through ``vmap(functional_call(...))`` -- the K losses summed and one ``torch.optim``
  optimiser (the fused kernels) stepping the stacked tensors. Adam, AdamW and SGD (with
  momentum and weight decay) update each element from its own gradient and state only, so
  this is exactly per-member Adam/SGD -- same step count, same bias correction -- computed
  K at a time. Optimisers that couple elements (LBFGS, gradient-norm clipping, LAMB/LARS
  trust ratios) are **not** per-member when given as a callable; use ``vectorize=False``.
* **loop** (``vectorize=False``, ``_loop.py``): K ordinary modules with K optimisers,
  exactly the same per-member randomness; after training it matches the vectorised
  ensemble to float rounding (the batched matrix products sum in a different order).

Both implement the small protocol in ``_engine.py``; everything else (arguments, keys,
counters, data order, the file format in ``_io.py``) is the ensemble's and shared.
Nothing here reads or advances a global RNG, and nothing read back is unpickled:
:meth:`Ensemble.save` writes safetensors with JSON metadata.
"""

from __future__ import annotations

from seedwise.ensemble._ensemble import Ensemble
from seedwise.ensemble._functional import COMBINE, combine_outputs, member_keys, stack_members, vmapped_forward
from seedwise.ensemble._optim import OPTIMIZERS, make_optimizer

__all__ = [
    "Ensemble",
    "COMBINE",
    "OPTIMIZERS",
    "stack_members",
    "member_keys",
    "vmapped_forward",
    "make_optimizer",
    "combine_outputs",
]
