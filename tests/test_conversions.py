"""seedwise._conversions (Seeds.jax(), .tensorflow(), .pytensor()) sits in the core: it and
seeds.py import nothing of seedwise above the core, so seeds.py and frameworks/ form no cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import seedwise as sw

SRC = Path(sw.__file__).parent
CORE = {"errors", "_validate", "_table", "streams", "seeds", "_conversions", "_optional", "stateless", "_version"}


def _seedwise_imports(path: Path) -> set[str]:
    """The seedwise modules ``path`` imports anywhere (top level, functions, TYPE_CHECKING)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seedwise"):
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("seedwise."))
    return found


@pytest.mark.parametrize("module", ["seeds.py", "_conversions.py", "_optional.py"])
def test_core_modules_import_only_the_core(module):
    assert _seedwise_imports(SRC / module) <= CORE, _seedwise_imports(SRC / module) - CORE


def test_seeds_conversion_loads_neither_frameworks_nor_process():
    pytest.importorskip("jax", reason="needs the jax extra: pip install 'seedwise[jax]'")
    code = (
        "import sys\n"
        "from seedwise import Seeds\n"
        "Seeds(0).jax()\n"
        "loaded = [m for m in sys.modules if m.startswith(('seedwise.frameworks', 'seedwise.process'))]\n"
        "assert not loaded, loaded\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
