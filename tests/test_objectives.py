"""Objectives as plugins: each owns its settings (one default each); the trainer knows none by name."""

from __future__ import annotations

import copy
import dataclasses
import inspect
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from optical.losses import OBJECTIVES, LossOutput, Objective, kl_distillation_loss, ot_distillation_loss
from optical.losses.contrastive import contrastive_loss
from optical.losses.objective import without_schedule
from optical.train import TrainConfig, _written_config, train


def test_a_setting_of_another_objective_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="epsilon=0.05 is a setting of ot, not of objective 'kl'"):
        TrainConfig.from_flat(objective="kl", epsilon=0.05)
    with pytest.raises(ValueError, match="not a setting of objective 'mse'"):
        TrainConfig(objective="mse", objective_settings={"temperature": 0.1})
    with pytest.raises(ValueError, match="unknown training setting 'epsilom'"):
        TrainConfig.from_flat(epsilom=0.05)


def test_a_bad_value_fails_in_the_objectives_own_settings():
    with pytest.raises(ValueError, match="kl_temperature must be > 0"):
        TrainConfig.from_flat(objective="kl", kl_temperature=0.0)
    with pytest.raises(ValueError, match="hard_negatives must be >= 0"):
        TrainConfig.from_flat(objective="kl", hard_negatives=-1)


def test_a_setting_at_its_default_is_not_kept_so_equal_configs_compare_equal():
    assert TrainConfig.from_flat(objective="kl", kl_temperature=0.1) == TrainConfig(objective="kl")
    assert TrainConfig.from_flat(objective="kl", kl_temperature=0.05).objective_settings == {"kl_temperature": 0.05}


def test_flat_round_trips_and_keys_are_the_old_flat_non_default_settings():
    config = TrainConfig.from_flat(objective="kl", kl_temperature=0.05, lr=3e-4)
    assert TrainConfig.from_flat(config.flat()) == config
    assert config.non_default() == {"objective": "kl", "kl_temperature": 0.05, "lr": 3e-4}
    assert TrainConfig().non_default() == {} and TrainConfig(objective="mse").non_default() == {"objective": "mse"}


def test_a_checkpoint_written_before_objectives_owned_their_settings_still_reads():
    old = {  # a KL checkpoint's config of 2026-12-05: every objective's settings, flat, at their defaults
        "objective": "kl", "epochs": 2, "batch_size": 32, "lr": 1e-4, "epsilon": 0.02, "sinkhorn_iters": 50,
        "detach_plan": True, "epsilon_start": 0.0, "marginal_penalty": 0.0, "contrastive_weight": 0.0,
        "temperature": 0.05, "kl_temperature": 0.05, "hard_negatives": 8, "seed": 1,
    }  # fmt: skip
    written = _written_config({"config": old})
    assert written == TrainConfig.from_flat(objective="kl", kl_temperature=0.05, seed=1).flat()
    assert "epsilon" not in written


def test_each_setting_has_one_default_the_loss_functions_share():
    ot, kl, contrastive = (OBJECTIVES[name].defaults() for name in ("ot", "kl", "contrastive"))
    signature = {f.__name__: inspect.signature(f).parameters for f in (ot_distillation_loss, kl_distillation_loss)}
    assert signature["ot_distillation_loss"]["epsilon"].default == ot["epsilon"]
    assert signature["ot_distillation_loss"]["max_iter"].default == ot["sinkhorn_iters"]
    assert signature["kl_distillation_loss"]["temperature"].default == kl["kl_temperature"]
    assert inspect.signature(contrastive_loss).parameters["temperature"].default == contrastive["temperature"]
    assert ot["temperature"] == contrastive["temperature"]  # OT's InfoNCE term takes contrastive's default


def test_the_trainer_names_no_objective():
    import optical.train as training

    source = inspect.getsource(training)
    for name in OBJECTIVES:
        assert f'"{name}"' not in source, f"train.py names the objective {name!r}"


@dataclass(frozen=True)
class CosineSettings:
    margin: float = 0.0  # cosine: the pooled cosine the loss stops pushing at


def cosine_loss(teacher, student, *, margin: float = CosineSettings.margin) -> LossOutput:
    """1 - cos(pooled teacher, pooled student), floored at ``margin``."""
    cosine = (teacher.pooled().float() * student.pooled().float()).sum(-1)
    return LossOutput(loss=(1 - cosine).clamp(min=margin).mean())


def test_a_new_objective_is_one_module_and_one_registry_line(teacher, bitext, monkeypatch):
    objective = Objective("cosine", CosineSettings, lambda s: without_schedule(cosine_loss, margin=s.margin))
    monkeypatch.setitem(OBJECTIVES, "cosine", objective)  # the one registry line
    student = copy.deepcopy(teacher).requires_grad_(True)
    config = TrainConfig.from_flat(objective="cosine", margin=0.01, epochs=1, batch_size=8, device="cpu")
    result = train(student, teacher, bitext.pairs[:16], config, progress=False)
    assert result.steps == 2 and all(np.isfinite(result.losses))
    assert student.trained_by["objective"] == "cosine" and student.trained_by["margin"] == 0.01
    assert all(np.isnan(result.plan_entropy))  # no plan


def test_what_an_objective_prepares_reaches_every_batch(teacher, bitext, monkeypatch):
    seen = []

    def prepare(settings, teacher, english, cache_dir):
        return lambda indices: {"negatives": torch.full((1, 384), float(len(indices)))}

    def loss(teacher_batch, student_batch, *, step=0, total_steps=1, negatives):
        seen.append((step, total_steps, negatives[0, 0].item()))
        return LossOutput(loss=(1 - (teacher_batch.pooled() * student_batch.pooled()).sum(-1)).mean())

    objective = Objective("probe", dataclasses.make_dataclass("NoSettings", [], frozen=True), lambda s: loss, prepare)
    monkeypatch.setitem(OBJECTIVES, "probe", objective)
    student = copy.deepcopy(teacher).requires_grad_(True)
    train(student, teacher, bitext.pairs[:12], TrainConfig(objective="probe", epochs=1, batch_size=8, device="cpu"),
          progress=False)  # fmt: skip
    assert [(step, total) for step, total, _ in seen] == [(0, 2), (1, 2)]
    assert sorted(size for *_, size in seen) == [4.0, 8.0]
