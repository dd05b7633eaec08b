"""Soft token alignments: the OT plan between one English sentence and its translation."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from optical.encoders import TokenEncoder
from optical.losses import hard_alignment_loss, ot_distillation_loss


@dataclass
class SoftAlignment:
    """plan (n, m): mass moved from English token i to foreign token j (sums to 1); the labels
    are the tokens that carry mass (special tokens left out when the encoders do; a model's prefix always)."""

    plan: torch.Tensor
    english_tokens: list[str]
    foreign_tokens: list[str]
    cost: float  # <T, C>_F for this pair
    english_word_ids: list[int]  # the word (of the tokenizer's pre-tokenization) each row token belongs to
    foreign_word_ids: list[int]  # the same for each column token


@torch.no_grad()
def soft_alignment(
    teacher: TokenEncoder,
    student: TokenEncoder,
    english: str,
    foreign: str,
    *,
    epsilon: float = 0.02,
    max_iter: int = 200,
    hard: bool = False,
) -> SoftAlignment:
    """Encode one pair with teacher (English) and student (foreign) and solve its transport plan.

    hard: the plan's hard counterpart instead, the greedy one-to-one matching by 1 - cos
    (:func:`optical.losses.greedy_alignment`; each link carries mass 1/links).
    """
    english_batch, foreign_batch = teacher.tokenize([english]), student.tokenize([foreign])
    modes = teacher.training, student.training
    teacher.eval(), student.eval()  # no dropout: a plan is a property of the weights
    teacher_tokens, student_tokens = teacher(english_batch), student(foreign_batch)
    teacher.train(modes[0]), student.train(modes[1])
    if hard:
        out = hard_alignment_loss(teacher_tokens, student_tokens)
    else:
        out = ot_distillation_loss(teacher_tokens, student_tokens, epsilon=epsilon, max_iter=max_iter)
    rows = teacher_tokens.content_mask[0].bool().cpu()
    cols = student_tokens.content_mask[0].bool().cpu()
    plan = out.plan[0].float().cpu()[rows][:, cols]  # (n, m) over the tokens that carry mass
    english_labels = teacher.tokenizer.convert_ids_to_tokens(english_batch["input_ids"][0][rows].tolist())
    foreign_labels = student.tokenizer.convert_ids_to_tokens(foreign_batch["input_ids"][0][cols].tolist())
    english_word_of, foreign_word_of = TokenEncoder.word_ids(english_batch, 0), TokenEncoder.word_ids(foreign_batch, 0)
    english_words = [english_word_of[i] for i in rows.nonzero().flatten().tolist()]
    foreign_words = [foreign_word_of[j] for j in cols.nonzero().flatten().tolist()]
    return SoftAlignment(plan, english_labels, foreign_labels, float(out.loss), english_words, foreign_words)
