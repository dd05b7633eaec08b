"""The embedded English-Chichewa Bible bitext and the CLIR collection built from it."""

import pytest

from optical.data import bible_clir_collection, bible_splits, books, load_bible_bitext, passages_from_verses
from optical.metrics import read_qrels


def test_every_kjv_verse_aligns_and_the_one_extra_chichewa_verse_is_reported(bitext):
    report = bitext.report
    assert (report.english_units, report.foreign_units, report.aligned) == (31_103, 31_104, 31_103)
    assert report.missing_foreign == [] and report.empty == []
    assert report.missing_english == ["Revelation.12.18"]  # the Chichewa versification has one more verse
    assert "31,103 pairs aligned" in report.summary()
    pair = bitext.pairs[0]
    assert (pair.pair_id, pair.group) == ("Genesis.1.1", "Genesis") and pair.foreign.startswith("Pachiyambi")


def test_splits_are_book_disjoint_and_cover_the_bible():
    splits = bible_splits()
    assert len(books()) == 66
    assert sorted(sum(splits.values(), ())) == sorted(books())
    assert splits["dev"] == ("Matthew", "Mark", "Luke", "John")
    assert splits["test"][0] == "Acts" and splits["test"][-1] == "Revelation"


def test_collection_holds_no_training_verse_and_judges_the_right_passage(bitext, tmp_path):
    splits = bible_splits()
    train_ids = {pair.pair_id for pair in bitext.select(splits["train"])}
    held_out = bitext.select(splits["test"])
    collection = bible_clir_collection(held_out, name="t", num_queries=200, verses_per_passage=3)
    assert len(collection.queries) == 200 and not train_ids & set(collection.queries)
    english_of = {pair.pair_id: pair.english for pair in held_out}
    for qid, judged in collection.qrels.items():
        (docid,) = judged
        assert english_of[qid] in collection.documents[docid]
        assert docid.rsplit(".", 1)[0] == qid.rsplit(".", 1)[0]  # same book and chapter
    written = collection.write(tmp_path)
    assert read_qrels(written / "qrels.txt") == collection.qrels
    assert len((written / "documents.tsv").read_text().splitlines()) == len(collection.documents)


def test_passages_never_cross_a_chapter(bitext):
    passages = passages_from_verses(bitext.select(["Jude", "Philemon"]), 4)
    assert all(len({pair.pair_id.rsplit(".", 1)[0] for pair in passage}) == 1 for passage in passages)
    assert sum(map(len, passages)) == len(bitext.select(["Jude", "Philemon"]))


def test_unknown_language_says_what_is_available():
    with pytest.raises(ValueError, match=r"available: \['ny'\]"):
        load_bible_bitext("xx")
