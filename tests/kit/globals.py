"""Snapshot every global RNG of the process, and say which ones changed.

``snapshot()`` reads the state of each global random number generator that the process
has loaded: Python's ``random``, NumPy's legacy global ``RandomState``, PyTorch's CPU
generator (and each CUDA device's, when CUDA is initialised), TensorFlow's global
generator (when TensorFlow has made one) and Keras' global ``SeedGenerator`` (when one
exists). Reading a state never changes it and never imports a framework.

    before = snapshot()
    call_under_test()
    assert changed(before, snapshot()) == []

:func:`check_in_fresh_process` runs a snippet in a new interpreter, between two snapshots
taken there, so the first-import effects of the snippet count too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

__all__ = ["snapshot", "changed", "check_in_fresh_process"]


def _as_bytes(state: Any) -> bytes:
    import numpy as np

    if hasattr(state, "numpy"):  # a torch or TensorFlow tensor
        state = state.numpy()
    return np.asarray(state).tobytes()


def snapshot() -> dict[str, Any]:
    """The state of every global RNG loaded in this process, by name (comparable with ``==``)."""
    import random

    states: dict[str, Any] = {"python.random": random.getstate()}
    np = sys.modules.get("numpy")
    if np is not None:
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        states["numpy.random"] = (kind, keys.tobytes(), pos, has_gauss, gauss)
    torch = sys.modules.get("torch")
    if torch is not None:
        states["torch.cpu"] = _as_bytes(torch.get_rng_state())
        if torch.cuda.is_initialized():
            for i, state in enumerate(torch.cuda.get_rng_state_all()):
                states[f"torch.cuda:{i}"] = _as_bytes(state)
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        from tensorflow.python.ops import stateful_random_ops  # the global generator lives here

        generator = getattr(stateful_random_ops, "global_generator", None)
        if generator is not None:
            states["tensorflow.global_generator"] = _as_bytes(generator.state)
    keras_state = sys.modules.get("keras.src.backend.common.global_state")
    if keras_state is not None:
        generator = keras_state.get_global_attribute("global_seed_generator")
        if generator is not None:
            states["keras.global_seed_generator"] = _as_bytes(generator.state.value)
    return states


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The global RNGs whose state differs between two snapshots (one loaded in between counts as unchanged)."""
    return sorted(name for name in before if name in after and before[name] != after[name])


_SNIPPET = """
import json, sys
sys.path.insert(0, {kit!r})
from kit.globals import snapshot, changed
{setup}
before = snapshot()
{code}
print("KIT-CHANGED " + json.dumps(changed(before, snapshot())))
"""


def check_in_fresh_process(code: str, *, setup: str = "", cwd: str | os.PathLike[str] | None = None,
                           timeout: float = 300) -> list[str]:  # fmt: skip
    """Run ``setup`` then ``code`` in a new Python process; return the global RNGs ``code`` changed.

    ``setup`` runs before the first snapshot (import the frameworks whose RNGs should be
    watched there: a framework first imported by ``code`` is not compared). Raises if the
    process fails.
    """
    script = _SNIPPET.format(
        kit=str(Path(__file__).parent.parent), setup=textwrap.dedent(setup), code=textwrap.dedent(code)
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=timeout)
    lines = [line for line in out.stdout.splitlines() if line.startswith("KIT-CHANGED ")]
    if out.returncode != 0 or not lines:
        raise AssertionError(f"the snippet failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    result: list[str] = json.loads(lines[-1][len("KIT-CHANGED ") :])
    return result
