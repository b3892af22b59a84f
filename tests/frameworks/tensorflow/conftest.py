"""Shared by the TensorFlow tests: TensorFlow and Keras imported once per process (5-25 s),
and small in-memory data. Every test here is skipped without the tensorflow extra."""

from __future__ import annotations

import numpy as np
import pytest

from seedwise._optional import import_keeping_global_rngs, module_available


@pytest.fixture(scope="session")
def tf():
    if not module_available("tensorflow"):
        pytest.skip("needs the tensorflow extra: pip install 'seedwise[tensorflow]'")
    tf = import_keeping_global_rngs("tensorflow", "tensorflow", "the tests")
    import_keeping_global_rngs("keras", "tensorflow", "the tests")
    return tf


@pytest.fixture(scope="session")
def keras(tf):
    import keras

    return keras


@pytest.fixture(scope="session")
def images():
    """40 RGB uint8 images (10 x 12) with labels 0..39: a label names its sample."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(40, 10, 12, 3), dtype=np.uint8), np.arange(40)
