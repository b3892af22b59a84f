"""Shared test configuration.

Tests that draw random inputs use a seed that is random but printed, and that the
environment variable SEEDWISE_TEST_SEED pins (as equinox does).
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, settings

# The suite runs on 2 shared cores: no per-example deadline, fewer examples in CI.
settings.register_profile("default", deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")

_TEST_SEED = int(os.environ.get("SEEDWISE_TEST_SEED", random.SystemRandom().randrange(2**32)))


def pytest_report_header(config):
    return f"seedwise test seed: {_TEST_SEED} (pin with SEEDWISE_TEST_SEED={_TEST_SEED})"


@pytest.fixture
def one_torch_thread():
    """One intra-op torch thread, restored after the test: on a small shared machine the
    many tiny kernels of these tests are tens of times slower when they wake a thread pool.
    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def test_seed() -> int:
    """A random-but-printed seed for tests whose claim must hold for any seed."""
    return _TEST_SEED


def _prefer_gcc_unwinder() -> None:
    # The GStreamer tests import PyGObject themselves; like seedwise.data.gstreamer, load
    # GCC's unwinder globally first so a later C++ exception (matplotlib's ft2font) does
    # not unwind through GStreamer's libunwind and abort the run.
    from seedwise.data.gstreamer._gst import prefer_gcc_unwinder as prefer

    prefer()


_prefer_gcc_unwinder()
