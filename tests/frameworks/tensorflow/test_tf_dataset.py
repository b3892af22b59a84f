"""swtf.SeededDataset against the real tf.data: order, epochs, resume, shards, augmentation in TF ops."""

from __future__ import annotations

import random

import numpy as np
import pytest

from seedwise import Seeds
from seedwise import augment as A
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.frameworks import tensorflow as swtf

pytestmark = pytest.mark.usefixtures("tf")


def _labels(batches) -> list[np.ndarray]:
    return [b[1].numpy() for b in batches]


def _pipe(seeds: Seeds) -> A.Compose:
    return A.Compose(
        [
            A.HorizontalFlip(0.5),
            A.Affine(degrees=20, translate=0.1, scale=(0.9, 1.1)),
            A.ColorJitter(0.3, 0.3, 0.3, 0.1),
        ],
        seeds=seeds["augment"],
    )


# -- order ----------------------------------------------------------------------------------


def test_epoch_order_is_seedwise_order_and_batches_in_it(images):
    x, y = images
    src = swtf.SeededDataset((x, y), seeds=Seeds(4), batch_size=8)
    assert len(src) == 5
    for epoch in range(2):
        got = np.concatenate(_labels(src))
        assert np.array_equal(got, src.indices(epoch))
        assert src.epoch == epoch + 1 and src.position == 0
    assert not np.array_equal(src.indices(0), src.indices(1))
    other = swtf.SeededDataset((x, y), seeds=Seeds(5), batch_size=8)
    assert not np.array_equal(other.indices(0), src.indices(0))
    assert np.array_equal(np.sort(src.indices(0)), np.arange(40))


def test_each_iterator_of_the_dataset_serves_the_next_epoch(images, tf):
    x, y = images
    src = swtf.SeededDataset((x, y), seeds=Seeds(4), batch_size=16)
    ds = src.dataset()
    assert int(ds.cardinality()) == len(src) == 3
    first, second = (np.concatenate([b[1].numpy() for b in ds]) for _ in range(2))
    assert np.array_equal(first, src.indices(0)) and np.array_equal(second, src.indices(1))
    src.set_epoch(7)
    assert np.array_equal(np.concatenate([b[1].numpy() for b in ds]), src.indices(7))


def test_resume_mid_epoch_from_state_dict_in_a_new_source(images):
    x, y = images
    src = swtf.SeededDataset((x, y), seeds=Seeds(9), batch_size=6, drop_last=True)
    src.set_epoch(3)
    served = []
    for k, batch in enumerate(src):
        served.append(batch[1].numpy())
        if k == 2:
            break
    state = src.state_dict()
    assert state["epoch"] == 3 and state["batch"] == 3
    fresh = swtf.SeededDataset((x, y), seeds=Seeds(9), batch_size=6, drop_last=True)
    fresh.load_state_dict(state)
    rest = _labels(fresh)
    assert np.array_equal(np.concatenate(served + rest), fresh.indices(3))
    # an iterator of the dataset serves as many batches as an epoch has: the rest, then the next epoch's start
    again = swtf.SeededDataset((x, y), seeds=Seeds(9), batch_size=6, drop_last=True)
    again.load_state_dict(state)
    stream = np.concatenate([b[1].numpy() for b in again.dataset()])
    assert np.array_equal(stream, np.concatenate([fresh.indices(3)[18:], fresh.indices(4)[:18]]))
    assert (again.epoch, again.position) == (4, 3)


def test_seek_takes_a_global_step(images):
    x, y = images
    src = swtf.SeededDataset((x, y), seeds=Seeds(1), batch_size=8)
    src.seek(12)
    assert (src.epoch, src.position) == (2, 2)
    assert np.array_equal(np.concatenate(_labels(src)), src.indices(2)[16:])


def test_load_state_dict_refuses_another_source(images):
    x, y = images
    state = swtf.SeededDataset((x, y), seeds=Seeds(1), batch_size=8).state_dict()
    with pytest.raises(InvalidArgumentError, match="order_key"):
        swtf.SeededDataset((x, y), seeds=Seeds(2), batch_size=8).load_state_dict(state)
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        swtf.SeededDataset((x, y), seeds=Seeds(1), batch_size=4).load_state_dict(state)
    with pytest.raises(InvalidArgumentError, match="not a SeededDataset state"):
        swtf.SeededDataset((x, y), seeds=Seeds(1), batch_size=8).load_state_dict({"epoch": 1})


