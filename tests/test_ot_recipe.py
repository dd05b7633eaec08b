"""OT recipe variants: unbalanced Sinkhorn against POT, the annealed epsilon, OT plus a contrastive term."""

import numpy as np
import ot as pot
import pytest
import torch
from synthetic import token_batch

from optical.losses import OTSettings, contrastive_loss, epsilon_at, ot_distillation_loss
from optical.ot import sinkhorn_unbalanced
from optical.train import TrainConfig, loss_function


@pytest.mark.parametrize("epsilon, rho", [(0.1, 1.0), (0.05, 0.2), (0.5, 10.0)])
@pytest.mark.parametrize("seed", [0, 1])
def test_unbalanced_plan_matches_pot_iteration_for_iteration_with_padding(epsilon, rho, seed):
    generator = torch.Generator().manual_seed(seed)
    cost = torch.rand(3, 6, 5, generator=generator, dtype=torch.float64)
    a = torch.rand(3, 6, generator=generator, dtype=torch.float64)
    b = torch.rand(3, 5, generator=generator, dtype=torch.float64)
    a[1, 4:] = 0  # padding
    b[2, 3:] = 0
    plan = sinkhorn_unbalanced(cost, a, b, epsilon=epsilon, rho=rho, max_iter=40)
    for k in range(3):
        rows, cols = a[k] > 0, b[k] > 0
        with pytest.warns(UserWarning, match="entropy"):  # POT notes that this reg_type ignores its c
            expected = pot.unbalanced.sinkhorn_unbalanced(
                a[k][rows].numpy(), b[k][cols].numpy(), cost[k][rows][:, cols].numpy(), epsilon, rho,
                reg_type="entropy", numItermax=40, stopThr=0.0,
            )  # fmt: skip
        np.testing.assert_allclose(plan[k][rows][:, cols].numpy(), expected, rtol=1e-9, atol=1e-12)
        assert plan[k][~rows].abs().sum() == 0 and plan[k][:, ~cols].abs().sum() == 0


def test_a_large_marginal_penalty_is_balanced_ot():
    generator = torch.Generator().manual_seed(2)
    teacher = token_batch(torch.randn(4, 7, 16, generator=generator), [7, 5, 6, 4])
    student = token_batch(torch.randn(4, 6, 16, generator=generator), [6, 6, 3, 5])
    balanced = ot_distillation_loss(teacher, student, epsilon=0.05, max_iter=300)
    relaxed = ot_distillation_loss(teacher, student, epsilon=0.05, max_iter=300, marginal_penalty=1e4)
    loose = ot_distillation_loss(teacher, student, epsilon=0.05, max_iter=300, marginal_penalty=0.05)
    assert relaxed.loss.item() == pytest.approx(balanced.loss.item(), rel=1e-2)
    assert loose.plan.sum(dim=(1, 2)).max() < 0.95  # relaxed marginals: less than all the mass moves


def test_epsilon_anneals_geometrically_from_start_to_end():
    settings = OTSettings(epsilon=0.01, epsilon_start=0.1)
    values = [epsilon_at(settings, step, 11) for step in range(11)]
    assert values[0] == pytest.approx(0.1) and values[-1] == pytest.approx(0.01)
    assert values[5] == pytest.approx(np.sqrt(0.1 * 0.01))
    assert epsilon_at(OTSettings(epsilon=0.02), 7, 11) == 0.02  # no start: constant


def test_ot_plus_contrastive_adds_lambda_times_infonce():
    generator = torch.Generator().manual_seed(3)
    teacher = token_batch(torch.randn(4, 7, 16, generator=generator), [7, 5, 6, 4])
    student = token_batch(torch.randn(4, 6, 16, generator=generator), [6, 6, 3, 5])
    plain = loss_function(TrainConfig())(teacher, student)
    mixed = loss_function(TrainConfig.from_flat(contrastive_weight=0.5))(teacher, student)
    expected = plain.loss + 0.5 * contrastive_loss(teacher, student, temperature=0.05).loss
    assert mixed.loss.item() == pytest.approx(expected.item(), rel=1e-6)
    torch.testing.assert_close(mixed.plan, plain.plan)
    annealing = loss_function(TrainConfig.from_flat(epsilon_start=0.5))
    first, last = (
        annealing(teacher, student, step=0, total_steps=11),
        annealing(teacher, student, step=10, total_steps=11),
    )
    assert first.loss.item() != pytest.approx(plain.loss.item())  # epsilon 0.5 at the first step
    assert last.loss.item() == pytest.approx(plain.loss.item())  # the training epsilon at the last


def test_negative_recipe_settings_are_refused():
    with pytest.raises(ValueError, match="marginal_penalty"):
        TrainConfig.from_flat(marginal_penalty=-1.0)
