"""seedwise.frameworks: its submodules resolve lazily as attributes (issue 18 item 21)."""

from __future__ import annotations

import subprocess
import sys

import pytest

LAZY = """
import sys
import seedwise as sw

frameworks = sw.frameworks
for name in ("tensorflow", "jax", "pytensor"):
    assert f"seedwise.frameworks.{name}" not in sys.modules, name
    module = getattr(frameworks, name)  # loads seedwise.frameworks.<name> now ...
    assert module is sys.modules[f"seedwise.frameworks.{name}"], name
    assert name not in sys.modules, name  # ... but not the framework itself
assert {"tensorflow", "jax", "pytensor"} <= set(dir(frameworks))
try:
    frameworks.theano
except AttributeError as exc:
    assert "theano" in str(exc)
else:
    raise AssertionError("no AttributeError")
key = sw.frameworks.jax.step_key(sw.Seeds(0), 1)  # the framework is imported when a function needs it
assert "jax" in sys.modules
print("ok")
"""


def test_tensorflow_jax_and_pytensor_resolve_lazily_as_attributes():
    pytest.importorskip("jax", reason="needs the jax extra: pip install 'seedwise[jax]'")
    out = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


def test_documented_names_keep_their_paths():
    from seedwise.frameworks import jax, pytensor, tensorflow

    assert callable(tensorflow.initializer) and callable(tensorflow.initializer_seed)
    assert callable(tensorflow.stateless_seed) and callable(tensorflow.generator_from_seeds)
    assert "he_normal" in tensorflow.INITIALIZERS
    assert callable(jax.key_from_seeds) and callable(jax.member_keys) and callable(jax.step_key)
    assert callable(pytensor.random_stream_from_seeds) and callable(pytensor.shared_rng)
