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
    """(B, d) x (D, d) unit vectors -> (B, D) similarity logits cos / temperature."""
    return queries.float() @ documents.float().T / temperature


def kl_distillation_loss(
    teacher: TokenBatch,
    student: TokenBatch,
    *,
    temperature: float = 0.1,
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
    target = F.log_softmax(_scores(teacher.pooled(), documents, temperature), dim=-1)  # (B, B + K) log p
    predicted = F.log_softmax(_scores(student.pooled(), documents, temperature), dim=-1)  # (B, B + K) log q
    return LossOutput(loss=F.kl_div(predicted, target, reduction="batchmean", log_target=True))


def contrastive_loss(teacher: TokenBatch, student: TokenBatch, *, temperature: float = 0.05) -> LossOutput:
    r"""InfoNCE over bitext pairs: each translation must find its own English sentence in the batch.

    .. math:: \mathcal{L} = -\frac{1}{B} \sum_b \log \frac{\exp(\cos(s_b, t_b)/\tau)}{\sum_j \exp(\cos(s_b, t_j)/\tau)}
    """
    logits = _scores(student.pooled(), teacher.pooled(), temperature)  # (B, B)
    return LossOutput(loss=F.cross_entropy(logits, torch.arange(len(logits), device=logits.device)))
