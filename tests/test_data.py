"""The embedded English-Chichewa Bible bitext and the CLIR collection built from it."""

import os
from pathlib import Path

import pytest

from optical.data import (
    BitextError,
    bible_clir_collection,
    bible_splits,
    books,
    installed_languages,
    load_bible_bitext,
    passages_from_verses,
    read_bitext,
)
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
    with pytest.raises(ValueError, match=r"available: \['es', 'grc', 'ny'\]"):
        load_bible_bitext("xx")


def test_missing_debian_data_says_how_to_install_it(monkeypatch, tmp_path):
    import optical.data.bible as bible

    monkeypatch.setattr(bible, "SWORD_DIR", tmp_path)
    assert installed_languages() == ["ny", "grc"]
    with pytest.raises(FileNotFoundError, match="apt-get install sword-text-sparv"):
        load_bible_bitext.__wrapped__("es")  # past the cache, which may hold the installed Spanish Bible


def test_spanish_bible_from_debian_sword_module():
    if not Path("/usr/share/sword/mods.d/spaRV1909eb.conf").exists():
        if os.environ.get("CI"):
            pytest.fail("CI installs sword-text-sparv through `make install`; it is missing")
        pytest.skip("sword-text-sparv is not installed (sudo apt-get install sword-text-sparv)")
    report = load_bible_bitext("es").report
    assert (report.english_units, report.foreign_units, report.aligned) == (31_103, 31_102, 31_084)
    assert report.missing_foreign == ["3John.1.15"] and len(report.empty) == 18  # versification
    pair = next(p for p in load_bible_bitext("es").pairs if p.pair_id == "John.3.16")
    assert pair.foreign.startswith("Porque de tal manera amó Dios al mundo")


def test_user_bitext_tsv(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("Good morning.\tMwadzuka bwanji.\n\nThank you.\tZikomo.\n", encoding="utf-8")
    bitext = read_bitext(path, language="ny")
    assert [(p.pair_id, p.english, p.foreign, p.group) for p in bitext.pairs] == [
        ("mine.1", "Good morning.", "Mwadzuka bwanji.", "mine"),
        ("mine.3", "Thank you.", "Zikomo.", "mine"),
    ]
    assert bitext.report.aligned == 2


@pytest.mark.parametrize(
    "content, message",
    [
        (b"one\ttwo\nonly one column\n", r"mine.tsv:2: expected 2 tab-separated columns .* found 1"),
        (b"a\tb\tc\n", r"mine.tsv:1: expected 2 .* found 3"),
        (b"a\tb\n\tforeign\n", r"mine.tsv:2: the English side is empty"),
        (b"a\tb\nenglish\t \n", r"mine.tsv:2: the foreign side is empty"),
        (b"a\tb\nc\t\xff\xfe\n", r"mine.tsv:2: not UTF-8"),
    ],
)
def test_bad_bitext_lines_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "mine.tsv"
    path.write_bytes(content)
    with pytest.raises(BitextError, match=message):
        read_bitext(path, language="ny")


def test_skipped_bitext_lines_are_counted_not_lost(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("a\tb\nbroken\n\tc\nd\te\n", encoding="utf-8")
    bitext = read_bitext(path, language="ny", skip_bad_lines=True)
    assert [p.pair_id for p in bitext.pairs] == ["mine.1", "mine.4"]
    assert bitext.report.empty == ["mine.3"] and bitext.report.malformed[0].endswith("found 1")
    assert "1 malformed lines skipped" in bitext.report.summary()
    with pytest.raises(BitextError, match="no such bitext file"):
        read_bitext(tmp_path / "absent.tsv", language="ny")
