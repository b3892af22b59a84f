"""The block derivation of children's ints (seedwise._seed_block) is NumPy's SeedSequence, bit for bit."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import seedwise as sw
from seedwise import Seeds
from seedwise._seed_block import child_ints
from seedwise.errors import InvalidArgumentError, InvalidTypeError
from seedwise.integrations._steps import BLOCK, StepKeys

ENTROPY = st.one_of(st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**64, 2**128 - 1]), st.integers(0, 2**128 - 1))
ELEMENT = st.one_of(st.text(min_size=1, max_size=8), st.integers(0, 2**64 - 1))
INDEX = st.integers(0, 2**64 - 1)


@settings(max_examples=60, deadline=None)
@given(
    entropy=ENTROPY,
    path=st.lists(ELEMENT, max_size=4),
    indices=st.lists(INDEX, min_size=1, max_size=6),
    suffix=st.lists(ELEMENT, max_size=2),
)
def test_child_ints_equal_int_of_each_child(entropy, path, indices, suffix):
    parent = Seeds(entropy).child(*path)
    assert child_ints(parent, indices, tuple(suffix)) == [int(parent.child(i, *suffix)) for i in indices]


@settings(max_examples=30, deadline=None)
@given(root=ENTROPY, override=ENTROPY, depth=st.integers(1, 3))
def test_an_override_on_the_path_applies_to_the_block(root, override, depth):
    parent = Seeds(root).override({("dropout",): override})["dropout"].child(*range(depth - 1))
    assert child_ints(parent, range(5)) == [int(parent[i]) for i in range(5)]


def test_a_long_block_and_its_edges():
    parent = Seeds(0)["dropout"][1]
    indices = list(range(3000)) + [2**64 - 1, 2**32, 2**32 - 1]
    assert child_ints(parent, indices) == [int(parent[i]) for i in indices]
    assert child_ints(parent, []) == []


def test_bad_indices_are_refused_as_seeds_refuses_them():
    parent = Seeds(0)
    with pytest.raises(InvalidArgumentError, match="below 2\\*\\*64"):
        child_ints(parent, [2**64])
    with pytest.raises(InvalidArgumentError, match=">= 0"):
        child_ints(parent, [-1])
    with pytest.raises(InvalidTypeError, match="child index"):
        child_ints(parent, [1.5])


# -- StepKeys, the per-step use --------------------------------------------------------


def _draw() -> torch.Tensor:
    return torch.rand(4, generator=None)  # global-rng-ok: what nn.Dropout draws from


@pytest.mark.parametrize("position", [0, 1, BLOCK - 1, BLOCK, 5 * BLOCK + 3, (7, 0), (7, 1), (BLOCK, 3)])
def test_step_keys_draw_what_keyed_draws_and_restore_the_generator(position):
    stream = Seeds(3)["dropout"]
    keys = StepKeys(stream)
    torch.manual_seed(11)  # global-rng-ok: the state a step must leave as it found it
    before = torch.get_rng_state()
    keys.enter(1, position)
    inside = _draw()
    keys.exit()
    assert torch.equal(torch.get_rng_state(), before)
    with sw.keyed(stream[1], position):
        assert torch.equal(inside, _draw())


def test_step_keys_across_many_blocks_and_ranks():
    stream = Seeds(0)["dropout"]
    keys = StepKeys(stream)
    for rank in (0, 1):
        for step in [*range(0, 70 * BLOCK, 997), BLOCK - 1, BLOCK]:  # past the 64 kept blocks
            assert keys.value(rank, step) == int(stream[rank][step])
    assert keys.value(1, (BLOCK + 2, 3)) == int(stream[1].child(BLOCK + 2, 3))
