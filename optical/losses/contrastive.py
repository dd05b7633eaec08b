"""Contrastive distillation (InfoNCE over bitext pairs): each translation must find its own English sentence."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from optical.encoders import TokenBatch
from optical.losses.objective import Objective, without_schedule
from optical.losses.output import LossOutput


def cosine_logits(queries: torch.Tensor, documents: torch.Tensor, temperature: float) -> torch.Tensor:
    """(B, d) x (D, d) unit vectors -> (B, D) similarity logits cos / temperature."""
    return queries.float() @ documents.float().T / temperature


@dataclass(frozen=True)
class ContrastiveSettings:
    temperature: float = 0.05  # contrastive: softmax temperature of the in-batch cosine scores

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")


def contrastive_loss(
    teacher: TokenBatch, student: TokenBatch, *, temperature: float = ContrastiveSettings.temperature
) -> LossOutput:
    r"""InfoNCE over bitext pairs: each translation must find its own English sentence in the batch.

    .. math:: \mathcal{L} = -\frac{1}{B} \sum_b \log \frac{\exp(\cos(s_b, t_b)/\tau)}{\sum_j \exp(\cos(s_b, t_j)/\tau)}
    """
    logits = cosine_logits(student.pooled(), teacher.pooled(), temperature)  # (B, B)
    return LossOutput(loss=F.cross_entropy(logits, torch.arange(len(logits), device=logits.device)))


CONTRASTIVE = Objective(
    "contrastive",
    ContrastiveSettings,
    lambda settings: without_schedule(contrastive_loss, temperature=settings.temperature),
)
