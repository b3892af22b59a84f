"""Sampling: parameters are a pure function of (stream, epoch, index), in range, keyed by name."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seedwise import Seeds
from seedwise import augment as A
from seedwise import stateless as S


def bench_pipe(seed: int = 2026) -> A.Compose:
    return A.Compose(
        [
            A.HorizontalFlip(0.5),
            A.Affine(degrees=15, translate=0.1, scale=(0.9, 1.1)),
            A.ColorJitter(0.2, 0.2, 0.2, 0.05),
        ],
        seeds=Seeds(seed)["augment"],
    )


def flat(tree: dict, prefix: str = "") -> dict[str, np.ndarray]:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}/"))
        else:
            out[prefix + k] = v
    return out


def test_known_answer_params():
    p = bench_pipe().sample(indices=[0, 1, 7], epoch=0)
    assert p["HorizontalFlip"]["applied"].tolist() == [False, True, True]
    aff, cj = p["Affine"], p["ColorJitter"]
    assert aff["angle"].tolist() == [0.03245844153236277, 7.663607151485877, 1.1298585834514618]
    assert aff["translate_x"].tolist() == [-0.04490974659065503, 0.004478448229253432, 0.054870504850152935]
    assert aff["translate_y"].tolist() == [0.010984871561497495, 0.07578936156223484, -0.0833728228519845]
    assert aff["scale"].tolist() == [0.9814935203685147, 1.019422940214849, 0.9552121188836077]
    assert cj["brightness"].tolist() == [0.8421256424795321, 0.9638634471266878, 1.0774971812800294]
    assert cj["contrast"].tolist() == [1.0230789322742766, 1.1915878959088309, 0.8904185146593852]
    assert cj["saturation"].tolist() == [1.107002512522985, 1.1476314481512029, 1.1095076284320087]
    assert cj["hue"].tolist() == [-0.0462979092264591, 0.00699272866242423, 0.03055128090707314]


def test_params_are_the_stateless_uniforms_of_the_named_stream():
    pipe = bench_pipe()
    idx = np.array([3, 11, 4])
    p = pipe.sample(indices=idx, epoch=5)
    u = S.uniform(Seeds(2026)["augment"]["Affine"]["params"], (5, idx), size=6)
    assert np.array_equal(p["Affine"]["angle"], -15.0 + 30.0 * u[:, 0])
    coin = S.uniform(Seeds(2026)["augment"]["HorizontalFlip"]["apply"], (5, idx))
    assert np.array_equal(p["HorizontalFlip"]["applied"], coin < 0.5)


@pytest.mark.parametrize("batch", [1, 7, 32])
def test_params_do_not_depend_on_the_batch(batch):
    pipe = bench_pipe()
    idx = np.arange(100, 164)[::-1]
    whole = flat(pipe.sample(indices=idx, epoch=2))
    for s in range(0, len(idx), batch):
        part = flat(pipe.sample(indices=idx[s : s + batch], epoch=2))
        for k in whole:
            assert np.array_equal(part[k], whole[k][s : s + batch]), k


def test_different_epochs_and_seeds_give_different_params():
    idx = np.arange(16)
    a = flat(bench_pipe(1).sample(indices=idx, epoch=0))
    b = flat(bench_pipe(1).sample(indices=idx, epoch=1))
    c = flat(bench_pipe(2).sample(indices=idx, epoch=0))
    again = flat(bench_pipe(1).sample(indices=idx, epoch=0))
    for k in ("Affine/angle", "ColorJitter/hue"):
        assert np.array_equal(a[k], again[k])
        assert not np.any(a[k] == b[k])
        assert not np.any(a[k] == c[k])


def test_changing_p_does_not_change_params():
    idx = np.arange(50)
    seeds = Seeds(3)["augment"]
    lo = A.Compose([A.Affine(degrees=20, p=0.1), A.ColorJitter(0.4, p=0.3)], seeds=seeds).sample(indices=idx)
    hi = A.Compose([A.Affine(degrees=20, p=0.9), A.ColorJitter(0.4, p=1.0)], seeds=seeds).sample(indices=idx)
    assert np.array_equal(lo["Affine"]["angle"], hi["Affine"]["angle"])
    assert np.array_equal(lo["ColorJitter"]["brightness"], hi["ColorJitter"]["brightness"])
    assert lo["Affine"]["applied"].sum() < hi["Affine"]["applied"].sum()
    # a lower p applies to a subset of the samples a higher p applies to (same coin)
    assert np.all(hi["Affine"]["applied"][lo["Affine"]["applied"]])


def test_streams_are_keyed_by_name_not_position():
    idx = np.arange(20)
    seeds = Seeds(4)["augment"]
    before = A.Compose([A.Affine(degrees=20), A.ColorJitter(0.3)], seeds=seeds).sample(indices=idx)
    after = A.Compose(
        [A.VerticalFlip(), A.Affine(degrees=20), A.GaussianBlur(), A.ColorJitter(0.3)], seeds=seeds
    ).sample(indices=idx)
    assert np.array_equal(before["Affine"]["angle"], after["Affine"]["angle"])
    assert np.array_equal(before["ColorJitter"]["contrast"], after["ColorJitter"]["contrast"])
    named = A.Compose({"jitter": A.ColorJitter(0.3), "geo": A.Affine(degrees=20)}, seeds=seeds).sample(indices=idx)
    assert not np.array_equal(named["geo"]["angle"], before["Affine"]["angle"])
    dup = A.Compose([A.Rotate(10), A.Rotate(10)], seeds=seeds).sample(indices=idx)
    assert set(dup) == {"Rotate", "Rotate_2"}
    assert not np.array_equal(dup["Rotate"]["angle"], dup["Rotate_2"]["angle"])


def test_one_of_applies_exactly_one_and_random_apply_gates_all():
    pipe = A.Compose(
        {
            "one": A.OneOf([A.Rotate(10), A.Affine(shear=5), A.VerticalFlip(p=1.0)], weights=[1, 2, 1]),
            "some": A.RandomApply([A.ColorJitter(0.2), A.GaussianBlur(p=1.0)], p=0.5),
        },
        seeds=Seeds(5),
    )
    p = pipe.sample(indices=np.arange(400))
    applied = np.stack([v["applied"] for v in p["one"]["transforms"].values()])
    assert np.array_equal(applied.sum(axis=0), np.ones(400))
    assert np.array_equal(np.argmax(applied, axis=0), p["one"]["choice"])
    counts = np.bincount(p["one"]["choice"], minlength=3)
    assert counts[1] > counts[0] and counts[1] > counts[2]  # weight 2 of 4
    some = p["some"]
    for v in some["transforms"].values():
        assert np.array_equal(v["applied"], some["applied"])
    assert 120 < some["applied"].sum() < 280


ranges = st.tuples(st.floats(-170, 170), st.floats(0, 170)).map(lambda t: (t[0], t[0] + t[1]))


@given(
    seed=st.integers(0, 2**64),
    epoch=st.integers(0, 2**40),
    degrees=ranges,
    translate=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    scale=st.tuples(st.floats(0.01, 3), st.floats(0, 3)).map(lambda t: (t[0], t[0] + t[1])),
    jitter=st.tuples(st.floats(0, 2), st.floats(0, 2), st.floats(0, 2), st.floats(0, 0.5)),
    std=st.tuples(st.floats(0, 1), st.floats(0, 1)).map(lambda t: (t[0], t[0] + t[1])),
)
def test_params_stay_in_their_declared_ranges(seed, epoch, degrees, translate, scale, jitter, std):
    pipe = A.Compose(
        [
            A.Affine(degrees=degrees, translate=translate, scale=scale),
            A.ColorJitter(*jitter),
            A.GaussianNoise(std),
            A.RandomResizedCrop(8, scale=(0.1, 0.5)),
            A.MixUp(0.3),
            A.RandomErasing(scale=(0.1, 0.2), ratio=(0.5, 2)),
        ],
        seeds=Seeds(seed),
    )
    idx = np.arange(0, 64 * 1000, 1000)
    p = pipe.sample(indices=idx, epoch=epoch, dataset_size=64 * 1000)

    def within(x, lo, hi):
        return bool(np.all((x >= lo) & (x <= hi)))

    aff = p["Affine"]
    assert within(aff["angle"], *degrees)
    assert within(aff["translate_x"], -translate[0], translate[0]) and within(
        aff["translate_y"], -translate[1], translate[1]
    )
    assert within(aff["scale"], *scale)
    cj = p["ColorJitter"]
    for name, strength in zip(("brightness", "contrast", "saturation"), jitter[:3]):
        assert within(cj[name], max(0.0, 1 - strength), 1 + strength)
    assert within(cj["hue"], -jitter[3], jitter[3])
    assert within(p["GaussianNoise"]["std"], *std)
    rrc = p["RandomResizedCrop"]
    assert within(rrc["area"], 0.1, 0.5) and within(rrc["log_ratio"], np.log(3 / 4), np.log(4 / 3))
    mix = p["MixUp"]
    assert within(mix["lam"], 0.0, 1.0)
    assert within(mix["partner"], 0, 64 * 1000 - 1) and not np.any(mix["partner"] == idx)
    er = p["RandomErasing"]
    assert within(er["area"], 0.1, 0.2) and within(er["log_ratio"], np.log(0.5), np.log(2))


def test_sample_accepts_torch_indices_and_a_single_int():
    import torch

    pipe = bench_pipe()
    a = pipe.sample(indices=torch.tensor([4, 9]), epoch=1)
    b = pipe.sample(indices=9, epoch=1)
    assert np.array_equal(a["Affine"]["angle"][1:], b["Affine"]["angle"])


def test_transform_sample_alone_equals_pipeline_draws():
    seeds = Seeds(8)["augment"]
    alone = A.Affine(degrees=30).sample(np.arange(5), 2, seeds=seeds["Affine"])
    inpipe = A.Compose([A.Affine(degrees=30)], seeds=seeds).sample(indices=np.arange(5), epoch=2)["Affine"]
    assert np.array_equal(alone["angle"], inpipe["angle"])
