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


_DIGEST = """
import hashlib, sys
import numpy as np
from seedwise import Seeds
from seedwise.stateless import _per_sample

def digest(test_seed):
    streams = [Seeds(test_seed)["a"], Seeds(test_seed)["b"][3], Seeds(7), Seeds(2**64 - 1)]
    requests = _per_sample.Requests(list(zip(streams, (1, 6, 9, 4))))
    h = hashlib.sha256()
    for epoch in (0, 5, 2**64 - 1):
        for idx in ([0], [2**64 - 1], [0, 2**63 + 5, 2**64 - 1], list(range(40))):
            for u in _per_sample.uniforms(requests, np.uint64(epoch), np.array(idx, dtype=np.uint64)):
                h.update(np.ascontiguousarray(u).tobytes())
    return h.hexdigest()
"""


def test_compiled_draws_equal_the_python_int_and_numpy_forms(test_seed):
    from seedwise.stateless._distributions import UNIT
    from seedwise.stateless._philox import philox_block

    assert _per_sample.unit_kernel() is not None, "numba is a core dependency: the compiled draw path must load"
    rng = np.random.default_rng(test_seed)
    for k in range(20):
        stream = Seeds(int(rng.integers(0, 2**63)))[k]
        epoch, index = (int(v) for v in rng.integers(0, 2**64, size=2, dtype=np.uint64, endpoint=False))
        (got,) = _per_sample.uniforms([(stream, 7)], np.uint64(epoch), np.array([index], dtype=np.uint64))
        k0, k1 = (int(v) for v in stream.key)
        words = [w for blk in (0, 1) for w in philox_block(blk, epoch, index, 0, k0, k1)][:7]
        assert got[0].tolist() == [(w >> 11) * UNIT for w in words]
        assert np.array_equal(got, S.uniform(stream, (np.uint64(epoch), np.uint64([index])), size=7))


def test_draws_are_the_same_bits_without_numba(test_seed):
    """The fallback (Python ints for a sample, NumPy for a batch), in a process where numba cannot be imported."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['numba'] = None\n"
        + _DIGEST
        + "assert _per_sample.unit_kernel() is None\n"
        + f"print(digest({test_seed}))\n"
    )
    fallback = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    namespace: dict[str, object] = {}
    exec(_DIGEST, namespace)
    assert _per_sample.unit_kernel() is not None
    assert fallback.strip() == namespace["digest"](test_seed)  # type: ignore[operator]
