"""Property tests (hypothesis): Sinkhorn and the OT loss never produce NaN or infinity.

Epsilon down to 1e-3, costs up to 100 times the cosine range, sentences of one token and of none,
float32 and bfloat16 inputs; on every draw the plan is finite, non-negative, zero off the real
tokens, and moves each row's mass; the loss and its gradients are finite.
"""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from optical.encoders import TokenBatch
from optical.losses import ot_distillation_loss
from optical.ot import sinkhorn, uniform_marginals

EPSILONS = st.sampled_from([1e-3, 3e-3, 1e-2, 0.05, 0.2, 1.0])
DTYPES = st.sampled_from([torch.float32, torch.bfloat16])


@st.composite
def lengths(draw, max_len: int = 10):
    """(B, n, m, real lengths of each side); a length of 0 is an all-padding sentence."""
    batch = draw(st.integers(1, 4))
    n, m = draw(st.integers(1, max_len)), draw(st.integers(1, max_len))
    n_real = draw(st.lists(st.integers(0, n), min_size=batch, max_size=batch))
    m_real = draw(st.lists(st.integers(0, m), min_size=batch, max_size=batch))
    return batch, n, m, torch.tensor(n_real), torch.tensor(m_real)


def masks(n: int, m: int, n_real: torch.Tensor, m_real: torch.Tensor):
    return torch.arange(n) < n_real[:, None], torch.arange(m) < m_real[:, None]  # (B, n), (B, m)


@settings(max_examples=150, deadline=None)
@given(shape=lengths(), epsilon=EPSILONS, scale=st.floats(0.0, 100.0), dtype=DTYPES, seed=st.integers(0, 2**16))
def test_sinkhorn_plan_is_finite_and_feasible(shape, epsilon, scale, dtype, seed):
    batch, n, m, n_real, m_real = shape
    a_mask, b_mask = masks(n, m, n_real, m_real)
    both = (n_real > 0) & (m_real > 0)  # a pair needs mass on both sides
    a, b = uniform_marginals(a_mask) * both[:, None], uniform_marginals(b_mask) * both[:, None]
    cost = (torch.rand(batch, n, m, generator=torch.Generator().manual_seed(seed)) * 2 * scale).to(dtype)
    cost.requires_grad_(True)
    plan = sinkhorn(cost, a, b, epsilon=epsilon, max_iter=30, tol=0)
    assert plan.dtype == dtype and torch.isfinite(plan).all() and (plan >= 0).all()
    real = a_mask[:, :, None] & b_mask[:, None, :] & both[:, None, None]
    assert (plan[~real] == 0).all()
    # Rows hold after every iteration; float32 keeps ~1e-2 of exp(-C/eps) at |C/eps| ~ 1e5, bf16 ~4e-3.
    torch.testing.assert_close(plan.float().sum(2), a, atol=3e-2, rtol=0)
    (plan.float() * cost.float()).sum().backward()
    assert torch.isfinite(cost.grad.float()).all()


@settings(max_examples=100, deadline=None)
@given(shape=lengths(), epsilon=EPSILONS, dtype=DTYPES, detach=st.booleans(), seed=st.integers(0, 2**16))
def test_ot_loss_and_gradients_are_finite(shape, epsilon, dtype, detach, seed):
    batch, n, m, n_real, m_real = shape
    teacher_mask, student_mask = masks(n, m, n_real, m_real)
    generator = torch.Generator().manual_seed(seed)
    teacher_vectors = torch.randn(batch, n, 8, generator=generator).to(dtype)
    student_vectors = torch.randn(batch, m, 8, generator=generator).to(dtype)
    student_vectors[:, 0] = 0  # a zero vector has no direction: the cosine must not divide by zero
    student_vectors.requires_grad_(True)
    teacher = TokenBatch(teacher_vectors, teacher_mask.long(), teacher_mask.long())
    student = TokenBatch(student_vectors, student_mask.long(), student_mask.long())
    output = ot_distillation_loss(teacher, student, epsilon=epsilon, max_iter=30, detach_plan=detach)
    assert torch.isfinite(output.loss) and 0 <= output.loss.item() <= 2 + 1e-3
    output.loss.backward()
    assert torch.isfinite(student_vectors.grad.float()).all()
    empty = (n_real == 0) | (m_real == 0)
    assert (output.plan[empty] == 0).all()  # a pair with an empty side is not transported
    if empty.all():
        assert output.loss.item() == 0
