"""Sentence-level MSE baselines: the student's sentence vector of the translation against the teacher's.

Both read the mean-pooled, L2-normalised sentence embeddings (``TokenBatch.pooled()``) or the [CLS] state, have
no settings and return no plan. The sentence-level objectives with candidates are in ``kl`` and ``contrastive``.
"""

from __future__ import annotations

import torch.nn.functional as F

from optical.encoders import TokenBatch
from optical.losses.objective import NoSettings, Objective, without_schedule
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


MSE = Objective("mse", NoSettings, lambda settings: without_schedule(sentence_mse_loss))
CLS_MSE = Objective("cls-mse", NoSettings, lambda settings: without_schedule(cls_mse_loss))
