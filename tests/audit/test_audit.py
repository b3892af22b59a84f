"""seedwise.audit: repeatability, first divergence, global RNG use."""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import seedwise as sw
from seedwise import audit
from seedwise.errors import InvalidArgumentError, InvalidTypeError


def _global_states():
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def _assert_states_equal(a, b):
    assert a[0] == b[0]
    assert np.array_equal(a[1][1], b[1][1]) and a[1][2:] == b[1][2:]
    assert torch.equal(a[2], b[2])


def _mlp(seeds: sw.Seeds, dropout: float = 0.5) -> nn.Module:
    with sw.keyed(seeds["build"], 0):  # construction draws from the global RNG: key it
        model = nn.Sequential(
            OrderedDict(fc1=nn.Linear(4, 16), act=nn.ReLU(), drop=nn.Dropout(dropout), fc2=nn.Linear(16, 3))
        )
    sw.init.initialize(model, seeds["init"])
    return model


def _batch(seeds: sw.Seeds) -> tuple[torch.Tensor, torch.Tensor]:
    g = seeds["data"].torch()
    return torch.randn(8, 4, generator=g), torch.randint(0, 3, (8,), generator=g)


# -- repeatability --------------------------------------------------------------------


def test_a_seeded_training_step_is_repeatable_and_caller_state_is_restored():
    class Momentum:  # anything with a state_dict() is compared through it, as optimisers are
        def __init__(self, params):
            self.buffers = [torch.zeros_like(p) for p in params]

        def state_dict(self):
            return {"buffers": self.buffers}

    def step(seeds):
        model = _mlp(seeds)
        momentum = Momentum(model.parameters())
        x, y = _batch(seeds)
        with sw.keyed(seeds["dropout"], 0):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        with torch.no_grad():
            for p, buf in zip(model.parameters(), momentum.buffers):
                buf.add_(p.grad)
                p.sub_(0.1 * buf)
        return {"loss": loss, "model": model, "optimizer": momentum, "step": 1, "name": "mlp", "none": None}

    before = _global_states()
    report = audit.repeatability(step, runs=3, seeds=sw.Seeds(5))
    _assert_states_equal(before, _global_states())
    assert report.ok
    assert report.differences == []
    assert report.entries == 1 + 4 + 4 + 3  # loss, model.state_dict(), momentum buffers, step/name/none
    assert report.runs == 3
    assert "is repeatable" in str(report)
    assert repr(report).startswith("RepeatabilityReport(repeatable, call=test_a_seeded")
    assert report.global_rng.ok


def test_a_global_rng_draw_is_found_with_its_size():
    outputs = []

    def step(seeds):
        noise = torch.rand(4, 5)  # the global RNG: not controlled by seeds
        outputs.append(noise)
        return {"clean": torch.ones(3), "noisy": noise}

    report = audit.repeatability(step, runs=2)
    assert not report.ok
    assert [d.entry for d in report.differences] == ["result['noisy']"]
    (d,) = report.differences
    assert d.kind == "value" and d.run == 1 and d.numel == 20
    assert d.n_diff == int((outputs[0] != outputs[1]).sum())
    assert d.max_abs_diff == float((outputs[0].double() - outputs[1].double()).abs().max())
    assert report.global_rng.used == ["torch (CPU)"]
    assert "seedwise.keyed" in report.hint


def test_same_globals_mode_hides_global_draws_but_not_counters():
    def global_draw(seeds):
        return torch.rand(3)

    counter = itertools.count()

    def counting(seeds):
        return torch.full((2,), float(next(counter)))

    assert not audit.repeatability(global_draw).ok
    assert audit.repeatability(global_draw, global_rngs="same").ok
    assert not audit.repeatability(counting, global_rngs="same").ok
    assert "no global RNG was drawn from" in audit.repeatability(counting).hint


