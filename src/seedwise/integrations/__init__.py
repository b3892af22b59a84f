"""seedwise inside the tools people train and track with; each module is an optional extra.

Nothing here is imported by ``import seedwise``; import the module you use:

* :mod:`seedwise.integrations.lightning` (extra ``lightning``): ``SeedwiseCallback``
  (epochs, shards, dropout keyed per step and rank, the run's seeds logged as
  hyperparameters, checks on resume) and ``SeedwiseDataModule`` (no loader plumbing).
* :mod:`seedwise.integrations.accelerate` (extra ``accelerate``): ``prepare``, which
  ``accelerator.prepare``\\ s everything and puts a seedwise loader on the device and into
  ``accelerator.save_state`` / ``load_state``.
* :mod:`seedwise.integrations.transformers` (extra ``transformers``): ``SeedwiseTrainer``,
  a ``transformers.Trainer`` with seedwise's order, augmentation and dropout streams that
  resumes exactly from its checkpoints.
* :mod:`seedwise.integrations.mlflow` (extra ``mlflow``): log a run's seeds tree,
  ``seed_everything`` report and ``fingerprint()``; export a study's runs to MLflow.
* :mod:`seedwise.integrations.wandb` (extra ``wandb``): the same for Weights & Biases.

Each module imports its package only when used and raises
:class:`~seedwise.errors.MissingDependencyError` naming the extra when it is absent.
See docs/integrations.md.
"""
