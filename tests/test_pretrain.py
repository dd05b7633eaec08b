"""Masked-LM pre-training: its loss against the model's own, and a few steps of the recipe."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch

from optical.encoders import TokenEncoder
from optical.pretrain import PretrainConfig, learning_rate_schedule, masked_lm_loss, mlm_pretrain

SENTENCES = [
    "Pakuti Mulungu anakonda dziko lapansi kotero kuti anapereka Mwana wake wobadwa yekha.",
    "Pachiyambi panali Mawu, ndipo Mawu anali ndi Mulungu.",
    "Odala ali akumva njala ndi ludzu la chilungamo, chifukwa adzakhuta.",
    "Ndipo Yesu anakula mu nzeru ndi msinkhu.",
]


@pytest.fixture(scope="module")
def student():
    return TokenEncoder("all-MiniLM-L6-v2", max_length=32)


def masked_batch(student, probability: float):
    from transformers import DataCollatorForLanguageModeling

    torch.manual_seed(0)
    collator = DataCollatorForLanguageModeling(student.tokenizer, mlm_probability=probability, return_tensors="pt")
    return collator([{"input_ids": ids} for ids in student.tokenizer(SENTENCES)["input_ids"]])


def test_the_loss_at_the_masked_positions_only_is_the_models_own(student):
    from transformers import AutoModelForMaskedLM

    masked_lm = AutoModelForMaskedLM.from_pretrained(student.model_dir, local_files_only=True).eval()
    inputs = masked_batch(student, 0.3)
    assert 0 < (inputs["labels"] != -100).sum() < inputs["labels"].numel() / 2  # padding and unmasked tokens ignored
    with torch.no_grad():
        assert masked_lm_loss(masked_lm, inputs).item() == pytest.approx(masked_lm(**inputs).loss.item(), rel=1e-5)
        nothing = {**inputs, "labels": torch.full_like(inputs["labels"], -100)}
        assert masked_lm_loss(masked_lm, nothing).item() == 0.0  # the model's own loss is NaN there
    with pytest.raises(ValueError, match="masked-LM heads"):
        masked_lm_loss(masked_lm.base_model, inputs)


def test_a_few_warmed_up_steps_adapt_the_transformer(student):
    before = {name: value.clone() for name, value in student.transformer.state_dict().items()}
    losses = mlm_pretrain(student, SENTENCES, PretrainConfig(steps=3, batch_size=4), seed=0, progress=False)
    assert len(losses) == 3 and all(torch.isfinite(torch.tensor(losses)))
    after = student.transformer.state_dict()
    assert any(not torch.equal(before[name], after[name]) for name in before)


@pytest.mark.parametrize("schedule, warmup_ratio", [("warmup-linear", 0.1), ("constant", 0.0)])
def test_the_learning_rate_follows_the_recipes_schedule(schedule, warmup_ratio):
    """Warm-up rises to the peak over its share of the steps and decays towards 0; constant stays at the peak."""
    config = PretrainConfig(steps=100, lr=1e-3, schedule=schedule, warmup_ratio=warmup_ratio)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=config.lr)
    scheduler = learning_rate_schedule(optimizer, config)
    rates = []
    for _ in range(config.steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    if schedule == "constant":
        assert rates == [config.lr] * config.steps
    else:
        peak = rates.index(max(rates))
        assert peak == 9 and max(rates) == pytest.approx(config.lr)  # 10 warm-up steps
        assert all(a < b for a, b in pairwise(rates[: peak + 1]))
        assert all(a > b for a, b in pairwise(rates[peak:])) and rates[-1] < config.lr / 50
