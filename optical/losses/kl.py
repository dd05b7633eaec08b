"""Score distillation: the student must rank the candidate English sentences as the teacher does."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from optical.encoders import TokenBatch
from optical.hard_negatives import prepare_batch_negatives
from optical.losses.contrastive import cosine_logits
from optical.losses.objective import Objective, without_schedule
from optical.losses.output import LossOutput


@dataclass(frozen=True)
class KLSettings:
    kl_temperature: float = 0.1  # kl: temperature of the teacher's and the student's score distributions
    hard_negatives: int = 8  # kl: the teacher's k nearest training English sentences per pair join the candidates

    def __post_init__(self) -> None:
        if self.kl_temperature <= 0:
            raise ValueError(f"kl_temperature must be > 0, got {self.kl_temperature}")
        if self.hard_negatives < 0:
            raise ValueError(f"hard_negatives must be >= 0, got {self.hard_negatives}")


def kl_distillation_loss(
    teacher: TokenBatch,
    student: TokenBatch,
    *,
    temperature: float = KLSettings.kl_temperature,
    negatives: torch.Tensor | None = None,
) -> LossOutput:
    r"""Score distillation: KL between the teacher's and the student's distributions over candidate documents.

    The candidates are English texts encoded by the teacher: the batch's English sentences t_j and
    the hard ``negatives`` (K, d) (unit vectors, e.g. :meth:`~optical.hard_negatives.HardNegatives.for_batch`):

    .. math::
        p_b = \mathrm{softmax}_j(\cos(t_b, d_j) / \tau), \quad
        q_b = \mathrm{softmax}_j(\cos(s_b, d_j) / \tau), \quad
        \mathcal{L} = \frac{1}{B} \sum_b \mathrm{KL}(p_b \,\Vert\, q_b)

    so the foreign query must rank the candidates as the English query does, not only find its own.
    Without negatives p_b is nearly one-hot on t_b at small tau (the loss is then contrastive).
    """
    documents = teacher.pooled()  # (B, d), no gradient: the teacher is frozen
    if negatives is not None:
        documents = torch.cat([documents, negatives.to(documents)])  # (B + K, d)
    target = F.log_softmax(cosine_logits(teacher.pooled(), documents, temperature), dim=-1)  # (B, B + K) log p
    predicted = F.log_softmax(cosine_logits(student.pooled(), documents, temperature), dim=-1)  # (B, B + K) log q
    return LossOutput(loss=F.kl_div(predicted, target, reduction="batchmean", log_target=True))


KL = Objective(
    "kl",
    KLSettings,
    lambda settings: without_schedule(kl_distillation_loss, temperature=settings.kl_temperature),
    prepare=lambda settings, *pool: prepare_batch_negatives(settings.hard_negatives, *pool),
)
