"""Every study and CLI entry point leaves every global RNG as it was, first imports included (issue 18, item 7).

Each entry point runs in a fresh process between two snapshots of the global RNGs
(:mod:`kit.globals`): an import it triggers for the first time (rich, pandas, scipy,
matplotlib...) counts. Only ``seed_everything`` and ``keyed`` may change a global RNG.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kit.globals import changed, check_in_fresh_process, snapshot
from seedwise.study import Study

HERE = Path(__file__).parent
SETUP = f"""
import random, sys
import numpy
sys.path.insert(0, {str(HERE)!r})
import study_fns
import seedwise as sw
from seedwise.cli import main
from seedwise.study import Study, load_results
"""
SYNTHETIC = "Study(study_fns.synthetic, name='s2', sources=('init',), design='all', n_seeds=2, store='runs.sqlite')"
COMMAND = f"[{sys.executable!r}, {str(HERE / 'scripts' / 'from_env.py')!r}]"
CLI_RUN = ["study", "run", f"{HERE / 'study_fns.py'}:synthetic", "--name", "c", "--sources", "init", "--design", "all",
           "--seeds", "2", "--store", "runs.sqlite", "--workers", "0", "--no-progress"]  # fmt: skip

ENTRY_POINTS = {
    "Study()": SYNTHETIC,
    "Study.run(workers=0)": f"{SYNTHETIC}.run(workers=0, progress=True)",
    "Study.run(workers=1)": f"{SYNTHETIC}.run(workers=1, progress=True)",
    "command Study.run": f"Study({COMMAND}, name='cmd2', sources=('init',), n_seeds=1, store='runs.sqlite').run("
    "workers=0)",
    "Results": "r = load_results('runs.sqlite', 'fn'); r.table(); r.curves(); str(r.summary()); str(r.variance());"
    " r.compare(load_results('runs.sqlite', 'fn2'))",
    "seedwise study run": f"main({CLI_RUN!r})",
    "seedwise study run -- command": "main(['study', 'run', '--name', 'cmd3', '--sources', 'init', '--seeds', '1', "
    f"'--store', 'runs.sqlite', '--workers', '0', '--', *{COMMAND}])",
    "seedwise study status": "main(['study', 'status', 'runs.sqlite'])",
    "seedwise study logs": "main(['study', 'logs', 'runs.sqlite', 'cmd', 'all/0'])",
    "seedwise report": "main(['report', 'runs.sqlite', '--out', 'report', '--study', 'fn'])",
    "seedwise compare": "main(['compare', 'runs.sqlite', 'fn', 'fn2', '--metric', 'score'])",
}


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    import study_fns

    folder = tmp_path_factory.mktemp("globals")
    store = folder / "runs.sqlite"
    for name, offset in (("fn", 1.0), ("fn2", 2.0)):
        Study(study_fns.synthetic, name=name, sources=("init", "data_order"), n_seeds=3, store=store,
              config={"offset": offset}).run(workers=0, progress=False)  # fmt: skip
    Study([sys.executable, str(HERE / "scripts" / "from_env.py")], name="cmd", sources=("init",), n_seeds=1,
          store=store).run(workers=0, progress=False)  # fmt: skip
    return folder


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_entry_point_leaves_every_global_rng_untouched(store_dir, entry):
    assert check_in_fresh_process(ENTRY_POINTS[entry], setup=SETUP, cwd=store_dir) == []


def test_the_kit_sees_a_change():
    import random

    import numpy as np

    before = snapshot()
    random.random()
    np.random.random()
    assert changed(before, snapshot()) == ["numpy.random", "python.random"]
    assert check_in_fresh_process("import random; random.random()") == ["python.random"]
