"""Entropic optimal transport: batched, masked, log-domain Sinkhorn.

The solver returns the transport plan, which OPTICAL reads as a soft token alignment.

References
----------
.. [1] M. Cuturi. Sinkhorn Distances: Lightspeed Computation of Optimal Transport. NeurIPS 2013.
.. [2] G. Peyré, M. Cuturi. Computational Optimal Transport, §4.4 (log-domain stabilisation). 2019.
.. [3] B. Schmitzer. Stabilized Sparse Scaling Algorithms for Entropy Regularized Transport Problems.
   SIAM J. Sci. Comput. 41(3), 2019 (absorption of large scalings into the kernel).
.. [4] L. Chizat, G. Peyré, B. Schmitzer, F.-X. Vialard. Scaling Algorithms for Unbalanced Optimal
   Transport Problems. Math. Comp. 87, 2018.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

__all__ = ["SinkhornResult", "sinkhorn", "sinkhorn_unbalanced", "uniform_marginals"]


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

    The first iteration runs in the log domain and anchors the kernel G = exp(-C/ε + u + v); the
    next ones update scalings of it, α ← a / (G β) and β ← b / (Gᵀ α): the same iteration in exact
    arithmetic, at the cost of two batched matrix-vector products instead of two log-sum-exps over
    (B, n, m). When a sum underflows or a scaling of a real token leaves [e^-30, e^30], that
    iteration runs in the log domain and re-anchors G (absorption [3]_), so small ε stays finite.

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
    if max_iter < 1 or check_every < 1:
        raise ValueError("max_iter and check_every must be >= 1")
    a32, b32 = _checked_marginals(cost, a, b, epsilon, torch.float32)
    # marginals given in a low-precision dtype carry its rounding (bf16: 1/7 is off by 2e-3 in total)
    rtol = max(1e-4, torch.finfo(a.dtype).eps, torch.finfo(b.dtype).eps)
    if not torch.allclose(a32.sum(-1), b32.sum(-1), rtol=rtol, atol=1e-6):
        raise ValueError("each pair's marginals must have equal total mass (a.sum(-1) == b.sum(-1))")

    row_real, column_real = a32 > 0, b32 > 0  # (B, n), (B, m)
    real = row_real.unsqueeze(2) & column_real.unsqueeze(1)  # (B, n, m) entries that may carry mass
    log_a, log_b = _log_weights(a32), _log_weights(b32)  # (B, n), (B, m)
    kernel = -cost.to(torch.float32) / epsilon  # (B, n, m) log-kernel
    log_u = torch.where(row_real, 0.0, -1e4)  # (B, n) padding rows start (and stay) without mass
    gibbs = None  # (B, n, m) exp(kernel + u0 + v0) at the last anchor (u0, v0); the plan is alpha_i G_ij beta_j
    alpha, beta = torch.ones_like(a32), torch.ones_like(b32)  # (B, n), (B, m) scalings: u = u0 + log alpha
    padding = (~torch.cat([row_real, column_real], dim=1)).float()  # (B, n + m)
    error = float("inf")
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        scaled = None if gibbs is None else _scaled_iteration(gibbs, alpha, a32, b32, padding)
        if scaled is None:  # the first iteration, or a scaling left the safe range: log domain, then re-anchor
            log_u = log_u + torch.where(row_real, alpha, 1.0).log()  # absorb the scalings into the anchor
            log_v = log_b - torch.logsumexp(kernel + log_u.unsqueeze(2), dim=1)  # (B, m)
            log_u = log_a - torch.logsumexp(kernel + log_v.unsqueeze(1), dim=2)  # (B, n)
            gibbs = torch.exp(kernel + log_u.unsqueeze(2) + log_v.unsqueeze(1))  # (B, n, m)
            alpha, beta = torch.ones_like(a32), torch.ones_like(b32)
        else:
            alpha, beta = scaled
        if tol > 0 and (n_iter % check_every == 0 or n_iter == max_iter):
            with torch.no_grad():
                columns = beta * torch.bmm(alpha.unsqueeze(1), gibbs).squeeze(1)  # (B, m) = T^T 1
                error = float((columns - b32).abs().sum(-1).max())
            if error < tol:
                break
    plan = alpha.unsqueeze(2) * gibbs * beta.unsqueeze(1) * real  # (B, n, m)
    if tol > 0 and error >= tol:
        warnings.warn(
            f"Sinkhorn did not converge: marginal error {error:.2e} >= tol {tol:.0e} after {max_iter} "
            f"iterations (epsilon={epsilon}); raise max_iter or epsilon",
            stacklevel=2,
        )
    plan = plan.to(cost.dtype)
    if return_log:
        log_u = log_u + torch.where(row_real, alpha, 1.0).log()  # (B, n) the potentials with the scalings absorbed
        log_v = log_v + torch.where(column_real, beta, 1.0).log()  # (B, m)
        return SinkhornResult(plan, log_u, log_v, n_iter, error)
    return plan


def sinkhorn_unbalanced(
    cost: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    epsilon: float = 0.05,
    rho: float = 1.0,
    max_iter: int = 100,
) -> torch.Tensor:
    r"""Entropic unbalanced OT: the marginals are relaxed by a KL penalty of weight ``rho`` [4]_.

    .. math::
        T^\star = \arg\min_{T \ge 0} \langle T, C \rangle_F - \varepsilon H(T)
                  + \rho\, \mathrm{KL}(T 1 \,\Vert\, a) + \rho\, \mathrm{KL}(T^\top 1 \,\Vert\, b)

    so a token with no good counterpart can send less than its share, instead of being forced onto
    some token. Log domain, u first: :math:`u = \kappa (\log a - \mathrm{LSE}_j(-C_{ij}/\varepsilon + v_j))`,
    then :math:`v = \kappa (\log b - \mathrm{LSE}_i(-C_{ij}/\varepsilon + u_i))` with
    :math:`\kappa = \rho / (\rho + \varepsilon)`: the iteration of POT's
    ``ot.unbalanced.sinkhorn_unbalanced(..., reg_type="entropy")``. As rho grows it becomes balanced OT.

    cost (B, n, m); a (B, n), b (B, m) non-negative, zeros marking padding (no mass there); the
    totals may differ. Computed in float32 (float64 for float64 input). Returns the plan (B, n, m) in
    ``cost.dtype``; gradients flow through the iterations (``torch.no_grad()`` detaches the plan).
    """
    if rho <= 0 or max_iter < 1:
        raise ValueError("rho must be > 0 and max_iter >= 1")
    dtype = torch.promote_types(cost.dtype, torch.float32)  # float32, or float64 for float64 input
    a32, b32 = _checked_marginals(cost, a, b, epsilon, dtype)
    row_real, column_real = a32 > 0, b32 > 0
    log_a, log_b = _log_weights(a32), _log_weights(b32)  # (B, n), (B, m)
    kernel = -cost.to(dtype) / epsilon  # (B, n, m)
    kappa = rho / (rho + epsilon)
    log_v = torch.where(column_real, 0.0, -1e4).to(dtype)  # (B, m) padding columns start (and stay) without mass
    for _ in range(max_iter):
        log_u = kappa * (log_a - torch.logsumexp(kernel + log_v.unsqueeze(1), dim=2))  # (B, n)
        log_v = kappa * (log_b - torch.logsumexp(kernel + log_u.unsqueeze(2), dim=1))  # (B, m)
    real = row_real.unsqueeze(2) & column_real.unsqueeze(1)
    plan = torch.exp(kernel + log_u.unsqueeze(2) + log_v.unsqueeze(1)) * real
    return plan.to(cost.dtype)


def _checked_marginals(
    cost: torch.Tensor, a: torch.Tensor, b: torch.Tensor, epsilon: float, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """a and b in ``dtype``, after the checks both solvers share: shapes, epsilon, finite, non-negative."""
    if cost.dim() != 3:
        raise ValueError(f"cost must be (B, n, m), got shape {tuple(cost.shape)}")
    batch, n, m = cost.shape
    if a.shape != (batch, n) or b.shape != (batch, m):
        raise ValueError(f"marginals must be {(batch, n)} and {(batch, m)}, got {tuple(a.shape)} and {tuple(b.shape)}")
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    a, b = a.to(dtype), b.to(dtype)
    if not (torch.isfinite(cost).all() and torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError("cost and marginals must be finite (found NaN or infinity); check the embeddings")
    if (a < 0).any() or (b < 0).any():
        raise ValueError("marginals must be non-negative")
    return a, b


def _log_weights(weights: torch.Tensor) -> torch.Tensor:
    """log of the marginal weights; padding (weight 0) gets a finite, hugely negative -1e4 instead of -inf,
    so that no NaN reaches the gradient (the solvers' final mask sets its mass to exactly zero)."""
    return torch.where(weights > 0, weights.clamp_min(1e-30).log(), torch.full_like(weights, -1e4))


_TINY = 1e-30  # a sum below this counts as underflow: its scaling becomes b / _TINY, out of the safe range
_SAFE = (math.exp(-30.0), math.exp(30.0))  # scalings inside this range keep alpha G beta far from float32 limits


def _scaled_iteration(
    gibbs: torch.Tensor, alpha: torch.Tensor, a: torch.Tensor, b: torch.Tensor, padding: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """One Sinkhorn iteration on the scalings of an anchored kernel: two batched matrix-vector products.

    With u = u0 + log alpha, v = v0 + log beta and G = exp(kernel + u0 + v0), the log-domain
    updates are beta = b / (G^T alpha) and alpha = a / (G beta). padding: (B, n + m) 1 where a token
    is padding (its scaling is 0), else 0. Returns (alpha, beta), or None when a real token's
    scaling leaves ``_SAFE`` (an underflowing sum does too): the caller then takes the iteration in
    the log domain and re-anchors G (stabilisation by absorption, Schmitzer 2019 [3]_).
    """
    beta = b / torch.bmm(alpha.unsqueeze(1), gibbs).squeeze(1).clamp_min(_TINY)  # (B, 1, n) @ (B, n, m) -> (B, m)
    alpha = a / torch.bmm(gibbs, beta.unsqueeze(2)).squeeze(2).clamp_min(_TINY)  # (B, n, m) @ (B, m, 1) -> (B, n)
    low, high = torch.aminmax(torch.cat([alpha, beta], dim=1) + padding)  # padding reads as 1, inside the range
    if not bool((low > _SAFE[0]) & (high < _SAFE[1])):
        return None
    return alpha, beta
