"""Distillation objectives, each ``f(teacher: TokenBatch, student: TokenBatch, **settings) -> LossOutput``.

``ot`` is OPTICAL's token-level optimal transport; the others are the baselines it is compared with.
"""

from optical.losses.ot_distillation import cosine_cost, ot_distillation_loss
from optical.losses.output import LossOutput
from optical.losses.sentence import contrastive_loss, kl_distillation_loss, sentence_mse_loss, token_mse_loss

__all__ = [
    "LossOutput",
    "contrastive_loss",
    "cosine_cost",
    "kl_distillation_loss",
    "ot_distillation_loss",
    "sentence_mse_loss",
    "token_mse_loss",
]
