"""The transform protocol: the backends know kinds, never concrete transforms, so a new
transform is one class in one file; and the package has no import cycle."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest
import torch

from seedwise import Seeds
from seedwise import augment as A
from seedwise.augment._program import Context, Params

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = pathlib.Path(A.__file__).parent
#: the modules that run programs: they may import only these modules of the package
MACHINERY = {
    "_program",
    "_maps",
    "_run",
    "_draw",
    "_ranges",
    "cpu",
    "_cpu_warp",
    "_cpu_colour",
    "_cpu_lut",
    "_cpu_stream",
    "torch_backend",
    "_device",
}


def _imports(path: pathlib.Path) -> set[str]:
    """Modules of seedwise.augment that ``path`` imports (anywhere in the file)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seedwise.augment"):
            if node.module == "seedwise.augment":
                out.update(a.name for a in node.names)
            else:
                out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[2] for a in node.names if a.name.startswith("seedwise.augment."))
    return out


@pytest.mark.parametrize("module", sorted(MACHINERY - {"_draw", "_ranges"}))
def test_backends_import_no_concrete_transform(module):
    imported = _imports(ROOT / f"{module}.py")
    assert imported <= MACHINERY, (module, imported - MACHINERY)


def test_the_package_has_no_import_cycle():
    graph = {p.stem: _imports(p) - {p.stem} for p in ROOT.glob("*.py") if p.stem != "__init__"}
    done: set[str] = set()

    def visit(mod: str, path: tuple[str, ...]) -> None:
        assert mod not in path, " -> ".join((*path, mod))
        if mod in done:
            return
        for dep in graph.get(mod, ()):
            visit(dep, (*path, mod))
        done.add(mod)

    for mod in graph:
        visit(mod, ())


class Transpose(A.Transform):
    """A user's geometric transform: swap x and y (a 3x3 map, no backend code)."""

    kind = "geometric"
    changes_size = True
    fill = 0.0

    def matrices(self, params: Params, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        m = np.repeat(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])[None], len(params["applied"]), 0)
        return m, (size[1], size[0])

    def matrix_one(self, p, size):
        return (0.0, 1.0, 0.0, 1.0, 0.0, 0.0), (size[1], size[0])


class Darken(A.Transform):
    """A user's pixel transform: halve the intensity of a random quarter of the rows."""

    param_names = ("start",)

    def _from_uniforms(self, u, applied, *, indices, dataset_size):
        return {"applied": applied, "start": u[:, 0]}

    def apply_cpu(self, x: np.ndarray, params: Params, rows: np.ndarray, ctx: Context) -> np.ndarray:
        out = x.copy()
        h = x.shape[1]
        for i in rows:
            top = int(params["start"][i] * (h - h // 4))
            out[i, top : top + h // 4] //= 2
        return out

    def apply_torch(self, x, params, rows, ctx, scale):
        out = x.clone()
        h = x.shape[2]
        for i in rows:
            top = int(params["start"][i] * (h - h // 4))
            out[i, :, top : top + h // 4] = torch.floor(out[i, :, top : top + h // 4] * (255.0 / scale) / 2) * (
                scale / 255.0
            )
        return out


def test_a_new_transform_is_one_class_and_runs_on_both_backends():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(16, 12, 20, 3), dtype=np.uint8)
    pipe = A.Compose({"t": Transpose(), "d": Darken(p=0.5), "f": A.HorizontalFlip()}, seeds=Seeds(1))
    params = pipe.sample(indices=np.arange(16))
    cpu = pipe(images, indices=np.arange(16))
    tor = pipe(torch.from_numpy(images).permute(0, 3, 1, 2), indices=np.arange(16)).permute(0, 2, 3, 1).numpy()
    assert cpu.shape == (16, 20, 12, 3)
    for i in range(16):
        expected = images[i].transpose(1, 0, 2).copy()
        if params["d"]["applied"][i]:
            top = int(params["d"]["start"][i] * (20 - 5))
            expected[top : top + 5] //= 2
        if params["f"]["applied"][i]:
            expected = expected[:, ::-1]
        assert np.array_equal(cpu[i], expected)
        assert np.array_equal(tor[i], expected)
    assert 0 < params["d"]["applied"].sum() < 16
