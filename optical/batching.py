"""The order in which training pairs are seen: shuffled batches, optionally grouped by length.

Both orders are a pure function of (seed, epoch), so a resumed run sees the batches it would have
seen, and every pair comes exactly once per epoch in ceil(N / batch_size) batches.
"""

from __future__ import annotations

import torch

__all__ = ["length_bucketed_batches", "padding_share", "shuffled_batches"]


def _generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def shuffled_batches(num_pairs: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The pairs in a random order cut into consecutive batches (the last one may be short)."""
    order = torch.randperm(num_pairs, generator=_generator(seed, epoch)).tolist()
    return [order[i : i + batch_size] for i in range(0, num_pairs, batch_size)]


def length_bucketed_batches(
    lengths: list[int], batch_size: int, seed: int, epoch: int, *, pool_batches: int = 64
) -> list[list[int]]:
    """Batches of pairs of similar length, so that little of each batch is padding.

    The pairs are shuffled, cut into pools of ``pool_batches`` batches, each pool is sorted by
    length (ties keep the shuffled order) and cut into batches, and the batch order is shuffled
    again: batches differ from epoch to epoch while their lengths stay close.
    lengths: (N,) tokens of each pair (the student's side). Returns ceil(N / batch_size) batches.
    """
    generator = _generator(seed, epoch)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lengths.__getitem__)
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def padding_share(lengths: list[int], batches: list[list[int]]) -> float:
    """Share of padding among the token positions of ``batches`` padded to their longest member."""
    positions = sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)
    return 1.0 - sum(lengths[i] for batch in batches for i in batch) / positions
