"""optical.ot.sinkhorn against POT's ot.sinkhorn, plus the properties the solver promises."""

import warnings

import numpy as np
import ot as pot
import pytest
import torch
import torch.nn.functional as F

from optical.ot import sinkhorn, uniform_marginals


def random_problem(seed: int, batch: int = 6, n: int = 9, m: int = 7, dim: int = 16):
    """Cosine costs of random token vectors, with random amounts of padding at the end of each side."""
    generator = torch.Generator().manual_seed(seed)
    x = F.normalize(torch.randn(batch, n, dim, generator=generator), dim=-1)
    y = F.normalize(torch.randn(batch, m, dim, generator=generator), dim=-1)
    cost = 1 - x @ y.transpose(1, 2)  # (B, n, m) in [0, 2]
    n_real = torch.randint(1, n + 1, (batch,), generator=generator)
    m_real = torch.randint(1, m + 1, (batch,), generator=generator)
    a_mask = torch.arange(n) < n_real[:, None]
    b_mask = torch.arange(m) < m_real[:, None]
    return cost, uniform_marginals(a_mask), uniform_marginals(b_mask), n_real, m_real


def pot_plan(cost, a, b, epsilon, iterations, stop):
    return pot.sinkhorn(
        a.double().numpy(),
        b.double().numpy(),
        cost.double().numpy(),
        reg=epsilon,
        method="sinkhorn_log",
        numItermax=iterations,
        stopThr=stop,
    )


