"""Contrastive distillation (InfoNCE over bitext pairs): each translation must find its own English sentence among
the batch's, and with ``negatives`` > 0 also among the teacher's hard negatives (KL's candidate pool)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from optical.encoders import TokenBatch
from optical.hard_negatives import prepare_batch_negatives
from optical.losses.objective import Objective, without_schedule
from optical.losses.output import LossOutput


def cosine_logits(queries: torch.Tensor, documents: torch.Tensor, temperature: float) -> torch.Tensor:
    """(B, d) x (D, d) unit vectors -> (B, D) similarity logits cos / temperature."""
    return queries.float() @ documents.float().T / temperature


@dataclass(frozen=True)
class ContrastiveSettings:
    temperature: float = 0.05  # contrastive: softmax temperature of the candidates' cosine scores
    negatives: int = 0  # contrastive, ot: the teacher's k nearest training sentences per pair join the candidates

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.negatives < 0:
            raise ValueError(f"negatives must be >= 0, got {self.negatives}")


def contrastive_loss(
    teacher: TokenBatch,
    student: TokenBatch,
    *,
    temperature: float = ContrastiveSettings.temperature,
    negatives: torch.Tensor | None = None,
) -> LossOutput:
    r"""InfoNCE over bitext pairs: each translation must find its own English sentence among the candidates d_j,
    the batch's English sentences and the hard ``negatives`` (K, d) (unit vectors; none: in-batch only).

    .. math:: \mathcal{L} = -\frac{1}{B} \sum_b \log \frac{\exp(\cos(s_b, t_b)/\tau)}{\sum_j \exp(\cos(s_b, d_j)/\tau)}
    """
    documents = teacher.pooled()  # (B, d)
    if negatives is not None:
        documents = torch.cat([documents, negatives.to(documents)])  # (B + K, d)
    logits = cosine_logits(student.pooled(), documents, temperature)  # (B, B + K)
    return LossOutput(loss=F.cross_entropy(logits, torch.arange(len(logits), device=logits.device)))


CONTRASTIVE = Objective(
    "contrastive",
    ContrastiveSettings,
    lambda settings: without_schedule(contrastive_loss, temperature=settings.temperature),
    prepare=lambda settings, *pool: prepare_batch_negatives(settings.negatives, *pool),
)
