"""The hard counterpart of OT's soft plan: greedy one-to-one token alignment, then a token loss (DR.DECR)."""

from __future__ import annotations

import torch

from optical.encoders import TokenBatch
from optical.losses.objective import NoSettings, Objective, without_schedule
from optical.losses.ot_distillation import cosine_cost
from optical.losses.output import LossOutput


@torch.no_grad()
def greedy_alignment(cost: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Greedy one-to-one matching: repeatedly link the cheapest pair whose row and column are both free.

    cost (B, n, m); rows (B, n), cols (B, m): which tokens take part (bool). Returns a (B, n, m)
    0/1 matrix with min(real rows, real columns) links per sentence pair, at most one per row and
    per column. Ties go to the lowest flat index (row-major).
    """
    free = cost.float().masked_fill(~(rows[:, :, None] & cols[:, None, :]), float("inf"))  # (B, n, m)
    links = torch.zeros_like(free)
    batch = torch.arange(len(cost), device=cost.device)
    n, m = cost.shape[1:]
    for _ in range(min(n, m)):
        flat = free.flatten(1).argmin(1)  # (B,)
        found = torch.isfinite(free.flatten(1)[batch, flat])  # (B,) pairs with a free link left
        i, j = flat // m, flat % m
        links[batch[found], i[found], j[found]] = 1.0
        free[batch[found], i[found], :] = float("inf")
        free[batch[found], :, j[found]] = float("inf")
        if not found.any():
            break
    return links


def hard_alignment_loss(teacher: TokenBatch, student: TokenBatch) -> LossOutput:
    r"""Token distillation on a greedy one-to-one alignment (DR.DECR, Li et al., SIGIR 2022).

    .. math::
        \mathcal{L} = \frac{1}{B} \sum_b \frac{1}{|A_b|} \sum_{(i, j) \in A_b} C_{ij},
        \qquad C_{ij} = 1 - \cos(t_i, s_j)

    where A_b links each of the min(n, m) real tokens of the shorter side to one token of the other,
    cheapest first, without reuse (computed without gradient). It is :func:`ot_distillation_loss` with
    the entropic plan replaced by a hard, partial matching; 1 - cos is half the squared distance of
    the unit vectors, so this is the token MSE of the aligned pairs up to a factor 2. A pair with no
    real token on one side contributes zero.

    Returns the loss and the alignment (B, n, m) as ``plan`` (links scaled to sum to 1 per pair).
    """
    cost = cosine_cost(teacher.embeddings, student.embeddings)  # (B, n, m)
    links = greedy_alignment(cost, teacher.content_mask.bool(), student.content_mask.bool())  # (B, n, m)
    plan = links / links.sum(dim=(1, 2), keepdim=True).clamp_min(1.0)
    return LossOutput(loss=(plan * cost).sum(dim=(1, 2)).mean(), plan=plan)


HARD_ALIGN = Objective("hard-align", NoSettings, lambda settings: without_schedule(hard_alignment_loss))
