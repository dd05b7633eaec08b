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


def test_eflomal_links_learned_from_other_pairs_only():
    """With priors from training pairs, a handful of held-out pairs aligned alone get links close to those of
    eflomal learning from both (transductive); aligned alone without priors, they do not."""
    from optical.data import bible_splits, load_bible_bitext, sample_pairs
    from optical.word_alignment import eflomal_links

    bitext = load_bible_bitext("ny")
    splits = bible_splits("ny")

    def words(pairs):
        return [pair.english.lower().split() for pair in pairs], [pair.foreign.lower().split() for pair in pairs]

    scored = sample_pairs(bitext.select(splits["test"]), 40, seed=0)
    training = sample_pairs(bitext.select(splits["train"]), 2000, seed=0)
    transductive = eflomal_links(*words(scored), alongside=words(training))
    held_out = eflomal_links(*words(scored), learn_from=words(training))
    alone = eflomal_links(*words(scored))

    def f1(found):
        pairs = zip(found, transductive, strict=True)
        return sum(agreement(links, reference)["f1"] for links, reference in pairs) / len(scored)

    assert len(held_out) == len(transductive) == len(scored) and all(held_out)
    assert f1(held_out) > 0.65 and f1(held_out) > f1(alone) + 0.1  # the knowledge came from the training pairs


def test_kept_eflomal_links_are_computed_once_and_read_back(tmp_path, monkeypatch):
    """eflomal takes no seed: with ``keep`` the links of the same inputs are computed once and read back, so a
    table of agreements regenerates unchanged; other inputs get a file of their own."""
    import optical.word_alignment as word_alignment

    english = [["in", "the", "beginning"], ["god", "said"], ["and", "there", "was", "light"]]
    foreign = [["pachiyambi"], ["mulungu", "anati"], ["ndipo", "panali", "kuwala"]]

    def keep(name: str):
        return tmp_path / name

    first = word_alignment.eflomal_links(english, foreign, keep=keep)
    [kept] = (tmp_path / "alignments").glob("eflomal-*.json")

    def never(*args):
        raise AssertionError("eflomal ran again")

    monkeypatch.setattr(word_alignment, "_eflomal_links", never)
    assert word_alignment.eflomal_links(english, foreign, keep=keep) == first
    monkeypatch.undo()
    word_alignment.eflomal_links(english[:2], foreign[:2], keep=keep)
    assert len(list((tmp_path / "alignments").glob("eflomal-*.json"))) == 2 and kept.exists()
