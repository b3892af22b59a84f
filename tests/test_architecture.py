"""The rules of docs/architecture.md that a machine can check.

* every module belongs to a layer, and imports only from its own layer or those below;
* the modules import each other without cycles (imports inside functions count: a lazy
  import hides a cycle, it does not remove it; imports under ``if TYPE_CHECKING`` do not);
* one concept per module: none over 500 lines, the median at most 200.
"""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "seedwise"

#: docs/architecture.md's layers, lowest first: a module's layer is that of the longest prefix listed.
LAYERS: dict[str, int] = {
    # 0 core
    "seedwise._version": 0,
    "seedwise.errors": 0,
    "seedwise._validate": 0,
    "seedwise._table": 0,
    "seedwise._optional": 0,
    "seedwise._deprecated": 0,
    "seedwise.streams": 0,
    "seedwise.seeds": 0,
    "seedwise._conversions": 0,
    "seedwise._seed_block": 0,
    "seedwise.stateless": 0,
    # 1 process state (and the old paths that re-export it)
    "seedwise.process": 1,
    "seedwise.everything": 1,
    "seedwise.determinism": 1,
    "seedwise.state": 1,
    "seedwise.fingerprint": 1,
    "seedwise._report": 1,
    # 2 consumers
    "seedwise.augment": 2,
    "seedwise.data": 2,
    "seedwise.init": 2,
    "seedwise.ensemble": 2,
    "seedwise.bayes": 2,
    "seedwise.metrics": 2,
    "seedwise.audit": 2,
    "seedwise.frameworks": 2,
    # 3 measurement
    "seedwise.stats": 3,
    "seedwise.study": 3,
    "seedwise.report": 3,
    # 4 integrations
    "seedwise.integrations": 4,
    # 5 entry points
    "seedwise.cli": 5,
    "seedwise.commands": 5,
    "seedwise.demo": 5,
    "seedwise.__main__": 5,
}
LAYER_NAMES = ("core", "process state", "consumers", "measurement", "integrations", "entry points")
MAX_LINES = 500
MAX_MEDIAN = 200


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def layer_of(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return None if best is None else best[1]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str) -> set[str]:
    """The seedwise modules ``module`` imports (a name imported from a package that is a submodule counts as it)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "seedwise")
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path.name == "__init__.py", node)
            if target.split(".")[0] == "seedwise":
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in MODULES else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return {m for m in found if m in MODULES}


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_module_has_a_layer():
    missing = [m for m in MODULES if m != "seedwise" and layer_of(m) is None]
    assert not missing, f"modules in no layer of docs/architecture.md (add them to LAYERS and the doc): {missing}"


def test_no_import_from_a_higher_layer():
    bad = []
    for module, targets in GRAPH.items():
        low = layer_of(module)
        if low is None:
            continue
        for target in sorted(targets):
            high = layer_of(target)
            if high is not None and high > low:
                bad.append(f"{module} ({LAYER_NAMES[low]}) imports {target} ({LAYER_NAMES[high]})")
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def _cycles() -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w == "seedwise":
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in GRAPH:
        if v not in index and v != "seedwise":
            strong(v)
    return out


def test_no_import_cycles():
    cycles = _cycles()
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_no_module_over_500_lines():
    big = {m: _lines(p) for m, p in MODULES.items() if _lines(p) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines (split them by concept): {big}"


def test_median_module_size():
    median = statistics.median(_lines(p) for p in MODULES.values())
    assert median <= MAX_MEDIAN, f"median module size {median} lines, over {MAX_MEDIAN}"


@pytest.mark.parametrize("module", ["seedwise.seeds", "seedwise.stateless", "seedwise.errors"])
def test_core_imports_only_core(module):
    for target in GRAPH[module]:
        assert layer_of(target) == 0, f"{module} imports {target}"
