"""The tokenization report: pieces per word, [UNK] share and truncation share, against hand counts."""

import pytest

from optical.vocabulary import fitting_max_length, tokenization_report, warn_about


def test_counts_pieces_unknowns_and_cut_texts(teacher):
    tokenizer = teacher.tokenizer
    texts = ["the book", "መጽሐፍ ቅዱስ", "the the the the the the the"]  # Ethiopic is outside the English vocabulary
    pieces = [tokenizer.tokenize(text) for text in texts]
    assert pieces[0] == ["the", "book"] and set(pieces[1]) == {"[UNK]"}
    report = tokenization_report(tokenizer, texts, max_length=8, side="foreign")
    words, total = 2 + 2 + 7, sum(map(len, pieces))
    assert report.pieces_per_word == pytest.approx(total / words)
    assert report.unknown_share == pytest.approx(len(pieces[1]) / total)
    assert report.cut_share == pytest.approx(1 / 3)  # 7 pieces + [CLS] + [SEP] > 8
    assert "33.33% of 3 cut at 8 tokens" in report.summary()
    with pytest.warns(UserWarning) as caught:
        warn_about([report])
    assert ["[UNK]" in str(w.message) for w in caught] == [True, False]
    assert "raise --max-length" in str(caught[1].message)


def test_a_well_covered_side_raises_no_warning(teacher):
    report = tokenization_report(teacher.tokenizer, ["In the beginning was the word."], max_length=64, side="English")
    assert report.unknown_share == 0.0 and report.cut_share == 0.0 and report.problems() == []


def test_a_max_length_beyond_the_models_positions_is_a_clear_error(teacher):
    from optical.encoders import TokenEncoder

    assert teacher.positions == 512  # MiniLM's position embeddings, special tokens included
    long_text = " ".join(["word"] * 600)
    assert teacher.token_lengths([long_text], max_length=512) == [512]
    assert teacher.token_lengths([]) == []  # an empty pool (e.g. Greek has no Old-Testament books)
    with pytest.raises(ValueError, match="max_length 513 is longer than all-MiniLM-L6-v2 takes"):
        teacher.tokenize([long_text], max_length=513)
    with pytest.raises(ValueError, match="512 positions"):
        TokenEncoder(max_length=544)  # what a max_cut_share on a bitext of very long texts could ask for


def test_extended_vocabulary_cuts_greek_into_fewer_pieces_and_survives_a_checkpoint(tmp_path):
    import torch

    from optical.data import load_bible_bitext
    from optical.encoders import TokenEncoder
    from optical.train import TrainConfig, load_student_weights, train

    pairs = load_bible_bitext("grc").pairs[:32]
    foreign = [pair.foreign for pair in pairs]
    teacher = TokenEncoder(max_length=64).eval().requires_grad_(False)
    student = TokenEncoder(max_length=64)
    before = tokenization_report(student.tokenizer, foreign, 64, "foreign")
    old_size = len(student.tokenizer)
    config = TrainConfig(epochs=1, batch_size=16, device="cpu", extend_vocabulary=300)
    train(student, teacher, pairs, config, checkpoint_dir=tmp_path, progress=False)
    assert len(student.added_pieces) > 0 and len(student.tokenizer) == old_size + len(student.added_pieces)
    assert student.transformer.get_input_embeddings().weight.shape[0] == len(student.tokenizer)
    after = tokenization_report(student.tokenizer, foreign, 64, "foreign")
    assert after.pieces_per_word < before.pieces_per_word and after.unknown_share == 0.0

    restored = load_student_weights(TokenEncoder(max_length=64), tmp_path / "last.pt").eval()
    assert restored.added_pieces == student.added_pieces
    assert restored.tokenizer(foreign[:4])["input_ids"] == student.tokenizer(foreign[:4])["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(restored.embed(foreign[:4]), student.eval().embed(foreign[:4]))
    # a rerun of the finished run resumes from the checkpoint with the same pieces
    resumed = TokenEncoder(max_length=64)
    train(resumed, teacher, pairs, config, checkpoint_dir=tmp_path, progress=False)
    assert resumed.added_pieces == student.added_pieces


def test_a_new_piece_starts_as_the_mean_of_the_pieces_it_replaces():
    import torch

    from optical.encoders import TokenEncoder

    student = TokenEncoder(max_length=32)
    embedding = student.transformer.get_input_embeddings().weight.detach().clone()
    old_ids = student.tokenizer("λογος", add_special_tokens=False)["input_ids"]
    assert len(old_ids) > 1
    student.add_pieces(["λογος", "##λογος", "the"])  # "the" is known: skipped
    assert student.added_pieces == ["λογος", "##λογος"]
    assert student.tokenizer.tokenize("Λόγος") == ["λογος"]  # lower-cased, accents stripped, then one piece
    new_row = student.transformer.get_input_embeddings().weight[student.tokenizer.convert_tokens_to_ids("λογος")]
    torch.testing.assert_close(new_row.detach(), embedding[old_ids].mean(0))


def test_fitting_max_length_is_the_first_step_that_cuts_at_most_the_share():
    lengths = [10] * 98 + [40, 70]
    assert fitting_max_length(lengths, floor=32, max_cut_share=0.02) == 32  # 2 of 100 may be cut
    assert fitting_max_length(lengths, floor=32, max_cut_share=0.01) == 64  # only 70 may be cut: 40 must fit
    assert fitting_max_length(lengths, floor=32, max_cut_share=0.0) == 96
    assert fitting_max_length(lengths, floor=128, max_cut_share=0.0) == 128  # never below the floor
    assert fitting_max_length([], floor=32, max_cut_share=0.01) == 32
    with pytest.raises(ValueError, match="max_cut_share"):
        fitting_max_length(lengths, floor=32, max_cut_share=1.0)


@pytest.mark.parametrize("seed", range(20))
def test_fitting_max_length_against_a_search_by_hand(seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 300, size=int(rng.integers(1, 400))).tolist()
    share = float(rng.choice([0.0, 0.001, 0.01, 0.05, 0.5]))
    floor = int(rng.choice([16, 64, 128]))
    candidates = (floor + 32 * k for k in range(100))
    expected = next(n for n in candidates if np.mean(np.array(lengths) > n) <= share)
    assert fitting_max_length(lengths, floor=floor, max_cut_share=share) == expected