def test_the_audit_itself_is_repeatable():
    def step(seeds):
        return np.random.rand(3) + random.random()

    a = audit.repeatability(step, runs=3).to_dict()
    b = audit.repeatability(step, runs=3).to_dict()
    assert a == b
    assert not a["ok"] and {u["rng"] for u in a["global_rng_use"] if u["status"] == "drawn from"} == {
        "python random",
        "numpy.random (legacy global)",
    }


@dataclass
class _Out:
    w: torch.Tensor
    tag: str


def test_nested_results_paths_and_kinds():
    state = {"run": 0}

    def step(seeds):
        r = state["run"]
        state["run"] += 1
        return {
            "a": [torch.zeros(2), _Out(torch.tensor([1.0, 2.0 + r]), "x")],
            "nan": float("nan"),
            "zero": 0.0 if r == 0 else -0.0,
            "ints": np.arange(4, dtype=np.int64) * (1 + r),
            "dtype": torch.zeros(2, dtype=torch.float32 if r == 0 else torch.float64),
            "shape": np.zeros(2 + r),
            "word": "same" if r == 0 else "other",
            **({"only0": 1} if r == 0 else {"only1": 2}),
        }

    report = audit.repeatability(step)
    by_entry = {d.entry: d for d in report.differences}
    assert set(by_entry) == {
        "result['a'][1].w",
        "result['zero']",
        "result['ints']",
        "result['dtype']",
        "result['shape']",
        "result['word']",
        "result['only0']",
        "result['only1']",
    }
    assert by_entry["result['a'][1].w"].max_abs_diff == 1.0 and by_entry["result['a'][1].w"].n_diff == 1
    assert by_entry["result['zero']"].max_abs_diff == 0.0 and by_entry["result['zero']"].n_diff == 1
    assert by_entry["result['ints']"].n_diff == 3 and by_entry["result['ints']"].max_abs_diff == 3.0
    assert by_entry["result['dtype']"].kind == "dtype"
    assert by_entry["result['shape']"].kind == "shape"
    assert by_entry["result['word']"].detail == "'same' in run 0, 'other' in run 1"
    assert by_entry["result['only0']"].kind == "missing"
    assert by_entry["result['only1']"].kind == "extra"
    assert report.entries == 10


def test_nan_is_infinitely_far_from_a_number_and_json_survives():
    state = {"run": 0}

    def step(seeds):
        state["run"] += 1
        return torch.tensor([1.0, float("nan") if state["run"] == 1 else 2.0])

    report = audit.repeatability(step)
    assert report.differences[0].max_abs_diff == math.inf
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["differences"][0]["max_abs_diff"] == "inf"


def test_uncomparable_results_are_named():
    with pytest.raises(InvalidTypeError, match=r"cannot compare result\['f'\] of type builtins.object"):
        audit.repeatability(lambda seeds: {"f": object()})


def test_bad_arguments():
    with pytest.raises(InvalidArgumentError, match="runs must be >= 2"):
        audit.repeatability(lambda s: 1, runs=1)
    with pytest.raises(InvalidTypeError, match="fn must be a callable"):
        audit.repeatability("step")
    with pytest.raises(InvalidArgumentError, match="global_rngs must be one of 'vary', 'same'"):
        audit.repeatability(lambda s: 1, global_rngs="fresh")
    with pytest.raises(InvalidTypeError, match="model must be the torch.nn.Module"):
        audit.first_divergence(lambda s: 1, model="net")


def test_caller_state_restored_when_fn_raises():
    def step(seeds):
        torch.rand(10)
        np.random.rand()
        raise RuntimeError("boom")

    before = _global_states()
    with pytest.raises(RuntimeError, match="boom"):
        audit.repeatability(step)
    _assert_states_equal(before, _global_states())


def test_seeds_reach_fn_and_report_renders():
    seen = []

    def step(seeds):
        seen.append(seeds)
        return {"v": torch.rand(2)}

    report = audit.repeatability(step, seeds=sw.Seeds(9)["audit"])
    assert seen == [sw.Seeds(9)["audit"]] * 2
    assert report.seeds == "Seeds(9)['audit']"
    from rich.console import Console

    console = Console(record=True, width=160)
    console.print(report)
    text = console.export_text()
    assert "is NOT" in text and "result['v']" in text and "2 of 2" in text


