"""The old module paths of process-global state keep working for one release, as re-exports
of the new modules that warn (DeprecationWarning, naming the new path), and the public names
point at the new modules."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import seedwise as sw
from seedwise.process import determinism, fingerprint, seeding, settings, state
from seedwise.process.adapters import ADAPTERS, adapter, installed

OLD = [
    ("seedwise.everything", seeding, ["SeedReport", "seed_everything", "keyed", "global_seed"]),
    ("seedwise.determinism", determinism, ["DeterminismReport", "deterministic", "resolve_frameworks"]),
    ("seedwise.state", state, ["RNGState", "FORMAT_VERSION"]),
    ("seedwise.fingerprint", fingerprint, ["fingerprint", "NUMERIC_ENV_VARS"]),
    ("seedwise._report", settings, ["SettingsReport"]),
    ("seedwise.frameworks._base", settings, ["Setting", "State"]),
]


def _import_fresh(name: str):
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.mark.parametrize("old,new,names", OLD, ids=[o for o, _, _ in OLD])
def test_old_module_re_exports_the_new_names(old, new, names):
    if old == "seedwise.determinism":  # also the public attribute sw.determinism: an alias, no warning
        module = importlib.import_module(old)
    else:
        with pytest.warns(DeprecationWarning, match=rf"{old} is deprecated .* import from {new.__name__}"):
            module = _import_fresh(old)
    for name in names:
        assert getattr(module, name) is getattr(new, name), name


def test_old_frameworks_names():
    import seedwise.frameworks as fw

    assert fw.ADAPTERS is ADAPTERS and fw.adapter is adapter and fw.installed is installed
    assert fw.Setting is settings.Setting and fw.State is settings.State
    assert fw.adapter("torch") is importlib.import_module("seedwise.process.adapters.torch")
    with pytest.warns(DeprecationWarning, match="seedwise.frameworks._base is deprecated"):
        _import_fresh("seedwise.frameworks._base")
    from seedwise.frameworks._base import distribution_version, module_available, require

    assert module_available("numpy") and distribution_version("numpy") and require("json", "x", "y")


def test_public_names_point_at_the_process_modules():
    assert sw.seed_everything is seeding.seed_everything and sw.keyed is seeding.keyed
    assert sw.SeedReport is seeding.SeedReport
    assert sw.deterministic is determinism.deterministic and sw.DeterminismReport is determinism.DeterminismReport
    assert sw.RNGState is state.RNGState
    assert sw.determinism is determinism


def test_fingerprint_stays_callable_after_its_old_module_is_imported():
    """Importing seedwise.fingerprint binds the package attribute to that module: it must still call."""
    code = (
        "import seedwise as sw\n"
        "from seedwise.process import fingerprint\n"
        "assert sw.fingerprint is fingerprint.fingerprint\n"
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    from seedwise.fingerprint import NUMERIC_ENV_VARS\n"
        "assert any(issubclass(w.category, DeprecationWarning) for w in caught)\n"
        "fp = sw.fingerprint(import_frameworks=False)\n"
        "assert fp['versions']['seedwise'] == sw.__version__ and 'PYTHONHASHSEED' in NUMERIC_ENV_VARS\n"
    )
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
