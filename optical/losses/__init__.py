"""Distillation objectives, one module each, registered by name in :data:`OBJECTIVES`.

Each module defines its loss ``f(teacher: TokenBatch, student: TokenBatch, **settings) -> LossOutput``, the
dataclass of its settings (each with its one default) and an :class:`~optical.losses.objective.Objective` that
binds them for the trainer. ``ot`` is OPTICAL's token-level optimal transport; ``hard-align`` its hard (greedy
one-to-one) counterpart; the others are sentence-level baselines.
"""

from optical.losses.contrastive import CONTRASTIVE, ContrastiveSettings, contrastive_loss
from optical.losses.hard_alignment import HARD_ALIGN, greedy_alignment, hard_alignment_loss
from optical.losses.kl import KL, KLSettings, kl_distillation_loss
from optical.losses.objective import BoundLoss, NoSettings, Objective
from optical.losses.ot_distillation import OT, OTSettings, cosine_cost, epsilon_at, ot_distillation_loss
from optical.losses.output import LossOutput
from optical.losses.sentence import CLS_MSE, MSE, cls_mse_loss, sentence_mse_loss

# name -> objective: a new objective is its module and one entry here
OBJECTIVES: dict[str, Objective] = {
    objective.name: objective for objective in (OT, HARD_ALIGN, KL, MSE, CLS_MSE, CONTRASTIVE)
}

__all__ = [
    "OBJECTIVES",
    "BoundLoss",
    "ContrastiveSettings",
    "KLSettings",
    "LossOutput",
    "NoSettings",
    "OTSettings",
    "Objective",
    "cls_mse_loss",
    "contrastive_loss",
    "cosine_cost",
    "epsilon_at",
    "greedy_alignment",
    "hard_alignment_loss",
    "kl_distillation_loss",
    "ot_distillation_loss",
    "sentence_mse_loss",
]
