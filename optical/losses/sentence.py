"""Sentence-level baselines: the student's pooled embedding of the translation against the teacher's.

All four read the mean-pooled, L2-normalised sentence embeddings (``TokenBatch.pooled()``, the
all-MiniLM-L6-v2 embedding) or the [CLS] state, and return no plan.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from optical.encoders import TokenBatch
from optical.losses.output import LossOutput


def sentence_mse_loss(teacher: TokenBatch, student: TokenBatch) -> LossOutput:
    r"""Multilingual distillation by MSE (Reimers & Gurevych, EMNLP 2020).

    .. math:: \mathcal{L} = \frac{1}{B} \sum_b \lVert t_b - s_b \rVert_2^2 = \frac{1}{B} \sum_b 2 - 2\cos(t_b, s_b)

    with t_b, s_b the (B, d) pooled unit vectors of the English sentence and its translation.
    """
    return LossOutput(loss=(teacher.pooled().float() - student.pooled().float()).pow(2).sum(-1).mean())


def cls_mse_loss(teacher: TokenBatch, student: TokenBatch) -> LossOutput:
    r"""MSE on the [CLS] state, the one position aligned by construction across tokenisations.

    .. math:: \mathcal{L} = \frac{1}{B} \sum_b \lVert \hat t_{b,0} - \hat s_{b,0} \rVert_2^2

    with :math:`\hat x` the L2-normalised (B, d) state of token 0. One vector per sentence, so it is a
    sentence-level objective (on a state that all-MiniLM-L6-v2's mean pooling does not single out);
    the token-level rivals of OT's soft plan are :func:`~optical.losses.hard_alignment_loss` and OT itself.
    """
    teacher_cls = F.normalize(teacher.embeddings[:, 0].float(), dim=-1)  # (B, d)
    student_cls = F.normalize(student.embeddings[:, 0].float(), dim=-1)  # (B, d)
    return LossOutput(loss=(teacher_cls - student_cls).pow(2).sum(-1).mean())


def _scores(queries: torch.Tensor, documents: torch.Tensor, temperature: float) -> torch.Tensor:
    """(B, d) x (B, d) unit vectors -> (B, B) in-batch similarity logits cos / temperature."""
    return queries.float() @ documents.float().T / temperature


def kl_distillation_loss(teacher: TokenBatch, student: TokenBatch, *, temperature: float = 0.05) -> LossOutput:
    r"""KL divergence between the teacher's and the student's score distributions over in-batch documents.

    The English sentences of the batch act as documents, encoded by the teacher (d_j = t_j):

    .. math::
        p_b = \mathrm{softmax}_j(\cos(t_b, d_j) / \tau), \quad
        q_b = \mathrm{softmax}_j(\cos(s_b, d_j) / \tau), \quad
        \mathcal{L} = \frac{1}{B} \sum_b \mathrm{KL}(p_b \,\Vert\, q_b)

    so the foreign query must rank the documents as the English query does, not only find its own.
    """
    documents = teacher.pooled()  # (B, d), no gradient: the teacher is frozen
    target = F.log_softmax(_scores(documents, documents, temperature), dim=-1)  # (B, B) log p
    predicted = F.log_softmax(_scores(student.pooled(), documents, temperature), dim=-1)  # (B, B) log q
    return LossOutput(loss=F.kl_div(predicted, target, reduction="batchmean", log_target=True))


def contrastive_loss(teacher: TokenBatch, student: TokenBatch, *, temperature: float = 0.05) -> LossOutput:
    r"""InfoNCE over bitext pairs: each translation must find its own English sentence in the batch.

    .. math:: \mathcal{L} = -\frac{1}{B} \sum_b \log \frac{\exp(\cos(s_b, t_b)/\tau)}{\sum_j \exp(\cos(s_b, t_j)/\tau)}
    """
    logits = _scores(student.pooled(), teacher.pooled(), temperature)  # (B, B)
    return LossOutput(loss=F.cross_entropy(logits, torch.arange(len(logits), device=logits.device)))