def test_ranks_interleave_to_the_single_process_order(images, tf):
    x, y = images
    single = swtf.SeededDataset((x, y), seeds=Seeds(3), batch_size=4)
    ranks = [swtf.SeededDataset((x, y), seeds=Seeds(3), batch_size=2, rank=r, world_size=2) for r in range(2)]
    shards = [np.concatenate(_labels(r)) for r in ranks]
    assert np.array_equal(np.stack(shards, axis=1).reshape(-1), np.concatenate(_labels(single)))
    ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1)
    from_context = swtf.SeededDataset((x, y), seeds=Seeds(3), batch_size=2, input_context=ctx)
    assert (from_context.rank, from_context.world_size) == (1, 2)
    assert np.array_equal(np.concatenate(_labels(from_context)), shards[1])


def test_structures_single_array_and_dict(images):
    x, y = images
    single = swtf.SeededDataset(y, seeds=Seeds(0), batch_size=10)
    assert np.array_equal(np.concatenate([b.numpy() for b in single]), single.indices(0))
    pipe = A.Compose([A.HorizontalFlip(1.0)], seeds=Seeds(0)["augment"])
    as_dict = swtf.SeededDataset({"pixels": x, "label": y}, seeds=Seeds(0), batch_size=10, augment=pipe, image="pixels")
    batch = next(iter(as_dict))
    assert set(batch) == {"pixels", "label"}
    assert np.array_equal(batch["pixels"].numpy(), x[batch["label"].numpy()][:, :, ::-1])


def test_bad_arguments_teach(images):
    x, y = images
    with pytest.raises(InvalidArgumentError, match="first axis"):
        swtf.SeededDataset((x, y[:5]), seeds=Seeds(0), batch_size=4)
    with pytest.raises(InvalidArgumentError, match="image='img' is not part of data"):
        swtf.SeededDataset({"x": x}, seeds=Seeds(0), batch_size=4, augment=_pipe(Seeds(0)), image="img")
    with pytest.raises(InvalidArgumentError, match="MixUp"):
        swtf.SeededDataset((x, y), seeds=Seeds(0), batch_size=4, augment=A.Compose([A.MixUp()], seeds=Seeds(0)))
    with pytest.raises(InvalidArgumentError, match="rank"):
        swtf.SeededDataset((x, y), seeds=Seeds(0), batch_size=4, rank=2, world_size=2)
    with pytest.raises(InvalidTypeError, match="seeds is required"):
        swtf.SeededDataset((x, y), seeds=None, batch_size=4)
    with pytest.raises(InvalidTypeError, match="batch_size"):
        swtf.SeededDataset((x, y), seeds=Seeds(0), batch_size=4.0)


# -- augmentation ---------------------------------------------------------------------------


def _augmented(images, **kw) -> dict[int, np.ndarray]:
    x, y = images
    src = swtf.SeededDataset((x, y), seeds=Seeds(11), batch_size=kw.pop("batch_size", 8), **kw)
    out = {}
    for batch in src:
        for image, label in zip(batch[0].numpy(), batch[1].numpy()):
            out[int(label)] = image
    return out


def test_same_pixels_for_any_parallelism_batch_size_and_deterministic_false(images, tf):
    pipe = _pipe(Seeds(11))
    reference = _augmented(images, augment=pipe, num_parallel_calls=1)
    assert _keys_equal(reference, _augmented(images, augment=pipe))  # AUTOTUNE
    assert _keys_equal(reference, _augmented(images, augment=pipe, num_parallel_calls=4, batch_size=5))
    # a user's own parallel map, out of order: every sample's pixels are still its own
    x, y = images
    src = swtf.SeededDataset((x, y), seeds=Seeds(11), batch_size=8, augment=pipe, num_parallel_calls=1)
    options = tf.data.Options()
    options.deterministic = False
    loose = src.dataset().with_options(options).map(lambda a, b: (a, b), num_parallel_calls=4, deterministic=False)
    got = {int(label): image for batch in loose for image, label in zip(batch[0].numpy(), batch[1].numpy())}
    assert _keys_equal(reference, got)
    other = _augmented(images, augment=_pipe(Seeds(12)), num_parallel_calls=1)
    assert not all(np.array_equal(reference[k], other[k]) for k in reference)


