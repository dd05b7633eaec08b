"""hard-align: DR.DECR's greedy one-to-one token alignment against a plain numpy loop."""

import numpy as np
import pytest
import torch
from synthetic import token_batch

from optical.losses import greedy_alignment, hard_alignment_loss


def numpy_greedy(cost: np.ndarray, rows: set[int], cols: set[int]) -> set[tuple[int, int]]:
    """Link the cheapest free (row, column) among ``rows`` and ``cols`` until one side runs out."""
    links = set()
    while rows and cols:
        i, j = min(((i, j) for i in rows for j in cols), key=lambda ij: (cost[ij], ij))
        links.add((i, j))
        rows.discard(i)
        cols.discard(j)
    return links


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.mark.parametrize("seed", range(4))
def test_greedy_links_and_loss_match_numpy(seed):
    generator = torch.Generator().manual_seed(seed)
    teacher_lengths, student_lengths = [7, 5, 1, 4, 6], [4, 7, 3, 1, 6]
    teacher = token_batch(torch.randn(5, 7, 8, generator=generator), teacher_lengths)
    student = token_batch(torch.randn(5, 7, 8, generator=generator).requires_grad_(True), student_lengths)
    out = hard_alignment_loss(teacher, student)
    t, s = unit(teacher.embeddings.double().numpy()), unit(student.embeddings.detach().double().numpy())
    per_pair = []
    for b in range(5):
        rows = set(teacher.content_mask[b].nonzero().flatten().tolist())  # [CLS], [SEP] and padding excluded
        cols = set(student.content_mask[b].nonzero().flatten().tolist())
        cost = 1.0 - t[b] @ s[b].T
        links = numpy_greedy(cost, set(rows), set(cols))
        assert len(links) == min(len(rows), len(cols))
        assert {tuple(ij) for ij in out.plan[b].nonzero().tolist()} == links
        per_pair.append(np.mean([cost[ij] for ij in links]) if links else 0.0)  # a one-token pair: nothing
    assert out.loss.item() == pytest.approx(np.mean(per_pair), rel=1e-5)
    out.loss.backward()
    assert torch.isfinite(student.embeddings.grad).all() and student.embeddings.grad.abs().sum() > 0


def test_padding_and_an_empty_side_take_no_links():
    cost = torch.tensor([[[0.5, 0.1, 0.0], [0.2, 0.3, 0.0]]]).repeat(2, 1, 1)  # (2, 2, 3)
    rows = torch.tensor([[True, True], [True, False]])
    cols = torch.tensor([[True, True, False], [False, False, False]])
    links = greedy_alignment(cost, rows, cols)
    assert links[0].nonzero().tolist() == [[0, 1], [1, 0]]  # the padded column 2 (cost 0) is never linked
    assert links[1].sum() == 0


def test_a_student_equal_to_the_teacher_scores_zero():
    teacher = token_batch(torch.randn(3, 6, 8), [6, 4, 2])
    assert hard_alignment_loss(teacher, teacher).loss.item() == pytest.approx(0.0, abs=1e-5)
