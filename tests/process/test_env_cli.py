"""fingerprint(), `seedwise env`, `--version`, `--help`, and the package's import hygiene."""

from __future__ import annotations

import json
import subprocess
import sys

import seedwise as sw


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seedwise.cli", *args], capture_output=True, text=True, timeout=120)


def test_fingerprint_contents():
    fp = sw.fingerprint()
    assert fp["versions"]["seedwise"] == sw.__version__
    assert fp["versions"]["torch"] and fp["versions"]["numpy"]
    assert "CUBLAS_WORKSPACE_CONFIG" in fp["env"] and "PYTHONHASHSEED" in fp["env"]
    assert "deterministic_algorithms" in fp["torch"]
    json.dumps(fp)


def test_env_json():
    out = _cli("env", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["versions"]["seedwise"] == sw.__version__


def test_env_into_a_closed_pipe_prints_no_error():
    """`seedwise env --json | head -1`: the reader leaving early is not reported as an error."""
    import os

    read, write = os.pipe()
    os.close(read)
    try:
        out = subprocess.run([sys.executable, "-m", "seedwise.cli", "env", "--json"], stdout=write,
                             stderr=subprocess.PIPE, text=True, timeout=120)  # fmt: skip
    finally:
        os.close(write)
    assert out.returncode == 1
    assert out.stderr == ""


def test_env_table():
    out = _cli("env")
    assert out.returncode == 0, out.stderr
    assert "versions.torch" in out.stdout


def test_version_and_help():
    out = _cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"seedwise {sw.__version__}"
    out = _cli("--help")
    assert out.returncode == 0 and "env" in out.stdout


def test_unknown_command_is_usage_error():
    out = _cli("frobnicate")
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_import_changes_no_global_state_and_imports_no_framework():
    code = (
        "import random, sys, numpy as np\n"
        "a = (random.getstate(), np.random.get_state()[1].tobytes())\n"
        "import seedwise\n"
        "b = (random.getstate(), np.random.get_state()[1].tobytes())\n"
        "assert a == b\n"
        "heavy = [m for m in ('torch', 'tensorflow', 'jax', 'ray', 'cv2', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_public_names_resolve():
    for name in [
        "Seeds",
        "as_seeds",
        "stateless",
        "seed_everything",
        "keyed",
        "RNGState",
        "fingerprint",
        "deterministic",
    ]:
        assert getattr(sw, name) is not None, name


def test_fingerprint_without_importing_frameworks():
    code = (
        "import sys, seedwise as sw\n"
        "fp = sw.fingerprint(import_frameworks=False)\n"
        "assert 'torch' not in sys.modules and 'torch' not in fp, sorted(fp)\n"
        "assert fp['versions']['torch']\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
