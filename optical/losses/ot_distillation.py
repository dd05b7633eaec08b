"""OPTICAL's objective: token-level optimal-transport distillation (Huang et al., WSDM 2023)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from optical.encoders import TokenBatch
from optical.losses.contrastive import CONTRASTIVE, ContrastiveSettings, contrastive_loss
from optical.losses.objective import BoundLoss, Objective
from optical.losses.output import LossOutput
from optical.ot import sinkhorn, sinkhorn_unbalanced, uniform_marginals


@dataclass(frozen=True)
class OTSettings:
    epsilon: float = 0.02  # ot: Sinkhorn entropic regularisation
    sinkhorn_iters: int = 50  # ot: Sinkhorn iterations per step
    detach_plan: bool = True  # ot: envelope gradient (True) or back-propagate through Sinkhorn
    epsilon_start: float = 0.0  # ot: > 0 anneals epsilon geometrically from this to `epsilon` over training
    marginal_penalty: float = 0.0  # ot: > 0 relaxes the marginals by this times KL (unbalanced OT); 0 exact
    contrastive_weight: float = 0.0  # ot: > 0 adds this times the contrastive loss (temperature, negatives)
    temperature: float = ContrastiveSettings.temperature  # ot, contrastive: softmax temperature of in-batch scores
    negatives: int = ContrastiveSettings.negatives  # ot, contrastive: each pair's k hardest negatives by the teacher

    def __post_init__(self) -> None:
        if self.sinkhorn_iters < 1:
            raise ValueError(f"sinkhorn_iters must be >= 1, got {self.sinkhorn_iters}")
        if min(self.epsilon, self.temperature) <= 0:
            raise ValueError("epsilon and temperature must be > 0")
        if min(self.epsilon_start, self.marginal_penalty, self.contrastive_weight) < 0:
            raise ValueError("epsilon_start, marginal_penalty and contrastive_weight must be >= 0")
        if self.negatives < 0:
            raise ValueError(f"negatives must be >= 0, got {self.negatives}")
        if self.negatives and not self.contrastive_weight:
            raise ValueError("negatives join the candidates of OT's contrastive term: set contrastive_weight > 0")


def cosine_cost(teacher_tokens: torch.Tensor, student_tokens: torch.Tensor) -> torch.Tensor:
    """C_ij = 1 - cos(teacher_i, student_j).

    teacher_tokens (B, n, d), student_tokens (B, m, d) -> cost (B, n, m) in [0, 2].
    """
    teacher_unit = F.normalize(teacher_tokens.float(), dim=-1)
    student_unit = F.normalize(student_tokens.float(), dim=-1)
    return 1.0 - teacher_unit @ student_unit.transpose(1, 2)  # (B, n, d) @ (B, d, m) -> (B, n, m)


def ot_distillation_loss(
    teacher: TokenBatch,
    student: TokenBatch,
    *,
    epsilon: float = OTSettings.epsilon,
    max_iter: int = OTSettings.sinkhorn_iters,
    detach_plan: bool = OTSettings.detach_plan,
    marginal_penalty: float = OTSettings.marginal_penalty,
) -> LossOutput:
    r"""Optimal-transport distillation loss between teacher (English) and student (foreign) tokens.

    .. math::
        \mathcal{L} = \frac{1}{B} \sum_b \langle T^{(b)}, C^{(b)} \rangle_F, \qquad
        C_{ij} = 1 - \cos(t_i, s_j), \qquad T^{(b)} = \mathrm{Sinkhorn}_\varepsilon(C^{(b)}, a, b)

    with a and b uniform over each side's real tokens (``TokenBatch.content_mask``: padding, and
    the special tokens where the encoder left them out, carry no mass). An all-padding pair
    contributes zero.

    detach_plan: the plan is computed without gradient and the loss differentiates only through
    C. By the envelope theorem this is the exact gradient of the entropic OT value, and it skips
    back-propagating through the Sinkhorn iterations; ``False`` differentiates through them.

    marginal_penalty: rho > 0 relaxes the marginals by rho KL (unbalanced OT,
    :func:`~optical.ot.sinkhorn_unbalanced`), so tokens without a counterpart need not send their
    share; 0 keeps them exact.

    Returns the loss (scalar) and the plan (B, n, m): rows are teacher tokens, columns student
    tokens, the soft token alignment.
    """
    cost = cosine_cost(teacher.embeddings, student.embeddings)  # (B, n, m)
    a = uniform_marginals(teacher.content_mask)  # (B, n)
    b = uniform_marginals(student.content_mask)  # (B, m)
    # A pair where one side has no real token cannot be transported: drop both sides' mass.
    both = (a.sum(-1, keepdim=True) > 0) & (b.sum(-1, keepdim=True) > 0)  # (B, 1)
    a, b = a * both, b * both
    with torch.set_grad_enabled(torch.is_grad_enabled() and not detach_plan):
        if marginal_penalty > 0:
            plan = sinkhorn_unbalanced(cost, a, b, epsilon=epsilon, rho=marginal_penalty, max_iter=max_iter)
        else:
            plan = sinkhorn(cost, a, b, epsilon=epsilon, max_iter=max_iter, tol=0.0)
    loss = (plan * cost).sum(dim=(1, 2)).mean()  # <T, C>_F averaged over the batch
    return LossOutput(loss=loss, plan=plan)


def epsilon_at(settings: OTSettings, step: int, total_steps: int) -> float:
    r"""Epsilon at ``step`` (0-based): constant, or geometric from ``epsilon_start`` to ``epsilon``.

    .. math:: \varepsilon_t = \varepsilon_0 (\varepsilon / \varepsilon_0)^{t / (T - 1)}
    """
    if not settings.epsilon_start or total_steps < 2:
        return settings.epsilon
    return settings.epsilon_start * (settings.epsilon / settings.epsilon_start) ** (step / (total_steps - 1))


def bind_ot(settings: OTSettings) -> BoundLoss:
    """⟨T, C⟩ at the step's epsilon, plus ``contrastive_weight`` times InfoNCE over the batch's English sentences
    and the batch's hard ``negatives`` (K, d) where ``settings.negatives`` > 0 (the plan is OT's)."""

    def ot_loss(
        teacher: TokenBatch,
        student: TokenBatch,
        *,
        step: int = 0,
        total_steps: int = 1,
        negatives: torch.Tensor | None = None,
    ) -> LossOutput:
        out = ot_distillation_loss(
            teacher,
            student,
            epsilon=epsilon_at(settings, step, total_steps),
            max_iter=settings.sinkhorn_iters,
            detach_plan=settings.detach_plan,
            marginal_penalty=settings.marginal_penalty,
        )
        if settings.contrastive_weight:
            extra = contrastive_loss(teacher, student, temperature=settings.temperature, negatives=negatives).loss
            out = LossOutput(loss=out.loss + settings.contrastive_weight * extra, plan=out.plan)
        return out

    return ot_loss


OT = Objective("ot", OTSettings, bind_ot, prepare=CONTRASTIVE.prepare)  # its `negatives`, as contrastive mines them
