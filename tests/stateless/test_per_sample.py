"""Per-sample draws: several streams at once (Python-int and NumPy paths), one generator per sample."""

from __future__ import annotations

import numpy as np

from seedwise import Seeds
from seedwise import stateless as S
from seedwise.stateless import _per_sample


def test_scalar_and_vector_draw_paths_equal_stateless_uniform(test_seed):
    streams = [Seeds(test_seed)["a"], Seeds(test_seed)["b"][3], Seeds(7)]
    for idx in (np.array([5]), np.array([0, 2**63 + 5, 2**64 - 1], dtype=np.uint64), np.arange(60)):
        requests = list(zip(streams, (1, 6, 9)))
        got = _per_sample.uniforms(requests, np.uint64(2**64 - 3), idx.astype(np.uint64))
        for (stream, size), g in zip(requests, got):
            assert np.array_equal(g, S.uniform(stream, (np.uint64(2**64 - 3), idx.astype(np.uint64)), size=size))


def test_generators_are_keyed_by_two_raw_words_per_sample_whatever_the_batch(test_seed):
    stream = Seeds(test_seed)["noise"]
    idx = np.array([4, 0, 2**64 - 1, 9], dtype=np.uint64)
    words = S.raw(stream, (np.uint64(3), idx), size=2)
    batch = [g.standard_normal(5) for g in _per_sample.generators(stream, np.uint64(3), idx)]
    for i, index in enumerate(idx):
        alone = _per_sample.generators(stream, np.uint64(3), np.array([index], dtype=np.uint64))
        assert np.array_equal(alone[0].standard_normal(5), batch[i])
        reference = np.random.Generator(np.random.Philox(key=words[i])).standard_normal(5)
        assert np.array_equal(batch[i], reference)
    assert not np.array_equal(batch[0], batch[1])
    assert _per_sample.generators(stream, np.uint64(3), np.zeros(0, dtype=np.uint64)) == []
