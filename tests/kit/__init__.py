"""Shared contract helpers for the tests (see docs/architecture.md, "Tests").

:mod:`kit.globals`: snapshot every global RNG of this process and compare two snapshots,
to prove that a seedwise call (and every import it triggers) leaves them untouched.

:mod:`kit.rng_lint`: the one global-RNG lint, run over the package by tests/test_contract.py.

:mod:`kit.runner`: a study runner in its own process, waited for and stopped by the tests that interrupt it.

:mod:`kit.digits`: scikit-learn digits and the single model the Bayesian tests compare against.
"""
