"""The stateless package: its public names, and an import that loads NumPy only."""

from __future__ import annotations

import subprocess
import sys

PUBLIC = ["philox", "raw", "uniform", "normal", "integers", "bernoulli", "permutation", "as_key"]


def test_public_names_and_a_light_import():
    code = (
        "import sys\n"
        "import seedwise.stateless as S\n"
        f"assert S.__all__ == {PUBLIC!r}, S.__all__\n"
        "assert all(callable(getattr(S, name)) for name in S.__all__)\n"
        "heavy = [m for m in ('torch', 'numba', 'scipy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
