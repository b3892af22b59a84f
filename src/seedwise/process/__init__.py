"""Process-global state, in one place: the global RNGs, deterministic kernels, RNG state
snapshots, the environment fingerprint, and the per-framework adapters behind them.

* :mod:`~seedwise.process.seeding`: ``seed_everything``, ``keyed``, ``global_seed``, ``SeedReport``;
* :mod:`~seedwise.process.determinism`: ``deterministic``, ``DeterminismReport``;
* :mod:`~seedwise.process.state`: ``RNGState`` (file format in ``_state_file``);
* :mod:`~seedwise.process.fingerprint`: ``fingerprint``, ``NUMERIC_ENV_VARS``;
* :mod:`~seedwise.process.settings`: ``Setting``, ``State``, ``SettingsReport``;
* :mod:`~seedwise.process.global_rngs`: capture / seed / restore the global RNGs in use;
* :mod:`~seedwise.process.adapters`: one module per framework (Python, NumPy, torch,
  TensorFlow, JAX, PyTensor) with the global-state protocol.

Every function here touches only the frameworks already imported in the process, unless
the caller names others: seedwise never imports a framework on its own. The public names
are also ``seedwise.seed_everything``, ``seedwise.RNGState``... Nothing here is imported
with ``import seedwise``; each module loads on first use.
"""
