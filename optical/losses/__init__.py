"""Distillation objectives, one per file, each ``f(teacher: TokenBatch, student: TokenBatch, **settings)``."""

from optical.losses.ot_distillation import cosine_cost, ot_distillation_loss
from optical.losses.output import LossOutput

__all__ = ["LossOutput", "cosine_cost", "ot_distillation_loss"]
