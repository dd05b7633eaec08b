"""Hard negatives for score distillation: mined against brute force, never the pair's own text."""

import numpy as np
import pytest
import torch
from synthetic import token_batch

from optical.hard_negatives import HardNegatives, mine_hard_negatives, teacher_score_distribution
from optical.losses import kl_distillation_loss


class FixedEncoder:
    """Stands in for the teacher: each text's unit vector is looked up in a table."""

    max_length = 8

    def __init__(self, vectors: dict[str, torch.Tensor]) -> None:
        self.vectors = vectors

    def embed(self, texts, **_) -> torch.Tensor:
        return torch.stack([self.vectors[text] for text in texts])


def pool(seed: int) -> tuple[list[str], torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    distinct = [f"verse {i}" for i in range(12)]
    vectors = torch.nn.functional.normalize(torch.randn(12, 6, generator=generator), dim=1)
    texts = distinct + ["verse 3", "verse 3", "verse 7"]  # repeated verbatim, as the Bible does
    return texts, {text: vectors[i] for i, text in enumerate(distinct)}


@pytest.mark.parametrize("seed", range(3))
def test_the_nearest_are_the_brute_force_nearest_of_another_text(seed):
    texts, table = pool(seed)
    negatives = mine_hard_negatives(FixedEncoder(table), texts, 3, chunk=4)
    vectors = np.stack([table[text].numpy() for text in texts])
    for i, text in enumerate(texts):
        scores = vectors @ vectors[i]
        others = [j for j in range(len(texts)) if texts[j] != text]
        best = sorted(others, key=lambda j: -scores[j])[:3]
        assert sorted(scores[negatives.nearest[i]].tolist()) == pytest.approx(sorted(scores[best].tolist()))
        assert all(texts[j] != text for j in negatives.nearest[i].tolist())


def test_a_batch_gets_each_negative_once_and_none_of_its_own_texts():
    texts, table = pool(0)
    negatives = mine_hard_negatives(FixedEncoder(table), texts, 4)
    batch = [3, 7, 12]  # "verse 3" twice and "verse 7"
    chosen = negatives.for_batch(batch)
    rows = {tuple(vector.tolist()) for vector in chosen}
    assert len(rows) == len(chosen)  # no duplicates
    assert not rows & {tuple(table[text].tolist()) for text in ("verse 3", "verse 7")}


def test_k_must_leave_a_candidate():
    texts, table = pool(0)
    with pytest.raises(ValueError, match="hard negatives per pair"):
        mine_hard_negatives(FixedEncoder(table), texts, len(texts))


def test_negatives_make_kl_a_score_distillation_not_contrastive():
    """In-batch only, the teacher's target is one-hot at tau 0.05 and KL equals InfoNCE up to the target's
    entropy; with near-miss negatives and tau 0.1 the target spreads and the two objectives part."""
    generator = torch.Generator().manual_seed(0)
    base = torch.nn.functional.normalize(torch.randn(8, 16, generator=generator), dim=1)
    near = torch.nn.functional.normalize(base + 0.15 * torch.randn(8, 16, generator=generator), dim=1)
    negatives = HardNegatives(torch.cat([base, near]), torch.arange(8, 16)[:, None], torch.arange(16))
    one_hot = teacher_score_distribution(negatives, [list(range(8))], temperature=0.01)
    spread = teacher_score_distribution(negatives, [list(range(8))], temperature=0.1)
    assert one_hot["diagonal_mass"] > 0.99 and spread["diagonal_mass"] < 0.9 and spread["entropy"] > 0.3
    assert spread["candidates"] == 16

    # The student that equals the teacher is KL's minimum, but InfoNCE over the same candidates still
    # pushes it towards the one-hot target: the two objectives now want different students.
    teacher = token_batch(base[:, None, :].repeat(1, 3, 1), [3] * 8, special=False)
    at_teacher = kl_distillation_loss(teacher, teacher, temperature=0.1, negatives=negatives.for_batch(list(range(8))))
    assert at_teacher.loss.item() == pytest.approx(0.0, abs=1e-6)
    assert -np.log(spread["diagonal_mass"]) > 0.1  # InfoNCE's value there is at least this


def test_contrastive_ot_and_kl_prepare_the_same_candidate_pool(teacher, bitext):
    """Equal candidates: contrastive's and OT's negatives=k mine what KL's hard_negatives=k mines; 0 keeps in-batch
    only; OT's term is contrastive's loss over them, added with its weight to the transport cost."""
    from optical.losses import OBJECTIVES

    english = [pair.english for pair in bitext.pairs[:40]]
    contrastive, kl, ot = OBJECTIVES["contrastive"], OBJECTIVES["kl"], OBJECTIVES["ot"]
    assert contrastive.prepare(contrastive.make_settings({}), teacher, english, None) is None
    assert ot.prepare(ot.make_settings({"contrastive_weight": 1.0}), teacher, english, None) is None
    ours = contrastive.prepare(contrastive.make_settings({"negatives": 4}), teacher, english, None)
    theirs = kl.prepare(kl.make_settings({"hard_negatives": 4}), teacher, english, None)
    ot_settings = ot.make_settings({"contrastive_weight": 0.5, "negatives": 4})
    ot_inputs = ot.prepare(ot_settings, teacher, english, None)
    batch = [0, 5, 9, 30]
    assert torch.equal(ours(batch)["negatives"], theirs(batch)["negatives"])
    assert torch.equal(ot_inputs(batch)["negatives"], theirs(batch)["negatives"])
    assert 4 <= len(ours(batch)["negatives"]) <= 16
    with pytest.raises(ValueError, match="negatives must be >= 0"):
        contrastive.make_settings({"negatives": -1})
    with pytest.raises(ValueError, match="set contrastive_weight > 0"):
        ot.make_settings({"negatives": 4})

    texts = [bitext.pairs[i].english for i in batch]
    with torch.no_grad():
        english_side, foreign_side = teacher.encode(texts), teacher.encode([bitext.pairs[i].foreign for i in batch])
    negatives = ot_inputs(batch)["negatives"]
    in_batch = ot.bind(ot.make_settings({"contrastive_weight": 0.5}))(english_side, foreign_side).loss
    with_pool = ot.bind(ot_settings)(english_side, foreign_side, negatives=negatives).loss
    pool_term = OBJECTIVES["contrastive"].bind(contrastive.make_settings({}))
    extra = pool_term(english_side, foreign_side, negatives=negatives).loss
    plain = pool_term(english_side, foreign_side).loss
    assert float(with_pool - in_batch) == pytest.approx(0.5 * float(extra - plain), abs=1e-5)
    assert extra > plain  # the pool reached the loss: more candidates in its denominator
