"""Drift diagnostics against hand-made cases, and the training loop's per-step hook."""

import copy
import math

import pytest
import torch
from synthetic import token_batch

from optical.drift import plan_entropy, pooled_cosine


def test_pooled_cosine_is_one_for_a_collapsed_batch_and_zero_for_orthogonal_sentences():
    same = token_batch(torch.ones(4, 3, 8), [3, 2, 3, 1], special=False)
    assert pooled_cosine(same) == pytest.approx(1.0)
    orthogonal = token_batch(torch.eye(8)[:4, None, :].repeat(1, 2, 1), [2, 2, 2, 2], special=False)
    assert pooled_cosine(orthogonal) == pytest.approx(0.0)
    assert math.isnan(pooled_cosine(token_batch(torch.ones(1, 3, 8), [3], special=False)))


def test_plan_entropy_is_one_for_uniform_plans_and_zero_for_a_single_cell():
    rows = torch.tensor([[True, True, False], [True, True, True]])
    cols = torch.tensor([[True, True, True, False], [True, True, False, False]])
    uniform = rows[:, :, None] * cols[:, None, :] / (rows.sum(1) * cols.sum(1))[:, None, None]  # (2, 3, 4)
    assert plan_entropy(uniform, rows, cols) == pytest.approx(1.0)
    single = torch.zeros(2, 3, 4)
    single[:, 0, 0] = 1.0
    assert plan_entropy(single, rows, cols) == pytest.approx(0.0, abs=1e-6)
    one_cell = torch.zeros(1, 2, 2)
    one_cell[0, 0, 0] = 1.0
    assert math.isnan(plan_entropy(one_cell, torch.tensor([[True, False]]), torch.tensor([[True, False]])))


@pytest.mark.slow
def test_on_step_stops_training_and_the_diagnostics_are_logged_per_step(tmp_path, teacher, bitext):
    from optical.train import TrainConfig, train

    seen = []

    def stop_at_three(step: int) -> bool:
        seen.append(step)
        return step == 3

    student = copy.deepcopy(teacher).requires_grad_(True)
    config = TrainConfig(epochs=2, batch_size=4, device="cpu", checkpoint_every=100)
    result = train(
        student, teacher, bitext.pairs[:40], config, checkpoint_dir=tmp_path, on_step=stop_at_three, progress=False
    )
    assert seen == [1, 2, 3] and result.steps == 3
    assert len(result.losses) == len(result.pooled_cosine) == len(result.plan_entropy) == 3
    assert all(0 < value <= 1 for value in result.plan_entropy) and all(-1 <= v <= 1 for v in result.pooled_cosine)
    saved = torch.load(tmp_path / "last.pt", weights_only=False)
    assert saved["step"] == 3 and saved["plan_entropy"] == result.plan_entropy  # a resume continues from there


def test_eleven_variants_get_eleven_colours_in_the_curve_and_drift_plots():
    import pandas as pd

    from optical.plots import plot_drift, plot_learning_curves

    labels = [f"ot[variant={i}]" for i in range(11)]  # one more than matplotlib's default colour cycle
    curves = pd.DataFrame(
        [
            {
                "label": label,
                "seed": 0,
                "step": step,
                "scoring": "dense",
                "measure": "MAP",
                "value": 0.1,
                "reference": False,
            }
            for label in labels
            for step in (0, 100)
        ]
    )
    logs = pd.DataFrame(
        [
            {"label": label, "seed": 0, "step": step, "loss": 0.5, "pooled_cosine": 0.5, "plan_entropy": 0.5}
            for label in labels
            for step in (1, 2)
        ]
    )
    for figure in (plot_learning_curves(curves), plot_drift(logs)):
        colours = [line.get_color() for line in figure.axes[0].get_lines()]
        assert len(colours) == 11 and len(set(map(str, colours))) == 11
        figure.canvas.draw()
        (legend,) = [ax.get_legend() for ax in figure.axes if ax.get_legend()]
        panels_right = max(ax.get_window_extent().x1 for ax in figure.axes)
        assert legend.get_window_extent().x0 >= panels_right  # beside the panels: it hides no curve
        assert legend.get_window_extent().x1 <= figure.bbox.x1 + 1  # and inside the figure
