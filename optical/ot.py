"""Entropic optimal transport: batched, masked, log-domain Sinkhorn.

The solver returns the transport plan, which OPTICAL reads as a soft token alignment.

References
----------
.. [1] M. Cuturi. Sinkhorn Distances: Lightspeed Computation of Optimal Transport. NeurIPS 2013.
.. [2] G. Peyré, M. Cuturi. Computational Optimal Transport, §4.4 (log-domain stabilisation). 2019.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

__all__ = ["SinkhornResult", "sinkhorn", "uniform_marginals"]


@dataclass
class SinkhornResult:
    """Plan plus what the solver saw; returned by :func:`sinkhorn` with ``return_log=True``."""

    plan: torch.Tensor  # (B, n, m)
    log_u: torch.Tensor  # (B, n) dual potential f / epsilon
    log_v: torch.Tensor  # (B, m) dual potential g / epsilon
    n_iter: int
    marginal_error: float  # max over the batch of ||T^T 1 - b||_1


def uniform_marginals(mask: torch.Tensor) -> torch.Tensor:
    """Uniform weights over the real tokens of each row: ``mask / mask.sum(-1)``.

    mask: (B, n) of 0/1 (bool or numeric). Returns (B, n) float32; a row without any real token
    stays all zero (no division by zero).
    """
    weights = mask.to(torch.float32)
    return weights / weights.sum(-1, keepdim=True).clamp_min(1.0)


def sinkhorn(
    cost: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    epsilon: float = 0.05,
    max_iter: int = 100,
    tol: float = 1e-6,
    check_every: int = 10,
    return_log: bool = False,
) -> torch.Tensor | SinkhornResult:
    r"""Solve a batch of entropic OT problems in the log domain.

    .. math::
        T^\star = \arg\min_{T \ge 0,\; T 1 = a,\; T^\top 1 = b}
                  \langle T, C \rangle_F - \varepsilon H(T),
        \qquad H(T) = -\sum_{ij} T_{ij} (\log T_{ij} - 1)

    with the scaled potentials :math:`u = f/\varepsilon, v = g/\varepsilon`, both starting at 0,
    updated as :math:`v = \log b - \mathrm{LSE}_i(-C_{ij}/\varepsilon + u_i)`, then
    :math:`u = \log a - \mathrm{LSE}_j(-C_{ij}/\varepsilon + v_j)`, and
    :math:`T_{ij} = \exp(u_i - C_{ij}/\varepsilon + v_j)` [1]_ [2]_: the iteration of POT's
    ``ot.sinkhorn(method="sinkhorn_log")``, so equal iteration counts give equal plans.

    Parameters
    ----------
    cost : (B, n, m) tensor, any float dtype (computed in float32).
    a : (B, n) source marginals; zeros mark padding, whose rows get exactly zero mass.
    b : (B, m) target marginals; zeros mark padding, whose columns get exactly zero mass.
        Each pair must have ``a.sum() == b.sum()`` (both zero for an all-padding pair).
    epsilon : entropic regularisation, > 0; the log domain keeps small values finite.
    max_iter : the most Sinkhorn iterations (one iteration updates u and v).
    tol : stop once every pair's column-marginal error ``||T^T 1 - b||_1`` is below it (0 runs
        max_iter); rows hold exactly after each iteration.
    check_every : iterations between two marginal checks.
    return_log : also return potentials, iterations and the final marginal error.

    Returns
    -------
    plan : (B, n, m) tensor in ``cost.dtype``, or a :class:`SinkhornResult` with ``return_log``.
    Gradients flow through the iterations; call it under ``torch.no_grad()`` for a detached plan.
    Warns (``UserWarning``) when ``tol > 0`` and the error is still above ``tol`` after max_iter.
    """
    if cost.dim() != 3:
        raise ValueError(f"cost must be (B, n, m), got shape {tuple(cost.shape)}")
    batch, n, m = cost.shape
    if a.shape != (batch, n) or b.shape != (batch, m):
        raise ValueError(f"marginals must be {(batch, n)} and {(batch, m)}, got {tuple(a.shape)} and {tuple(b.shape)}")
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    if max_iter < 1 or check_every < 1:
        raise ValueError("max_iter and check_every must be >= 1")
    a32, b32 = a.to(torch.float32), b.to(torch.float32)
    if not (torch.isfinite(cost).all() and torch.isfinite(a32).all() and torch.isfinite(b32).all()):
        raise ValueError("cost and marginals must be finite (found NaN or infinity); check the embeddings")
    if (a32 < 0).any() or (b32 < 0).any():
        raise ValueError("marginals must be non-negative")
    if not torch.allclose(a32.sum(-1), b32.sum(-1), rtol=1e-4, atol=1e-6):
        raise ValueError("each pair's marginals must have equal total mass (a.sum(-1) == b.sum(-1))")

    real = (a32 > 0).unsqueeze(2) & (b32 > 0).unsqueeze(1)  # (B, n, m) entries that may carry mass
    # Padding gets a finite, hugely negative log-weight instead of -inf so that no NaN reaches the
    # gradient; the final mask sets its mass to exactly zero.
    log_a = torch.where(a32 > 0, a32.clamp_min(1e-30).log(), torch.full_like(a32, -1e4))  # (B, n)
    log_b = torch.where(b32 > 0, b32.clamp_min(1e-30).log(), torch.full_like(b32, -1e4))  # (B, m)
    kernel = -cost.to(torch.float32) / epsilon  # (B, n, m) log-kernel
    log_u = torch.where(a32 > 0, 0.0, -1e4)  # (B, n) padding rows start (and stay) without mass
    log_v = torch.zeros_like(log_b)  # (B, m) overwritten by the first update
    error = float("inf")
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        log_v = log_b - torch.logsumexp(kernel + log_u.unsqueeze(2), dim=1)  # (B, m)
        log_u = log_a - torch.logsumexp(kernel + log_v.unsqueeze(1), dim=2)  # (B, n)
        if tol > 0 and (n_iter % check_every == 0 or n_iter == max_iter):
            with torch.no_grad():
                error = _column_marginal_error(kernel, log_u, log_v, real, b32)
            if error < tol:
                break
    plan = torch.exp(kernel + log_u.unsqueeze(2) + log_v.unsqueeze(1)) * real  # (B, n, m)
    if tol > 0 and error >= tol:
        warnings.warn(
            f"Sinkhorn did not converge: marginal error {error:.2e} >= tol {tol:.0e} after {max_iter} "
            f"iterations (epsilon={epsilon}); raise max_iter or epsilon",
            stacklevel=2,
        )
    plan = plan.to(cost.dtype)
    if return_log:
        return SinkhornResult(plan, log_u, log_v, n_iter, error)
    return plan


def _column_marginal_error(
    kernel: torch.Tensor, log_u: torch.Tensor, log_v: torch.Tensor, real: torch.Tensor, b: torch.Tensor
) -> float:
    """max over the batch of ||T^T 1 - b||_1 (after a u-update the rows hold exactly)."""
    plan = torch.exp(kernel + log_u.unsqueeze(2) + log_v.unsqueeze(1)) * real  # (B, n, m)
    return float((plan.sum(1) - b).abs().sum(-1).max())
