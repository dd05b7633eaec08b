"""Continued pre-training of the student on monolingual foreign text (masked language modelling).

The offline stand-in for adapting the encoder on mC4/OSCAR before distillation: the student's
transformer gets a masked-LM head (from the model folder; when the folder has none, as for the packaged
sentence-transformers model, a decoder tied to the word embeddings under a freshly initialised transform),
trains on foreign sentences, and keeps the adapted transformer weights.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from optical.encoders import TokenEncoder
from optical.progress import tqdm
from optical.train import warmup_then_linear_decay

SCHEDULES = ("warmup-linear", "constant")
MLM_HEADS = ("cls", "lm_head")  # the masked-LM head's name in BERT's and in RoBERTa's (XLM-R's) model classes


@dataclass(frozen=True)
class PretrainConfig:
    """A masked-LM pre-training recipe; a run's specification holds every field (``optical.run_spec``)."""

    steps: int  # AdamW steps of ``batch_size`` sentences
    lr: float = 1e-4  # peak learning rate
    schedule: str = "warmup-linear"  # linear warm-up, then linear decay to 0 | constant (the first RQ5's)
    warmup_ratio: float = 0.1  # share of the steps warming up (warmup-linear)
    batch_size: int = 32
    mask_probability: float = 0.15  # share of the tokens predicted

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"masked-LM pre-training needs at least one step, not {self.steps}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; one of {SCHEDULES}")
        if self.schedule == "constant" and self.warmup_ratio:
            raise ValueError("a constant schedule has no warm-up: set warmup_ratio to 0")


def learning_rate_schedule(
    optimizer: torch.optim.Optimizer, config: PretrainConfig
) -> torch.optim.lr_scheduler.LRScheduler:
    """``config.schedule`` over ``config.steps``: linear warm-up then linear decay to 0, or the optimiser's rate
    throughout (constant)."""
    if config.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return warmup_then_linear_decay(optimizer, config.steps, config.warmup_ratio)


def masked_lm_loss(masked_lm: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """The masked-LM cross-entropy of ``masked_lm(**inputs).loss``, with the head applied at the predicted positions
    only (``labels`` != -100): the vocabulary logits of the other tokens, (batch x length x vocabulary) floats, are
    never computed. A batch with nothing masked gives 0 (the model's own loss would be NaN)."""
    head = next((getattr(masked_lm, name) for name in MLM_HEADS if hasattr(masked_lm, name)), None)
    if head is None:
        raise ValueError(f"{type(masked_lm).__name__} has none of the masked-LM heads {MLM_HEADS}")
    labels = inputs["labels"]
    hidden = masked_lm.base_model(**{name: value for name, value in inputs.items() if name != "labels"})
    predicted = labels != -100
    if not predicted.any():
        return hidden.last_hidden_state.sum() * 0.0
    return torch.nn.functional.cross_entropy(head(hidden.last_hidden_state[predicted]), labels[predicted])


def mlm_pretrain(
    student: TokenEncoder, texts: list[str], config: PretrainConfig, *, seed: int = 0, progress: bool = True
) -> list[float]:
    """``config.steps`` AdamW steps of masked-LM on batches of ``texts`` drawn with ``seed``; returns the losses.

    BERT masking: ``mask_probability`` of the tokens are predicted, 80% of them shown as [MASK],
    10% as a random token, 10% unchanged. Updates ``student.transformer`` in place.
    """
    from transformers import AutoModelForMaskedLM, DataCollatorForLanguageModeling

    if not texts:
        raise ValueError("masked-LM pre-training needs texts")
    torch.manual_seed(seed)
    device = student.device
    masked_lm = AutoModelForMaskedLM.from_pretrained(student.model_dir, local_files_only=True).to(device)
    masked_lm.base_model.load_state_dict(student.transformer.state_dict())
    masked_lm.train()
    collator = DataCollatorForLanguageModeling(
        student.tokenizer, mlm_probability=config.mask_probability, return_tensors="pt"
    )
    optimizer = torch.optim.AdamW(masked_lm.parameters(), lr=config.lr, weight_decay=0.01, fused=True)
    scheduler = learning_rate_schedule(optimizer, config)
    draw, losses = random.Random(seed), []
    for _ in tqdm(range(config.steps), desc="masked-LM", disable=not progress, unit="step"):
        batch = draw.sample(texts, min(config.batch_size, len(texts)))
        encoded = student.tokenizer(batch, truncation=True, max_length=student.max_length)
        inputs = collator([{"input_ids": ids} for ids in encoded["input_ids"]])
        loss = masked_lm_loss(masked_lm, {key: value.to(device) for key, value in inputs.items()})
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(masked_lm.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    student.transformer.load_state_dict(masked_lm.base_model.state_dict())
    return losses
