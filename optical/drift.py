"""Drift diagnostics, logged per training step: is the student collapsing onto one direction?

Early in OT distillation the cheapest way to lower ⟨T, C⟩ is to move every student token towards
the teacher's mean token direction: the plan turns uniform (every English token equally far from
every foreign one) and all pooled query vectors point the same way, which ruins retrieval. These two
numbers show that phase as it happens.
"""

from __future__ import annotations

import math

import torch

from optical.encoders import TokenBatch


@torch.no_grad()
def pooled_cosine(batch: TokenBatch) -> float:
    """Mean cosine between the pooled vectors of different sentences of a batch (B >= 2), in [-1, 1].

    Near 1: the sentences are no longer told apart. NaN for a batch of one.
    """
    pooled = batch.pooled().float()  # (B, d) unit vectors
    count = len(pooled)
    if count < 2:
        return math.nan
    cosines = pooled @ pooled.T  # (B, B)
    return float((cosines.sum() - cosines.diagonal().sum()) / (count * (count - 1)))


@torch.no_grad()
def plan_entropy(plan: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> float:
    """Mean normalised entropy of transport plans, in [0, 1]: H(T) / log(n m) over each pair's n x m real tokens.

    plan (B, n, m), each pair's plan summing to 1; rows (B, n), cols (B, m): the tokens with mass.
    1 is the uniform plan (no alignment at all), 0 a plan on one cell. Pairs with fewer than two
    cells are left out; NaN when none is left.
    """
    cells = rows.float().sum(1) * cols.float().sum(1)  # (B,)
    plan = plan.float()
    entropy = -(plan * plan.clamp_min(1e-30).log()).sum(dim=(1, 2))  # (B,)
    keep = cells >= 2
    if not keep.any():
        return math.nan
    return float((entropy[keep] / cells[keep].log()).mean())
