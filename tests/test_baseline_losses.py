"""The sentence-level objectives (KL, MSE, [CLS] MSE, contrastive) against plain numpy references."""

import numpy as np
import pytest
import torch
from synthetic import token_batch

from optical.losses import cls_mse_loss, contrastive_loss, kl_distillation_loss, sentence_mse_loss

LENGTHS = [7, 5, 3, 2, 7]


def batches(seed: int):
    generator = torch.Generator().manual_seed(seed)
    teacher = token_batch(torch.randn(5, 7, 16, generator=generator), LENGTHS)
    student = token_batch(torch.randn(5, 7, 16, generator=generator).requires_grad_(True), LENGTHS)
    return teacher, student


def pooled(batch) -> np.ndarray:
    """Mean over the attention mask, then unit length, in numpy."""
    vectors = batch.embeddings.detach().double().numpy()
    mask = batch.attention_mask.double().numpy()[:, :, None]
    mean = (vectors * mask).sum(1) / mask.sum(1)
    return mean / np.linalg.norm(mean, axis=1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_losses_match_numpy_references(seed):
    teacher, student = batches(seed)
    t, s = pooled(teacher), pooled(student)
    tau = 0.05
    negatives = torch.nn.functional.normalize(torch.randn(4, 16, generator=torch.Generator().manual_seed(seed)), dim=1)
    d = np.concatenate([t, negatives.double().numpy()])  # candidates: the batch's English, then the negatives
    expected = {
        "mse": np.mean(np.sum((t - s) ** 2, axis=1)),
        "kl": np.mean(
            np.sum(np.exp(log_softmax(t @ t.T / tau)) * (log_softmax(t @ t.T / tau) - log_softmax(s @ t.T / tau)), 1)
        ),
        "kl+negatives": np.mean(
            np.sum(np.exp(log_softmax(t @ d.T / tau)) * (log_softmax(t @ d.T / tau) - log_softmax(s @ d.T / tau)), 1)
        ),
        "contrastive": -np.mean(np.diag(log_softmax(s @ t.T / tau))),
        "contrastive+negatives": -np.mean(np.diag(log_softmax(s @ d.T / tau))),  # the pair's own among all of d
    }
    cls_t = teacher.embeddings[:, 0].double().numpy()
    cls_s = student.embeddings[:, 0].detach().double().numpy()
    cls_t, cls_s = (x / np.linalg.norm(x, axis=1, keepdims=True) for x in (cls_t, cls_s))
    expected["cls-mse"] = np.mean(np.sum((cls_t - cls_s) ** 2, axis=1))
    actual = {
        "mse": sentence_mse_loss(teacher, student).loss,
        "kl": kl_distillation_loss(teacher, student, temperature=tau).loss,
        "kl+negatives": kl_distillation_loss(teacher, student, temperature=tau, negatives=negatives).loss,
        "contrastive": contrastive_loss(teacher, student, temperature=tau).loss,
        "contrastive+negatives": contrastive_loss(teacher, student, temperature=tau, negatives=negatives).loss,
        "cls-mse": cls_mse_loss(teacher, student).loss,
    }
    for name, value in actual.items():
        assert value.item() == pytest.approx(expected[name], rel=1e-4, abs=1e-6), name


@pytest.mark.parametrize("loss", [sentence_mse_loss, cls_mse_loss, kl_distillation_loss, contrastive_loss])
def test_a_student_equal_to_the_teacher_is_a_minimum_and_gradients_reach_the_student(loss):
    teacher, student = batches(3)
    value = loss(teacher, student).loss
    value.backward()
    assert value.item() > 0 and torch.isfinite(student.embeddings.grad).all()
    assert student.embeddings.grad.abs().sum() > 0
    copy = token_batch(teacher.embeddings.clone().requires_grad_(True), LENGTHS)
    at_teacher = loss(teacher, copy).loss.item()
    if loss is contrastive_loss:  # InfoNCE is not zero at the teacher, only lower than for a random student
        assert at_teacher < value.item()
    else:
        assert at_teacher == pytest.approx(0.0, abs=1e-5)