@pytest.mark.parametrize("epsilon", [0.02, 0.05, 0.1, 0.5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plan_matches_pot_iteration_for_iteration(epsilon, seed):
    """Same iteration as POT's sinkhorn_log: equal counts give equal plans, converged or not."""
    cost, a, b, n_real, m_real = random_problem(seed)
    plan = sinkhorn(cost, a, b, epsilon=epsilon, max_iter=100, tol=0)
    for k in range(cost.shape[0]):
        n, m = int(n_real[k]), int(m_real[k])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # POT warns that 100 iterations did not converge
            reference = pot_plan(cost[k, :n, :m], a[k, :n], b[k, :m], epsilon, 100, 0.0)
        np.testing.assert_allclose(plan[k, :n, :m].numpy(), reference, atol=1e-5)
        assert torch.all(plan[k, n:, :] == 0) and torch.all(plan[k, :, m:] == 0)  # padding: exactly zero


@pytest.mark.parametrize("epsilon", [0.1, 0.5, 1.0])
def test_converged_plan_matches_pot_and_marginals_hold(epsilon):
    cost, a, b, n_real, m_real = random_problem(10 + int(10 * epsilon))
    plan = sinkhorn(cost, a, b, epsilon=epsilon, max_iter=10_000, tol=1e-6)
    for k in range(cost.shape[0]):
        n, m = int(n_real[k]), int(m_real[k])
        # The float32 marginals, cast to float64, differ in total mass by ~1e-8: POT's error cannot
        # go much below that, so stop it at 1e-7.
        reference = pot_plan(cost[k, :n, :m], a[k, :n], b[k, :m], epsilon, 10_000, 1e-7)
        np.testing.assert_allclose(plan[k, :n, :m].numpy(), reference, atol=1e-5)
    torch.testing.assert_close(plan.sum(2), a, atol=1e-5, rtol=0)
    torch.testing.assert_close(plan.sum(1), b, atol=1e-5, rtol=0)


def test_batched_equals_looped():
    cost, a, b, *_ = random_problem(3)
    batched = sinkhorn(cost, a, b, epsilon=0.05, max_iter=200, tol=0)
    looped = torch.cat(
        [
            sinkhorn(cost[k : k + 1], a[k : k + 1], b[k : k + 1], epsilon=0.05, max_iter=200, tol=0)
            for k in range(cost.shape[0])
        ]
    )
    torch.testing.assert_close(batched, looped)


def test_small_epsilon_and_large_costs_stay_finite():
    cost, a, b, *_ = random_problem(4)
    plan = sinkhorn(cost, a, b, epsilon=1e-3, max_iter=300, tol=0)  # log-kernel down to -2000
    assert torch.isfinite(plan).all()
    torch.testing.assert_close(plan.sum(2), a, atol=1e-3, rtol=0)  # rows hold after every iteration
    # Costs 50 times larger put the log-kernel at -1e5, where float32 keeps ~3 digits of exp: the
    # plan stays finite and each pair still moves its unit of mass.
    plan = sinkhorn(cost * 50, a, b, epsilon=1e-3, max_iter=300, tol=0)
    assert torch.isfinite(plan).all()
    torch.testing.assert_close(plan.sum((1, 2)), a.sum(1), atol=5e-2, rtol=0)


def test_all_padding_pair_gets_zero_plan_and_finite_gradient():
    cost, a, b, *_ = random_problem(5, batch=3)
    a[1], b[1] = 0, 0
    cost.requires_grad_(True)
    plan = sinkhorn(cost, a, b, epsilon=0.05, max_iter=50, tol=0)
    assert torch.all(plan[1] == 0)
    (plan * cost).sum().backward()
    assert torch.isfinite(cost.grad).all()


def test_bfloat16_input_accumulates_in_float32():
    cost, a, b, *_ = random_problem(6)
    reference = sinkhorn(cost, a, b, epsilon=0.05, max_iter=300, tol=0)
    plan = sinkhorn(cost.bfloat16(), a, b, epsilon=0.05, max_iter=300, tol=0)
    assert plan.dtype == torch.bfloat16 and torch.isfinite(plan.float()).all()
    torch.testing.assert_close(plan.float(), reference, atol=2e-2, rtol=0)


def test_warns_when_not_converged():
    cost, a, b, *_ = random_problem(7)
    with pytest.warns(UserWarning, match="did not converge"):
        sinkhorn(cost, a, b, epsilon=0.005, max_iter=2, tol=1e-9)


def test_return_log_reports_convergence():
    cost, a, b, *_ = random_problem(8)
    result = sinkhorn(cost, a, b, epsilon=0.1, max_iter=1000, tol=1e-6, return_log=True)
    assert result.n_iter < 1000 and result.marginal_error < 1e-6


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c, a, b: (c, a * 2, b), "equal total mass"),
        (lambda c, a, b: (c[0], a, b), r"\(B, n, m\)"),
        (lambda c, a, b: (c, a[:, :-1], b), "marginals must be"),
        (lambda c, a, b: (c, -a, -b), "non-negative"),
        (lambda c, a, b: (c.index_fill(1, torch.tensor([0]), float("nan")), a, b), "finite"),
        (lambda c, a, b: (c, a.index_fill(1, torch.tensor([0]), float("inf")), b), "finite"),
    ],
)
def test_bad_input_raises(change, message):
    cost, a, b, *_ = random_problem(9)
    with pytest.raises(ValueError, match=message):
        sinkhorn(*change(cost, a, b), epsilon=0.05)
    with pytest.raises(ValueError, match="epsilon"):
        sinkhorn(cost, a, b, epsilon=0.0)


def test_bfloat16_marginals_with_odd_lengths_are_accepted_at_small_epsilon():
    """1/7 rounds in bf16, so a's and b's totals differ by its rounding; that is no mass mismatch."""
    cost, _, _, *_ = random_problem(11, batch=3, n=7, m=5)
    a_mask = torch.tensor([[1] * 7, [1] + [0] * 6, [1] * 3 + [0] * 4])  # 7 tokens, one token, odd length 3
    b_mask = torch.tensor([[1] * 5, [1] * 5, [1] + [0] * 4])
    a, b = uniform_marginals(a_mask).bfloat16(), uniform_marginals(b_mask).bfloat16()
    plan = sinkhorn(cost.bfloat16(), a, b, epsilon=1e-3, max_iter=200, tol=0)
    assert torch.isfinite(plan.float()).all()
    torch.testing.assert_close(plan.float().sum(2), a.float(), atol=2e-2, rtol=0)
    with pytest.raises(ValueError, match="equal total mass"):
        sinkhorn(cost.bfloat16(), a * 1.1, b, epsilon=1e-3)  # a real mismatch is still refused
