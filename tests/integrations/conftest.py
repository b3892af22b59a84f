"""Fixtures shared by the trainer integrations' tests (Accelerate and the HF Trainer)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for the whole module, as in the subprocesses (OMP_NUM_THREADS=1): the sums, and so the
    weights, depend on the thread count, and module-scoped runs start before function fixtures."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def fresh_accelerate(monkeypatch, tmp_path):
    """Accelerate's process-wide singletons (the HF Trainer's too) reset after each test; no network, no user config."""
    from accelerate.state import AcceleratorState, GradientState

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    yield
    AcceleratorState._reset_state(True)
    GradientState._reset_state()
