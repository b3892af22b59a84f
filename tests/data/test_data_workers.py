"""Worker processes get global RNGs seeded from (stream, epoch, worker): never repeated, always reproducible."""

from __future__ import annotations

import pytest
import torch
from data_loader_kit import GlobalDraws

import seedwise as sw
from seedwise.data import DataLoader

# Tests start more workers than a small CI machine has cores; torch warns, the tests need them.
pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")

KINDS = ("numpy", "python", "torch")


def _draws(loader) -> list[dict]:
    """Per sample: the worker that made it and its three global draws."""
    out = []
    for batch in loader:
        for k in range(len(batch["index"])):
            out.append({key: int(batch[key][k]) for key in ("index", "worker", *KINDS)})
    return out


def _first_per_worker(draws: list[dict]) -> dict[int, tuple[int, ...]]:
    firsts: dict[int, tuple[int, ...]] = {}
    for d in draws:
        firsts.setdefault(d["worker"], tuple(d[k] for k in KINDS))
    return firsts


@pytest.mark.parametrize("persistent", [False, True])
def test_worker_globals_differ_across_workers_and_epochs_and_repeat_across_runs(persistent, test_seed):
    seeds = sw.Seeds(test_seed)

    def run():
        loader = DataLoader(
            GlobalDraws(8), batch_size=2, shuffle=True, seeds=seeds, num_workers=2, persistent_workers=persistent
        )
        epochs = []
        for epoch in (0, 1):
            loader.set_epoch(epoch)
            epochs.append(_draws(loader))
        return epochs

    first, second = run(), run()
    assert first == second  # same seeds: the same third-party draws in every run
    e0, e1 = (_first_per_worker(e) for e in first)
    assert set(e0) == set(e1) == {0, 1}
    for kind in range(3):  # numpy, python and torch each
        assert e0[0][kind] != e0[1][kind]  # the two workers differ (the forked-NumPy bug)
        assert e0[0][kind] != e1[0][kind] and e0[1][kind] != e1[1][kind]  # and epochs differ
    # Every draw of the two epochs is distinct: nothing repeats across workers or epochs.
    values = [d["numpy"] for e in first for d in e]
    assert len(set(values)) == len(values)


def test_persistent_workers_reseed_like_fresh_ones(test_seed):
    # A persistent worker sees epoch 1 through the (epoch, index) keys and reseeds:
    # its draws equal those of a worker started fresh for epoch 1.
    seeds = sw.Seeds(test_seed)
    persistent = DataLoader(
        GlobalDraws(8), batch_size=2, shuffle=True, seeds=seeds, num_workers=2, persistent_workers=True
    )
    _draws(persistent)
    persistent.set_epoch(1)
    fresh = DataLoader(GlobalDraws(8), batch_size=2, shuffle=True, seeds=seeds, num_workers=2)
    fresh.set_epoch(1)
    assert _draws(persistent) == _draws(fresh)


def test_user_worker_init_fn_runs_after_seeding(test_seed):
    seeds = sw.Seeds(test_seed)

    def init(worker_id):
        torch.manual_seed(1000 + worker_id)  # global-rng-ok: a user's own choice, run last

    loader = DataLoader(GlobalDraws(4), batch_size=2, seeds=seeds, num_workers=2, worker_init_fn=init)
    draws = _draws(loader)
    expected = {}
    for worker in (0, 1):  # each worker makes one batch of two samples
        g = torch.Generator().manual_seed(1000 + worker)
        expected[worker] = [int(torch.randint(0, 2**31, (), generator=g)) for _ in range(2)]
    assert {w: [d["torch"] for d in draws if d["worker"] == w] for w in (0, 1)} == expected
    # numpy was still seeded by seedwise, not left as torch's default
    assert draws[0]["numpy"] != draws[1]["numpy"]


def test_global_rngs_off_leaves_torchs_seeding(test_seed):
    seeds = sw.Seeds(test_seed)
    on = _draws(DataLoader(GlobalDraws(4), batch_size=2, seeds=seeds, num_workers=2))
    off = _draws(DataLoader(GlobalDraws(4), batch_size=2, seeds=seeds, num_workers=2, global_rngs="off"))
    assert on != off
    # torch's own per-worker seeding, from the base seed seedwise supplies: reproducible too
    assert off == _draws(DataLoader(GlobalDraws(4), batch_size=2, seeds=seeds, num_workers=2, global_rngs="off"))


