"""Distillation objectives, each ``f(teacher: TokenBatch, student: TokenBatch, **settings) -> LossOutput``.

``ot`` is OPTICAL's token-level optimal transport; ``hard-align`` its hard (greedy one-to-one)
counterpart; the others are sentence-level baselines.
"""

from optical.losses.hard_alignment import greedy_alignment, hard_alignment_loss
from optical.losses.ot_distillation import cosine_cost, ot_distillation_loss
from optical.losses.output import LossOutput
from optical.losses.sentence import cls_mse_loss, contrastive_loss, kl_distillation_loss, sentence_mse_loss

__all__ = [
    "LossOutput",
    "cls_mse_loss",
    "contrastive_loss",
    "cosine_cost",
    "greedy_alignment",
    "hard_alignment_loss",
    "kl_distillation_loss",
    "ot_distillation_loss",
    "sentence_mse_loss",
]