# -- first divergence -------------------------------------------------------------------


class _GlobalNoise(nn.Module):
    def forward(self, x):
        return x + 0.01 * torch.rand(x.shape)  # the global RNG


class _Counter(nn.Module):
    """Output depends on how often it ran: stands for a nondeterministic kernel on CPU."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x * (1 + 1e-3 * self.calls)


class _Clock(nn.Module):
    def forward(self, x):
        return x + (time.perf_counter_ns() % 1_000_003) * 1e-6  # two runs collide with p = 1e-6


def _net(middle: nn.Module) -> nn.Module:
    with sw.keyed(sw.Seeds(0)["build"], 0):
        model = nn.Sequential(OrderedDict(fc1=nn.Linear(4, 8), act=nn.ReLU(), middle=middle, fc2=nn.Linear(8, 2)))
    return model


def _train_step(model):
    def step(seeds):
        x, y = _batch(seeds)
        loss = F.cross_entropy(model(x), y[:8] % 2)
        loss.backward()
        return {"loss": loss, "grads": [p.grad for p in model.parameters()]}

    return step


@pytest.mark.parametrize(
    "middle, mode",
    [(_GlobalNoise(), "vary"), (nn.Dropout(0.5), "vary"), (_Counter(), "same"), (_Clock(), "same")],
    ids=["torch.rand", "dropout", "counter", "time"],
)
def test_first_divergence_names_the_culprit_module(middle, mode):
    model = _net(middle)
    report = audit.first_divergence(_train_step(model), model, global_rngs=mode)
    assert not report.ok
    assert report.module == "middle"
    first = report.first
    assert first.kind == "output" and first.call == 0 and first.module_type == type(middle).__name__
    assert first.n_diff > 0 and first.max_abs_diff > 0
    assert f"output of middle ({type(middle).__name__})" in report.headline
    # the culprit's input matched: nothing before it differs
    assert all(d.position >= first.position for d in report.divergences)
    assert report.result_differences  # and the loss differs too


def test_dropout_inside_keyed_is_repeatable_and_model_is_left_as_found():
    model = _net(nn.Dropout(0.5))
    before = {k: v.clone() for k, v in model.state_dict().items()}

    def step(seeds):
        x, y = _batch(seeds)
        with sw.keyed(seeds["dropout"], 0):
            loss = F.cross_entropy(model(x), y % 2)
        loss.backward()
        with torch.no_grad():  # trains the model: first_divergence resets it before each run
            for p in model.parameters():
                p.sub_(0.5 * p.grad)
        return loss

    report = audit.first_divergence(step, model)
    assert report.ok, str(report)
    assert report.module is None and report.values > 10
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())
    assert repr(report).startswith("DivergenceReport(repeatable")


class _FunctionalDropout(nn.Module):
    def __init__(self):
        super().__init__()
        with sw.keyed(sw.Seeds(0)["build"], 0):
            self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 2)

    def forward(self, x):
        return self.fc2(F.dropout(self.fc1(x), 0.5, training=True))  # randomness between modules


def test_functional_randomness_between_modules_shows_as_the_next_input():
    model = _FunctionalDropout()
    report = audit.first_divergence(lambda seeds: model(_batch(seeds)[0]), model)
    assert (report.module, report.first.kind) == ("fc2", "input")
    assert "outside the hooked modules" in report.headline


def test_data_drawn_from_the_global_rng_shows_as_the_model_input():
    model = _net(nn.Identity())
    report = audit.first_divergence(lambda seeds: model(torch.randn(2, 4)), model)
    assert (report.module, report.first.kind, report.first.position) == ("<model>", "input", 0)
    assert report.first.module_type == "Sequential"
    assert "(the data, or functional code" in report.headline


class _NoisyBackward(torch.autograd.Function):
    counter = itertools.count()

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * (1 + 1e-3 * next(_NoisyBackward.counter))


class _BackwardCulprit(nn.Module):
    def forward(self, x):
        return _NoisyBackward.apply(x)


def test_a_nondeterministic_backward_is_found_by_its_gradient():
    model = _net(_BackwardCulprit())
    report = audit.first_divergence(_train_step(model), model, global_rngs="same")
    assert report.module == "middle"
    assert report.first.kind == "input gradient"
    assert all(d.kind in ("output gradient", "input gradient") for d in report.divergences)
    assert "backward pass is not repeatable" in report.headline
    assert [d.entry for d in report.result_differences][:1] == ["result['grads'][0]"]


def test_a_change_in_execution_is_reported():
    calls = itertools.count()
    inner = nn.Linear(2, 2)

    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            for _ in range(1 + next(calls) % 2):
                x = self.inner(x)
            return x

    model = Loop()
    report = audit.first_divergence(lambda seeds: model(torch.ones(1, 2)), model, global_rngs="same")
    assert not report.ok
    assert "differs" in report.first.detail and report.first.max_abs_diff is None


def test_divergence_outside_the_model():
    model = nn.Linear(2, 2)
    outs = itertools.count()
    report = audit.first_divergence(lambda seeds: (model(torch.ones(1, 2)), next(outs)), model)
    assert report.first is None and not report.ok
    assert "the difference is outside the model" in report.headline


def test_divergence_report_json_and_rich():
    model = _net(nn.Dropout(0.5))
    report = audit.first_divergence(_train_step(model), model)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["module"] == "middle" and data["first"]["kind"] == "output" and data["ok"] is False
    from rich.console import Console

    console = Console(record=True, width=200)
    console.print(report)
    text = console.export_text()
    assert "middle" in text and "Dropout" in text


# -- global RNG use ---------------------------------------------------------------------


def test_global_rng_use_lists_what_was_drawn():
    report = audit.global_rng_use(lambda: (random.random(), np.random.rand()))
    assert report.used == ["python random", "numpy.random (legacy global)"]
    assert not report.ok
    assert audit.global_rng_use(torch.rand, 3).used == ["torch (CPU)"]
    assert audit.global_rng_use(lambda *, n: torch.randn(n, generator=sw.Seeds(0).torch()), n=3).ok
    seeds = sw.Seeds(1)

    def keyed_step():
        with sw.keyed(seeds["dropout"], 0):
            return nn.functional.dropout(torch.ones(10), 0.5)

    report = audit.global_rng_use(keyed_step)
    assert report.ok and "torch (CPU)" in [r.rng for r in report]
    assert "global RNG use of" in str(report) and report.to_dict()["used"] == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_tensors_and_generators():
    torch.cuda.init()
    report = audit.global_rng_use(lambda: torch.rand(3, device="cuda"))
    assert report.used == ["torch (cuda:0)"]
    rep = audit.repeatability(lambda seeds: torch.rand(3, device="cuda"))
    assert not rep.ok and rep.differences[0].numel == 3
    model = _net(nn.Dropout(0.5)).cuda()
    div = audit.first_divergence(lambda s: model(_batch(s)[0].cuda()), model)
    assert div.module == "middle"


# -- the example --------------------------------------------------------------------------


def test_the_example_shows_the_culprit_and_the_fix(capsys):
    import runpy
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "audit_dropout.py"
    namespace = runpy.run_path(str(path), run_name="audit_example")
    assert namespace["main"]() == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "train_step is NOT repeatable" in out
    assert "first diverges at the output of drop (Dropout)" in out
    assert "fixed_step is repeatable" in out


def test_a_model_that_fn_does_not_run_is_an_error():
    other = nn.Linear(2, 2)
    with pytest.raises(InvalidArgumentError, match="no module of the given model ran during"):
        audit.first_divergence(lambda seeds: torch.ones(2), other)
