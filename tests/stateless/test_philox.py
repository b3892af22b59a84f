"""Philox-4x64-10: the vectorised and the Python-int forms, bit for bit with each other and NumPy."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from seedwise import Seeds
from seedwise import stateless as S
from seedwise.stateless._philox import philox_block

U64 = st.integers(0, 2**64 - 1)


@given(key=st.tuples(U64, U64), counter=st.tuples(U64, U64, U64, U64))
def test_philox_matches_numpy_bit_for_bit(key, counter):
    key_a = np.array(key, dtype=np.uint64)
    ctr = np.array(counter, dtype=np.uint64)
    # NumPy increments its 256-bit counter before producing a block: start one below.
    as_int = sum(int(c) << (64 * i) for i, c in enumerate(counter))
    prev = (as_int - 1) % 2**256
    prev_words = [(prev >> (64 * i)) & (2**64 - 1) for i in range(4)]
    ref = np.random.Philox(key=key_a, counter=np.array(prev_words, dtype=np.uint64)).random_raw(8)
    ours = S.philox(ctr, key_a)
    assert np.array_equal(ours, ref[:4])


def test_philox_known_answer():
    # Random123's published known-answer vector for philox4x64_10 (counter 0, key 0).
    out = S.philox(np.zeros(4, dtype=np.uint64), np.zeros(2, dtype=np.uint64))
    assert [hex(v) for v in out] == [
        "0x16554d9eca36314c",
        "0xdb20fe9d672d0fdc",
        "0xd7e772cee186176b",
        "0x7e68b68aec7ba23b",
    ]


def test_seeds_key_matches_numpy_philox_stream():
    s = Seeds(9)["x"]
    ref = np.random.Philox(key=s.key, counter=np.full(4, 2**64 - 1, dtype=np.uint64)).random_raw(4)
    assert np.array_equal(S.raw(s, 0, size=4), ref)


def test_philox_leaves_its_inputs_alone():
    counter = np.array([1, 2, 3, 4], dtype=np.uint64)
    key = np.array([5, 6], dtype=np.uint64)
    S.philox(counter, key)
    S.philox(counter[None, :], key)
    assert counter.tolist() == [1, 2, 3, 4] and key.tolist() == [5, 6]


@given(key=st.tuples(U64, U64), counters=st.lists(st.tuples(U64, U64, U64, U64), min_size=1, max_size=5))
def test_scalar_form_equals_the_vectorised_form_bit_for_bit(key, counters):
    key_a = np.array(key, dtype=np.uint64)
    vectorised = S.philox(np.array(counters, dtype=np.uint64), key_a)
    scalar = [philox_block(*counter, *key) for counter in counters]
    assert np.array_equal(vectorised, np.array(scalar, dtype=np.uint64))


def test_scalar_form_known_answer():
    # Random123's vector again, and one with every word at its maximum (the carries wrap).
    assert philox_block(0, 0, 0, 0, 0, 0) == (
        0x16554D9ECA36314C,
        0xDB20FE9D672D0FDC,
        0xD7E772CEE186176B,
        0x7E68B68AEC7BA23B,
    )
    top = 2**64 - 1
    expected = S.philox(np.full(4, top, dtype=np.uint64), np.full(2, top, dtype=np.uint64))
    assert list(philox_block(top, top, top, top, top, top)) == expected.tolist()
