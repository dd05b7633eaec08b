"""Word-level view of a transport plan, and agreement with reference links."""

import pytest
import torch

from optical.alignment import SoftAlignment
from optical.word_alignment import agreement, plan_links, word_plan


def test_word_plan_sums_subword_mass_and_links_are_mutual_argmax():
    # English words: "bless"(0) "##ed"(0) "are"(1); foreign words: "wodala"(0) "ali"(1) "##ko"(1)
    plan = torch.tensor([[0.20, 0.05, 0.05], [0.15, 0.05, 0.05], [0.00, 0.25, 0.20]]) / 0.95 * 0.95
    alignment = SoftAlignment(plan, ["bless", "##ed", "are"], ["wodala", "ali", "##ko"], 0.0, [0, 0, 1], [0, 1, 1])
    torch.testing.assert_close(word_plan(alignment), torch.tensor([[0.35, 0.20], [0.00, 0.45]]))
    assert plan_links(alignment) == {(0, 0), (1, 1)}


def test_agreement_counts_shared_links():
    expected = {"precision": 0.5, "recall": 0.5, "f1": 0.5, "aer": 0.5}
    assert agreement({(0, 0), (1, 1)}, {(0, 0), (2, 1)}) == pytest.approx(expected)
    assert agreement(set(), {(0, 0)}) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "aer": 1.0}
