"""`seedwise audit FILE.py:FUNCTION`, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

STEPS = textwrap.dedent(
    """
    from collections import OrderedDict

    import torch
    import torch.nn as nn

    import seedwise as sw

    with sw.keyed(sw.Seeds(0)["build"], 0):
        model = nn.Sequential(OrderedDict(fc=nn.Linear(4, 8), drop=nn.Dropout(0.5), head=nn.Linear(8, 2)))


    def _x(seeds):
        return torch.randn(3, 4, generator=seeds["data"].torch())


    def unkeyed(seeds):
        y = model(_x(seeds))
        y.sum().backward()
        return {"y": y}


    def keyed(seeds):
        with sw.keyed(seeds["dropout"], 0):
            y = model(_x(seeds))
        y.sum().backward()
        return {"y": y, "seed": int(seeds)}
    """
)

# No torch import: the usage-error cases stay fast.
LIGHT = textwrap.dedent(
    """
    def fails(seeds):
        raise RuntimeError("the data directory is missing")


    def constant(seeds):
        return {"a": 1.5, "b": [1, 2]}
    """
)


def _audit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "seedwise.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**__import__("os").environ, "COLUMNS": "160"},
    )


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "steps.py").write_text(STEPS)
    (tmp_path / "light.py").write_text(LIGHT)
    return tmp_path


def test_repeatable_step_exits_0_json(files, monkeypatch, capsys):
    # In process (the subprocess path is covered below): saves a torch import per test.
    from seedwise.cli import main

    monkeypatch.chdir(files)
    code = main(["audit", "steps.py:keyed", "--model", "model", "--json", "--runs", "3", "--seed", "5"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["ok"] is True and data["seed"] == 5
    assert data["repeatability"]["runs"] == 3 and data["repeatability"]["seeds"] == "Seeds(5)"
    assert data["repeatability"]["entries"] == 2 and data["repeatability"]["differences"] == []
    assert data["first_divergence"]["ok"] is True and data["first_divergence"]["module"] is None
    assert data["first_divergence"]["values"] > 10
    assert data["global_rng_use"]["used"] == []
    assert err == ""


def test_unrepeatable_step_exits_1_and_names_the_module(files):
    proc = _audit("audit", "steps.py:unkeyed", "--model", "model", cwd=files)
    assert proc.returncode == 1, proc.stderr
    out = " ".join(proc.stdout.split())
    assert "unkeyed is NOT repeatable: 1 of 1 entries differ" in out
    assert "first diverges at the output of drop (Dropout)" in out
    assert "torch (CPU)" in out and "drawn from" in out
    assert "seedwise.keyed" in out


def test_usage_errors_exit_2_with_one_line(files):
    cases = [
        (("audit", "missing.py:step"), "no such file: missing.py"),
        (("audit", "light.py:fails"), "light.py:fails raised RuntimeError: the data directory is missing"),
    ]
    for args, message in cases:
        proc = _audit(*args, cwd=files)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("seedwise audit: error: ") and message in lines[0], lines[0]
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("light.py:nope",), "light.py has no function 'nope'; it defines: constant, fails"),
        (("light.py",), "expected FILE.py:FUNCTION"),
        (("light.py:constant", "--runs", "1"), "--runs must be at least 2"),
        (("light.py:constant", "--model", "constant"), "--model constant: expected a torch.nn.Module"),
        (("light.py:constant", "--seed", "-1"), "--seed: seed must be a non-negative int"),
    ],
)
def test_usage_errors_in_process(files, monkeypatch, capsys, args, message):
    from seedwise.cli import main

    monkeypatch.chdir(files)
    assert main(["audit", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("seedwise audit: error: ") and message in err, err


def test_debug_shows_the_traceback_of_the_users_function(files):
    proc = _audit("--debug", "audit", "light.py:fails", cwd=files)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and 'raise RuntimeError("the data directory is missing")' in proc.stderr


def test_debug_also_works_after_the_command(files):
    proc = _audit("audit", "light.py:fails", "--debug", cwd=files)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "unrecognized arguments" not in proc.stderr


def test_a_pure_function_without_torch(files):
    proc = _audit("audit", "light.py:constant", cwd=files)
    assert proc.returncode == 0, proc.stderr
    assert "constant is repeatable: 3 entries bit-identical over 2 runs" in proc.stdout
    assert "python random" in proc.stdout and "untouched" in proc.stdout
