"""seedwise inside the tools people train and track with; each module is an optional extra.

Nothing here is imported by ``import seedwise``; import the module you use:

* :mod:`seedwise.integrations.mlflow` (extra ``mlflow``): log a run's seeds tree,
  ``seed_everything`` report and ``fingerprint()``; export a study's runs to MLflow.
* :mod:`seedwise.integrations.wandb` (extra ``wandb``): the same for Weights & Biases.

Each module imports its package only when used and raises
:class:`~seedwise.errors.MissingDependencyError` naming the extra when it is absent.
See docs/integrations.md.
"""
