"""Length-bucketed batches: every pair once per epoch, reproducible by (seed, epoch), less padding."""

import random

import pytest

from optical.batching import length_bucketed_batches, padding_share, shuffled_batches


@pytest.fixture
def lengths():
    rng = random.Random(0)
    return [rng.randint(5, 120) for _ in range(1000)]  # verse-like spread of token counts


@pytest.mark.parametrize("pool_batches", [1, 4, 64])
def test_every_pair_once_per_epoch_in_as_many_batches_as_before(lengths, pool_batches):
    for epoch in range(3):
        batches = length_bucketed_batches(lengths, 32, seed=7, epoch=epoch, pool_batches=pool_batches)
        assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
        assert len(batches) == len(shuffled_batches(len(lengths), 32, seed=7, epoch=epoch)) == 32  # ceil(1000/32)
        assert sum(len(batch) < 32 for batch in batches) == 1  # only one short batch, 1000 = 31 * 32 + 8


def test_batches_are_a_function_of_seed_and_epoch(lengths):
    assert length_bucketed_batches(lengths, 32, 3, 1) == length_bucketed_batches(lengths, 32, 3, 1)
    assert length_bucketed_batches(lengths, 32, 3, 1) != length_bucketed_batches(lengths, 32, 3, 2)
    assert length_bucketed_batches(lengths, 32, 3, 1) != length_bucketed_batches(lengths, 32, 4, 1)


def test_bucketing_cuts_the_padding(lengths):
    random_share = padding_share(lengths, shuffled_batches(len(lengths), 32, 0, 0))
    bucketed_share = padding_share(lengths, length_bucketed_batches(lengths, 32, 0, 0))
    assert random_share > 0.35 and bucketed_share < 0.05, (random_share, bucketed_share)


def test_padding_share_by_hand():
    assert padding_share([2, 4, 4], [[0, 1], [2]]) == pytest.approx(1 - 10 / 12)  # batches padded to 4 and 4
