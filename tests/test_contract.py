"""The contract every module keeps: the public API resolves, and library code never touches a global RNG.

The shared checks live in tests/kit/ (``kit.rng_lint``); this file runs them over the whole package.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import seedwise
from kit.rng_lint import global_rng_calls

SRC = Path(seedwise.__file__).parent
#: Old module paths kept for one release (DeprecationWarning on import, naming the new path).
DEPRECATED = {"seedwise.everything", "seedwise.state", "seedwise.fingerprint", "seedwise.study.train"}
#: Modules that are not user API (the CLI's commands, the demo, the framework adapters): they import
#: quietly and their ``__all__`` resolves, but their exports need no docstrings.
INTERNAL = ("seedwise.cli", "seedwise.commands", "seedwise.demo", "seedwise.process.adapters")


def _public_modules() -> list[str]:
    names = ["seedwise"]
    for info in pkgutil.walk_packages(seedwise.__path__, "seedwise."):
        if not any(part.startswith("_") for part in info.name.split(".")) and info.name not in DEPRECATED:
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _public_modules())
def test_public_module_imports_quietly_and_its_all_resolves(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DeprecationWarning from a path that is not deprecated
        module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    exported = getattr(module, "__all__", [])
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    for attr in exported:
        value = getattr(module, attr)  # AttributeError names the missing export
        documented = not name.startswith(INTERNAL) and (inspect.isclass(value) or inspect.isfunction(value))
        if documented and value.__module__.startswith("seedwise"):
            assert inspect.getdoc(value), f"{name}.{attr} has no docstring"


@pytest.mark.parametrize("name", sorted(n for n in DEPRECATED if importlib.util.find_spec(n) is not None))
def test_old_paths_warn_and_name_the_new_one(name):
    code = f"import warnings\nwarnings.simplefilter('error')\ntry:\n    import {name}\n"
    code += "except DeprecationWarning as w:\n    print(w)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "deprecated" in out.stdout and "import from seedwise." in out.stdout, out.stdout


def test_top_level_names_are_documented_in_the_readme_or_docs():
    text = (SRC.parents[1] / "README.md").read_text() + "".join(
        p.read_text() for p in sorted((SRC.parents[1] / "docs").glob("*.md"))
    )
    missing = [name for name in seedwise.__all__ if name not in text and not name.startswith("__")]
    assert not missing, f"public names no page mentions: {missing}"


def test_python_dash_m_seedwise_is_the_cli():
    version = subprocess.run(
        [sys.executable, "-m", "seedwise", "--version"], capture_output=True, text=True, timeout=120
    )
    assert version.returncode == 0 and version.stdout.strip() == f"seedwise {seedwise.__version__}", version
    bad = subprocess.run(
        [sys.executable, "-m", "seedwise", "no-such-command"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr


def test_no_global_rng_in_library_code():
    """Library code draws only from explicit generators; a global-state line says why ('# global-rng-ok: ...')."""
    offenders = global_rng_calls(SRC)
    assert not offenders, "calls that use a global RNG:\n" + "\n".join(offenders)


def test_the_lint_finds_what_it_is_for(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "bad.py").write_text(
        textwrap.dedent(
            """
            import random
            import numpy as np
            import torch
            import torch.nn.functional as F
            from random import shuffle
            from numpy import random as npr

            def draws(x, items):
                random.random()
                shuffle(items)
                np.random.permutation(10)
                npr.normal()
                np.random.default_rng()
                torch.randn(
                    3,
                )
                F.dropout(x, 0.5)
                x.uniform_(0, 1)
                torch.nn.init.kaiming_uniform_(x)
                torch.manual_seed(0)
            """
        )
    )
    (pkg / "good.py").write_text(
        textwrap.dedent(
            """
            import random
            import numpy as np
            import torch

            def draws(x, g, seed):
                random.Random(seed).random()
                np.random.default_rng(seed).permutation(10)
                np.random.Generator(np.random.PCG64(seed))
                torch.randn(3, generator=g)
                x.uniform_(0, 1, generator=g)
                torch.nn.init.zeros_(x)
                state = random.getstate()  # reading changes nothing
                random.setstate(state)  # global-rng-ok: restoring
                text = "np.random.rand(3) in a string is not a call"  # np.random.rand(3) in a comment neither
            """
        )
    )
    found = global_rng_calls(pkg)
    assert all(line.startswith("pkg/bad.py:") for line in found), found
    assert [int(line.split(":")[1]) for line in found] == [10, 11, 12, 13, 14, 15, 18, 19, 20, 21], found