def _keys_equal(a: dict[int, np.ndarray], b: dict[int, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("padding", [2, 0])  # 0: no fill set, the edge repeats (TensorFlow's NEAREST)
def test_exact_transforms_match_the_opencv_path_bit_for_bit(images, padding):
    x, y = images
    crop = A.RandomCrop((8, 8), padding=padding)
    pipe = A.Compose([A.HorizontalFlip(0.5), A.VerticalFlip(0.5), crop], seeds=Seeds(2))
    src = swtf.SeededDataset((x, y), seeds=Seeds(2), batch_size=8, augment=pipe)
    src.set_epoch(1)
    for batch in src:
        idx = batch[1].numpy()
        assert np.array_equal(batch[0].numpy(), pipe(x[idx], indices=idx, epoch=1))


def test_interpolated_transforms_agree_with_opencv_up_to_rounding(images):
    x, y = images
    pipe = _pipe(Seeds(6))
    _agree_up_to_rounding(x, y, pipe)


def test_a_warp_without_a_fill_repeats_the_edge_as_opencv_does(images):
    x, y = images
    _agree_up_to_rounding(x, y, A.Compose([A.Affine(degrees=30, translate=0.2, fill=None)], seeds=Seeds(6)))


def _agree_up_to_rounding(x, y, pipe):
    batch = next(iter(swtf.SeededDataset((x, y), seeds=Seeds(6), batch_size=40, augment=pipe)))
    idx = batch[1].numpy()
    diff = np.abs(batch[0].numpy().astype(int) - pipe(x[idx], indices=idx, epoch=0).astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.5


def test_transforms_without_a_tf_apply_run_the_numpy_path(images):
    x, y = images
    pipe = A.Compose([A.GaussianNoise(0.05, p=1.0), A.HorizontalFlip(0.5)], seeds=Seeds(8))
    src = swtf.SeededDataset((x, y), seeds=Seeds(8), batch_size=8, augment=pipe)
    assert src._augment is not None and src._augment.uses_numpy
    for batch in src:
        idx = batch[1].numpy()
        assert np.array_equal(batch[0].numpy(), pipe(x[idx], indices=idx, epoch=0))


def test_grey_2d_and_float_images(images):
    x, y = images
    grey = x[..., 0]
    pipe = A.Compose([A.HorizontalFlip(1.0), A.ColorJitter(brightness=0.3)], seeds=Seeds(3))
    batch = next(iter(swtf.SeededDataset((grey, y), seeds=Seeds(3), batch_size=8, augment=pipe)))
    assert batch[0].shape == (8, 10, 12)
    idx = batch[1].numpy()
    expected = pipe(grey[idx][..., None], indices=idx, epoch=0)[..., 0]
    assert np.abs(batch[0].numpy().astype(int) - expected.astype(int)).max() <= 1
    floats = (x / 255.0).astype("float32")
    fbatch = next(iter(swtf.SeededDataset((floats, y), seeds=Seeds(3), batch_size=8, augment=pipe)))
    assert fbatch[0].dtype.name == "float32"
    assert float(fbatch[0].numpy().min()) >= 0.0 and float(fbatch[0].numpy().max()) <= 1.0
    ubatch = next(iter(swtf.SeededDataset((x, y), seeds=Seeds(3), batch_size=8, augment=pipe)))
    assert np.abs(fbatch[0].numpy() * 255 - ubatch[0].numpy()).max() <= 0.5 + 1e-3


def test_iterating_leaves_the_global_rngs_alone(images):
    x, y = images
    random.seed(1)
    np.random.seed(1)
    before = (random.random(), np.random.random())
    random.seed(1)
    np.random.seed(1)
    list(swtf.SeededDataset((x, y), seeds=Seeds(1), batch_size=8, augment=_pipe(Seeds(1))))
    assert (random.random(), np.random.random()) == before
