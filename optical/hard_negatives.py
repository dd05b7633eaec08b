"""Hard negatives for score distillation (KL's ``hard_negatives``) and contrastive distillation (its ``negatives``):
the training English sentences the teacher finds closest to each one.

With in-batch candidates only, the teacher's softmax over its own English sentence and 31 random
others is one-hot at any useful temperature (the sentence itself scores cos 1), so KL distillation
collapses into the contrastive loss. Adding, for every pair, the k training sentences the teacher
ranks highest gives it near-misses to spread its mass over, and the student something to learn
about how the teacher ranks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import torch

from optical.encoders import TokenEncoder
from optical.retrieval import cached_encoding


@dataclass
class HardNegatives:
    """vectors (N, d): the teacher's unit sentence vectors of the N training English sides;
    nearest (N, k): for each, the k others it scores highest, never one with the same text;
    groups (N,): one id per distinct text (the Bible repeats whole verses word for word)."""

    vectors: torch.Tensor
    nearest: torch.Tensor
    groups: torch.Tensor

    def for_batch(self, indices: list[int]) -> torch.Tensor:
        """(K, d): the hard negatives of the batch's pairs, each once, none sharing a batch member's text."""
        index = torch.as_tensor(indices)
        candidates = torch.unique(self.nearest[index].flatten())
        keep = ~torch.isin(self.groups[candidates], self.groups[index])
        return self.vectors[candidates[keep]]


def mine_hard_negatives(
    teacher: TokenEncoder,
    english: list[str],
    k: int,
    *,
    cache_dir: str | os.PathLike | None = None,
    chunk: int = 2048,
) -> HardNegatives:
    """Encode ``english`` with ``teacher`` (cached under ``cache_dir``) and keep each sentence's k nearest.

    Cosine similarity of unit vectors, computed ``chunk`` rows at a time: O(N^2 d) time, O(chunk N) memory.
    """
    if not 0 < k < len(english):
        raise ValueError(f"hard negatives per pair must be in [1, {len(english) - 1}], got {k}")

    def encode() -> torch.Tensor:
        return teacher.embed(english, progress="encode hard-negative pool")

    vectors = (
        encode()
        if cache_dir is None
        else cached_encoding("pool", teacher, english, teacher.max_length, cache_dir, encode)
    )
    first_of: dict[str, int] = {}
    groups = torch.tensor([first_of.setdefault(text, len(first_of)) for text in english])
    nearest = torch.empty(len(english), k, dtype=torch.long)
    for start in range(0, len(english), chunk):
        rows = slice(start, start + chunk)
        scores = vectors[rows] @ vectors.T  # (chunk, N)
        scores[groups[rows, None] == groups[None, :]] = float("-inf")  # itself and verbatim repeats
        nearest[rows] = scores.topk(k, dim=1).indices
    return HardNegatives(vectors, nearest, groups)


def prepare_batch_negatives(
    k: int, teacher: TokenEncoder, english: list[str], cache_dir: str | os.PathLike | None
) -> Callable[[list[int]], dict[str, torch.Tensor]] | None:
    """An objective's ``prepare`` (:class:`~optical.losses.objective.Objective`): each training pair's k nearest
    English sentences by the teacher (at most all the others), as the ``negatives`` of every batch; None for k = 0."""
    k = min(k, len(english) - 1)
    if k <= 0:
        return None
    negatives = mine_hard_negatives(teacher, english, k, cache_dir=cache_dir)
    return lambda indices: {"negatives": negatives.for_batch(indices)}


def teacher_score_distribution(
    negatives: HardNegatives, batches: list[list[int]], temperature: float
) -> dict[str, float]:
    """How peaked the teacher's target is: mean entropy (nats) and mean mass on the pair's own sentence.

    For each batch the candidates are its English sentences plus :meth:`HardNegatives.for_batch`;
    p_b = softmax_j(cos(t_b, d_j) / temperature). Also the mean number of candidates.
    """
    entropies, diagonal, sizes = [], [], []
    for batch in batches:
        own = negatives.vectors[torch.as_tensor(batch)]  # (B, d)
        candidates = torch.cat([own, negatives.for_batch(batch)])  # (B + K, d)
        log_p = torch.log_softmax(own @ candidates.T / temperature, dim=1)  # (B, B + K)
        entropies.append(-(log_p.exp() * log_p).sum(1))
        diagonal.append(log_p.diagonal().exp())
        sizes.append(len(candidates))
    return {
        "entropy": float(torch.cat(entropies).mean()),
        "diagonal_mass": float(torch.cat(diagonal).mean()),
        "candidates": float(sum(sizes) / len(sizes)),
    }
