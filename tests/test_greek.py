"""Greek-English: the packaged New Testament pair, human word alignments, and link scores against them."""

import json

import pytest

from optical.data import bible_splits, books, load_bible_bitext
from optical.data.greek import VerseWords, aligned_verses, read_burrito_links
from optical.word_alignment import agreement, human_links, unit_of_each_word


def test_burrito_records_keep_many_to_many_links_and_drop_empty_sides(tmp_path):
    records = [
        {"source": ["n40001001001"], "target": ["40001001001", "40001001002"], "meta": {"id": "1"}},
        {"source": ["n40001001002", "n40001001003"], "target": ["40001001004"], "meta": {"id": "2"}},
        {"source": ["n40001001004"], "target": [], "meta": {"id": "3"}},  # a Greek word left untranslated
    ]
    path = tmp_path / "alignment.json"
    path.write_text(json.dumps({"type": "translation", "records": records}), encoding="utf-8")
    assert read_burrito_links(path) == [
        (["n40001001001"], ["40001001001", "40001001002"]),
        (["n40001001002", "n40001001003"], ["40001001004"]),
    ]


def test_aer_and_f1_against_sure_and_possible_links():
    predicted = {(0, 0), (1, 1), (2, 2), (3, 0)}
    sure, possible = {(0, 0), (1, 1), (4, 4)}, {(2, 2)}
    # precision |A∩P|/|A| = 3/4; recall |A∩S|/|S| = 2/3; AER = 1 - (2 + 3)/(4 + 3) = 2/7
    scores = agreement(predicted, sure, possible)
    assert scores == pytest.approx({"precision": 0.75, "recall": 2 / 3, "f1": 2 * 0.5 / (0.75 + 2 / 3), "aer": 2 / 7})
    only_sure = agreement(predicted, sure)  # P = S: AER = 1 - F1
    assert only_sure["aer"] == pytest.approx(1 - only_sure["f1"])
    assert agreement(set(), sure) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "aer": 1.0}


def test_units_map_to_the_tokenizer_words_they_hold(teacher):
    units = VerseWords(("e1", "e2", "e3", "e4"), ("God’s", "word", "endures", "."), (True, True, False, True))
    assert units.text == "God’s word endures."
    # the tokenizer's words: god ’ s word endures .
    assert unit_of_each_word(teacher.tokenizer, units) == [0, 0, 0, 1, 2, 3]


def test_human_links_join_every_word_of_linked_units(teacher):
    from optical.data.greek import AlignedVerse

    english = VerseWords(("e1", "e2", "e3"), ("God’s", "word", "."), (True, False, True))
    greek = VerseWords(("g1", "g2"), ("λόγος", "θεοῦ"), (True, True))
    verse = AlignedVerse("x.1.1", "x", greek, english, frozenset({("e1", "g2"), ("e2", "g1")}))
    assert human_links(verse, teacher.tokenizer, teacher.tokenizer) == {(0, 1), (1, 1), (2, 1), (3, 0)}


def test_greek_pair_is_packaged_with_new_testament_splits_that_keep_books_apart():
    bitext = load_bible_bitext("grc")
    report = bitext.report
    assert (report.english_units, report.foreign_units, report.aligned) == (7_940, 7_939, 7_936)
    splits = bible_splits("grc")
    assert sorted(sum(splits.values(), ())) == sorted(books()[39:])  # every New-Testament book, once
    assert {name: len(bitext.select(group)) for name, group in splits.items()} == {
        "train": 4_168,
        "dev": 878,
        "test": 2_890,
    }
    first = bitext.pairs[0]
    assert first.pair_id == "Matthew.1.1" and first.foreign.startswith("Βίβλος γενέσεως Ἰησοῦ χριστοῦ")
    assert first.english.startswith("This is the record of the genealogy of Jesus Christ, the son of David")


def test_missing_package_says_how_to_install_it(monkeypatch):
    import optical.data.greek as greek

    monkeypatch.setattr(greek, "PACKAGE", "bible-alignments-not-here")
    with pytest.raises(FileNotFoundError, match="pip install --no-deps bible-alignments-not-here"):
        greek.data_file(greek.GREEK_FILE)
    assert not greek.greek_installed()


def test_human_alignments_of_a_real_verse(teacher):
    verse = aligned_verses(books())["Matthew.1.1"]
    assert verse.greek.words[:2] == ("Βίβλος", "γενέσεως")
    assert verse.english.words[:4] == ("This", "is", "the", "record")
    links = human_links(verse, teacher.tokenizer, teacher.tokenizer)
    # Βίβλος -> "This is the record"; γενέσεως -> "of the genealogy"; Ἰησοῦ -> "of Jesus"
    assert {(0, 0), (1, 0), (2, 0), (3, 0), (4, 1), (5, 1), (6, 1), (7, 2), (8, 2)} <= links
    assert all(i != 10 for i, _ in links)  # the comma after "Christ" is never aligned