def _by_index(draws: list[dict]) -> dict[int, tuple[int, ...]]:
    return {d["index"]: tuple(d[k] for k in KINDS) for d in draws}


def test_per_sample_global_seeding_is_independent_of_workers_batches_and_resume(test_seed):
    seeds = sw.Seeds(test_seed)

    def loader(**kwargs):
        out = DataLoader(GlobalDraws(12), shuffle=True, seeds=seeds, global_rngs="sample", **kwargs)
        out.set_epoch(1)
        return out

    reference = _draws(loader(batch_size=3))
    assert _by_index(_draws(loader(batch_size=5, num_workers=2))) == _by_index(reference)
    # resumed after 2 batches, in another loader: the remaining samples draw the same
    first = loader(batch_size=3)
    it = iter(first)
    next(it), next(it)
    resumed = loader(batch_size=3)
    resumed.load_state_dict(first.state_dict())
    assert _draws(resumed) == reference[6:]
    # and they differ across samples and epochs
    assert len(set(_by_index(reference).values())) == 12
    other_epoch = loader(batch_size=3)
    other_epoch.set_epoch(2)
    assert not set(_by_index(_draws(other_epoch)).values()) & set(_by_index(reference).values())


def test_per_sample_global_seeding_restores_the_callers_globals(test_seed):
    import random

    import numpy as np

    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())  # global-rng-ok
    _draws(DataLoader(GlobalDraws(6), batch_size=2, seeds=sw.Seeds(test_seed), global_rngs="sample"))
    assert torch.equal(before[0], torch.get_rng_state())
    assert np.array_equal(before[1], np.random.get_state()[1])  # global-rng-ok
    assert before[2] == random.getstate()


def test_per_sample_global_seeds_follow_the_documented_mapping(test_seed):
    import random

    import numpy as np

    from seedwise import stateless as S

    seeds = sw.Seeds(test_seed)
    loader = DataLoader(GlobalDraws(5), batch_size=5, seeds=seeds, global_rngs="sample")
    loader.set_epoch(2)
    draws = _draws(loader)
    for d in draws:
        w = [int(v) for v in S.raw(seeds["sample_globals"], (2, d["index"]), size=5)]
        assert d["python"] == random.Random(w[0] | (w[1] << 64)).getrandbits(31)
        legacy = np.random.RandomState(np.array(w[2:4], dtype=np.uint64).view(np.uint32))
        assert d["numpy"] == int(legacy.randint(0, 2**31))
        assert d["torch"] == int(torch.randint(0, 2**31, (), generator=torch.Generator().manual_seed(w[4])))


WARM_SCRIPT = """
import numpy as np, torch
import seedwise as sw
from seedwise import augment as A
from seedwise.stateless._per_sample import unit_kernel

class Probe(torch.utils.data.Dataset):
    # the number of compiled forms of the draw loop when the worker fetches the raw item,
    # before this worker has drawn anything
    def __len__(self):
        return 8
    def __getitem__(self, i):
        return np.full((4, 4, 3), len(unit_kernel().signatures), dtype=np.uint8), i

if __name__ == "__main__":
    pipe = A.Compose([A.HorizontalFlip(0.5)], seeds=sw.Seeds(0)["augment"])
    loader = sw.data.DataLoader(Probe(), batch_size=4, seeds=sw.Seeds(0), augment=pipe, num_workers=2, {extra})
    for epoch in range(2):
        loader.set_epoch(epoch)
        print(sorted({{int(x.max()) for x, _ in loader}}))
    print("parent", len(unit_kernel().signatures))
"""


@pytest.mark.parametrize("extra", ["", "multiprocessing_context='spawn'"])
def test_forked_workers_inherit_the_compiled_draws(extra, tmp_path):
    """Non-persistent workers start afresh every epoch: forked after the parent has loaded the
    compiled draws, none of them loads them again (~0.4 s each, every epoch). Spawned workers
    cannot inherit them, and the parent does not load them for nothing."""
    import subprocess
    import sys

    pytest.importorskip("numba")
    script = tmp_path / "probe.py"
    script.write_text(WARM_SCRIPT.format(extra=extra))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    forked = not extra
    assert out.stdout.split("\n")[:3] == (["[1]", "[1]", "parent 1"] if forked else ["[0]", "[0]", "parent 0"]), (
        out.stdout
    )
