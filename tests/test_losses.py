"""The OT distillation loss on synthetic token embeddings (no transformer needed)."""

import torch
import torch.nn.functional as F
from synthetic import token_batch

from optical.encoders import TokenBatch
from optical.losses import cosine_cost, ot_distillation_loss


def test_cosine_cost_range_and_values():
    x = F.normalize(torch.randn(2, 5, 16), dim=-1)
    cost = cosine_cost(x, x)
    torch.testing.assert_close(torch.diagonal(cost, dim1=1, dim2=2), torch.zeros(2, 5), atol=1e-6, rtol=0)
    torch.testing.assert_close(cosine_cost(x, -x).diagonal(dim1=1, dim2=2), torch.full((2, 5), 2.0))


def test_identical_tokens_cost_nearly_nothing_and_random_tokens_cost_more():
    torch.manual_seed(0)
    teacher = token_batch(torch.randn(4, 12, 64), [12, 9, 5, 3])
    same = ot_distillation_loss(teacher, teacher, epsilon=0.01, max_iter=200)
    permuted = TokenBatch(teacher.embeddings[:, torch.randperm(12)], teacher.attention_mask, teacher.content_mask)
    other = ot_distillation_loss(teacher, token_batch(torch.randn(4, 12, 64), [12, 9, 5, 3]), epsilon=0.01)
    assert same.loss < 0.01 < 0.5 < other.loss
    # OT is blind to word order: a reordered sentence with the same token multiset still costs ~0
    # (the mask moves with the tokens only where it is all ones, as in the full-length first row).
    assert (
        ot_distillation_loss(
            token_batch(teacher.embeddings[:1], [12], special=False),
            token_batch(permuted.embeddings[:1], [12], special=False),
            epsilon=0.01,
            max_iter=200,
        ).loss
        < 0.01
    )


def test_plan_has_uniform_marginals_over_content_tokens_only():
    torch.manual_seed(1)
    teacher = token_batch(torch.randn(3, 10, 32), [10, 6, 4])
    student = token_batch(torch.randn(3, 8, 32), [8, 8, 3])
    plan = ot_distillation_loss(teacher, student, epsilon=0.05, max_iter=500).plan
    for k, (n, m) in enumerate([(10, 8), (6, 8), (4, 3)]):
        rows, cols = plan[k].sum(1), plan[k].sum(0)
        torch.testing.assert_close(rows[1 : n - 1], torch.full((n - 2,), 1 / (n - 2)), atol=1e-4, rtol=0)
        torch.testing.assert_close(cols[1 : m - 1], torch.full((m - 2,), 1 / (m - 2)), atol=1e-4, rtol=0)
        assert rows[0] == 0 and rows[n - 1 :].sum() == 0 and cols[0] == 0 and cols[m - 1 :].sum() == 0


def test_empty_sentence_contributes_zero_and_gradients_are_finite():
    torch.manual_seed(2)
    student_embeddings = torch.randn(2, 6, 16, requires_grad=True)
    teacher = token_batch(torch.randn(2, 6, 16), [6, 2])  # second sentence: only [CLS] [SEP]
    student = token_batch(student_embeddings, [6, 6])
    for detach in (True, False):
        out = ot_distillation_loss(teacher, student, epsilon=0.05, detach_plan=detach)
        assert torch.all(out.plan[1] == 0)
        out.loss.backward()
        assert torch.isfinite(student_embeddings.grad).all() and student_embeddings.grad[0].abs().sum() > 0
        assert torch.all(student_embeddings.grad[1] == 0)
        student_embeddings.grad = None


def test_detached_plan_gradient_is_the_plan():
    """With the plan detached, d<T, C>/dC = T (the envelope gradient)."""
    torch.manual_seed(3)
    teacher = token_batch(torch.randn(1, 5, 8), [5], special=False)
    student = token_batch(torch.randn(1, 4, 8), [4], special=False)
    out = ot_distillation_loss(teacher, student, epsilon=0.05)
    cost = cosine_cost(teacher.embeddings, student.embeddings)
    assert torch.isclose(out.loss, (out.plan * cost).sum(), atol=1e-6)
