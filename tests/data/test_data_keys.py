"""DataLoader(with_keys=True): each batch with the (epoch, sample indices) of its rows.

The keys are what per-sample randomness in the training step is keyed by (per-sample
dropout), so they must name exactly the samples of the batch, row by row, on every rank,
after a resume and with workers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from data_loader_kit import Indices, Tiny

import seedwise as sw
from seedwise.data import DataLoader, SampleKeys
from seedwise.errors import InvalidArgumentError, InvalidTypeError


@pytest.mark.parametrize("num_workers", [0, 1])
def test_keys_name_the_rows_of_each_batch(num_workers, test_seed):
    loader = DataLoader(
        Indices(23), batch_size=5, shuffle=True, seeds=sw.Seeds(test_seed), num_workers=num_workers, with_keys=True
    )
    for epoch in (0, 3):
        loader.set_epoch(epoch)
        seen = []
        for keys, batch in loader:
            assert isinstance(keys, SampleKeys) and keys.epoch == epoch
            assert keys.indices.dtype == np.int64 and not keys.indices.flags.writeable
            assert np.array_equal(keys.indices, batch.numpy())  # Indices: sample i is the int i
            seen.append(keys.indices)
        assert np.array_equal(np.concatenate(seen), loader.sampler.global_order(epoch))
    assert "with_keys=True" in repr(loader)


def test_keys_of_the_ranks_interleave_to_the_single_process_keys(test_seed):
    seeds = sw.Seeds(test_seed)
    single = [keys.indices for keys, _ in DataLoader(Tiny(16), batch_size=4, shuffle=True, seeds=seeds, with_keys=True)]
    ranks = [
        [keys for keys, _ in DataLoader(Tiny(16), batch_size=2, shuffle=True, seeds=seeds, rank=r, world_size=2,
                                        with_keys=True)]
        for r in range(2)
    ]  # fmt: skip
    for step, expected in enumerate(single):
        both = np.empty(4, dtype=np.int64)
        both[0::2], both[1::2] = ranks[0][step].indices, ranks[1][step].indices
        assert np.array_equal(both, expected)


def test_keys_follow_a_resume_and_unbatched_samples(test_seed):
    seeds = sw.Seeds(test_seed)
    first = DataLoader(Indices(12), batch_size=4, shuffle=True, seeds=seeds, with_keys=True)
    it = iter(first)
    next(it)
    resumed = DataLoader(Indices(12), batch_size=3, shuffle=True, seeds=seeds, with_keys=True)
    resumed.load_state_dict(first.state_dict())
    rest = [keys.indices for keys, batch in resumed]
    assert np.array_equal(np.concatenate(rest), first.sampler.global_order(0)[4:])
    unbatched = DataLoader(Indices(3), batch_size=None, seeds=seeds, with_keys=True)
    assert [(k.epoch, k.indices.tolist(), int(b)) for k, b in unbatched] == [(0, [0], 0), (0, [1], 1), (0, [2], 2)]


def test_without_keys_batches_are_as_before(test_seed):
    seeds = sw.Seeds(test_seed)
    plain = list(DataLoader(Tiny(10), batch_size=4, shuffle=True, seeds=seeds))
    keyed = list(DataLoader(Tiny(10), batch_size=4, shuffle=True, seeds=seeds, with_keys=True))
    for (x, y), (_, (kx, ky)) in zip(plain, keyed, strict=True):
        assert torch.equal(x, kx) and torch.equal(y, ky)


def test_with_keys_is_a_flag_and_streams_have_no_keys():
    with pytest.raises(InvalidTypeError, match="with_keys must be a bool"):
        DataLoader(Tiny(3), seeds=sw.Seeds(0), with_keys=1)

    class Stream(torch.utils.data.IterableDataset):
        seedwise_stream = True

        def __iter__(self):
            yield from range(3)

    with pytest.raises(InvalidArgumentError, match="with_keys at their defaults"):
        DataLoader(Stream(), seeds=sw.Seeds(0), with_keys=True)
