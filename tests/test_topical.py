"""Nave's Topical Bible read from its SWORD zLD files, and the paraphrase and topical collections built on it."""

from __future__ import annotations

import struct
import zlib

import pytest

from optical.data.bitext import BitextPair
from optical.data.collection import CLIRCollection
from optical.data.naves import NAVE_PATH, TopicUnit, expand_reference, read_zld, topic_units
from optical.data.topical import (
    collection_statistics,
    paraphrase_collection,
    random_map,
    random_ranking_map,
    random_ranking_scores,
    topical_collection,
    unit_kind,
)

naves = pytest.mark.skipif(
    not NAVE_PATH.with_suffix(".idx").exists(), reason="Debian sword-dict-naves is not installed (make install as root)"
)


def write_zld(stem, entries: dict[str, str], per_block: int = 2) -> None:
    """A zLD dictionary of ``entries`` in the SWORD layout, ``per_block`` entries a zlib block."""
    keys = list(entries)
    index, records, blocks, compressed = b"", b"", b"", b""
    for start in range(0, len(keys), per_block):
        chunk = keys[start : start + per_block]
        texts = [entries[key].encode() for key in chunk]
        table, offset = b"", 4 + 8 * len(chunk)
        for text in texts:
            table += struct.pack("<II", offset, len(text))
            offset += len(text)
        block = zlib.compress(struct.pack("<I", len(chunk)) + table + b"".join(texts))
        blocks += struct.pack("<II", len(compressed), len(block))
        compressed += block
        for number, key in enumerate(chunk):
            record = key.encode() + b"\r\n" + struct.pack("<II", start // per_block, number)
            index += struct.pack("<II", len(records), len(record))
            records += record
    for suffix, data in ((".idx", index), (".dat", records), (".zdx", blocks), (".zdt", compressed)):
        stem.with_suffix(suffix).write_bytes(data)


def test_the_zld_reader_reads_every_entry_across_blocks(tmp_path):
    entries = {"AARON": "<entryFree>a</entryFree>", "ABEL": "b", "PRAYER": "<lb/>→ c", "ZEAL": "ζῆλος"}
    write_zld(tmp_path / "nave", entries)
    assert read_zld(tmp_path / "nave") == entries
    with pytest.raises(FileNotFoundError, match="apt-get install sword-dict-naves"):
        read_zld(tmp_path / "missing")


def test_references_expand_to_verse_ids():
    assert expand_reference("Exod.6.16-Exod.6.18") == ["Exodus.6.16", "Exodus.6.17", "Exodus.6.18"]
    assert expand_reference("Matt.5.47-Matt.6.2") == ["Matthew.5.47", "Matthew.5.48", "Matthew.6.1", "Matthew.6.2"]
    assert expand_reference("Phlm.1") == [f"Philemon.1.{verse}" for verse in range(1, 26)]  # a whole chapter
    assert expand_reference("1John.3.16") == ["1John.3.16"]
    assert expand_reference("Nope.1.1") == []


def test_units_are_the_lines_of_an_entry_that_cite_verses():
    entry = '<entryFree n="X"><def><lb/>→ Lineage of <ref osisRef="Exod.6.16-Exod.6.17">Ex 6:16-17</ref>' \
        '<lb/>→ See MOSES<lb/>→ Death <ref osisRef="Num.20.28">Nu 20:28</ref></def></entryFree>'  # fmt: skip
    assert topic_units({"AARON": entry}) == [
        TopicUnit("AARON", "Lineage of", ("Exodus.6.16", "Exodus.6.17")),
        TopicUnit("AARON", "Death", ("Numbers.20.28",)),
    ]


@naves
def test_the_installed_naves_holds_its_known_entries():
    entries = read_zld()
    assert len(entries) == 5320 and "FORGIVENESS" in entries and "PRAYER" in entries  # 5,322 records, 2 keys twice
    assert entries["SIN"].count("<entryFree") == 2  # both of SIN's entries kept
    units = topic_units({"AARON": entries["AARON"]})
    assert units[0] == TopicUnit(
        "AARON",
        "Lineage of",
        tuple(f"Exodus.6.{v}" for v in range(16, 21))
        + ("Joshua.21.4", "Joshua.21.10", "1Chronicles.6.2", "1Chronicles.6.3", "1Chronicles.23.13"),
    )


def pairs(*ids: str) -> list[BitextPair]:
    return [BitextPair(verse, f"english {verse}", f"foreign {verse}", verse.split(".")[0]) for verse in ids]


WEB = {
    "Acts.1.1": "Then Peter prayed for the church",
    "Acts.1.2": "Then Peter prayed for the church again",
    "Acts.1.3": "they forgave their enemies",
    "Acts.1.4": "forgive one another as God forgave you",
    "Acts.1.5": "a word about something else entirely",
    "Acts.1.6": "Peter went to Joppa",
}
UNITS = [
    TopicUnit("FORGIVENESS", "OF ENEMIES", ("Acts.1.3", "Acts.1.4", "Genesis.1.1")),
    TopicUnit("PETER", "Prays", ("Acts.1.1", "Acts.1.2", "Acts.1.6")),
    TopicUnit("LONE", "", ("Acts.1.5",)),  # one verse: relates nothing
    TopicUnit("BIG", "", tuple(WEB)),  # above max_verses
]


def test_topical_qrels_keep_query_verses_out_of_the_documents_and_units_within_bounds():
    topical = topical_collection(pairs(*WEB), UNITS, WEB, name="t", max_verses=3, num_queries=3, max_query_share=1)
    collection = topical.collection
    assert collection.queries and not set(collection.queries) & set(collection.documents)
    assert "Genesis.1.1" not in collection.documents  # only the held-out books' verses
    for qid, judged in collection.qrels.items():
        unit = next(unit for unit in UNITS[:2] if qid in unit.verses)
        assert set(judged) == set(unit.verses) - set(collection.queries) - {"Genesis.1.1"}
        assert set(judged.values()) == {1}
    assert "Acts.1.5" not in collection.queries  # its only unit is a single verse (LONE), the other too big
    everything = topical_collection(
        pairs(*WEB), UNITS, WEB, name="t", max_verses=3, num_queries=None, max_query_share=1
    )
    assert not everything.collection.queries  # each relates only other queries: no query keeps a relevant document
    assert unit_kind(UNITS[1], WEB) == "name" and unit_kind(UNITS[0], WEB) == "subject"


def test_a_small_book_gives_at_most_its_share_of_verses_as_queries():
    for share, most in ((0.15, 0), (0.34, 2), (0.5, 3)):  # of 6 held-out verses
        topical = topical_collection(pairs(*WEB), UNITS, WEB, name="t", max_verses=3, max_query_share=share)
        assert len(topical.collection.queries) <= most
        assert len(topical.collection.documents) >= len(WEB) - most


def test_paraphrase_grades_the_own_verse_2_and_near_duplicates_1():
    collection = paraphrase_collection(pairs(*WEB), WEB, name="p", num_queries=None)
    assert collection.qrels["Acts.1.1"] == {"Acts.1.1": 2, "Acts.1.2": 1}  # 6 of 7 words shared
    assert collection.qrels["Acts.1.5"] == {"Acts.1.5": 2}
    assert set(collection.documents) == set(WEB)


def test_statistics_and_the_random_ranking():
    collection = paraphrase_collection(pairs(*WEB), WEB, name="p", num_queries=None)
    stats = collection_statistics(collection)
    assert stats["queries"] == 6 and stats["documents"] == 6 and stats["relevant max"] == 2
    random_map = random_ranking_scores(collection, rankings=50)["MAP"]
    assert 0.2 < random_map < 0.8 and stats["random MAP"] == random_ranking_scores(collection)["MAP"]


def test_the_random_map_is_exact_for_one_relevant_document_and_matches_sampling():
    documents = {f"d{i}": "x" for i in range(40)}
    one_each = CLIRCollection(
        "v", {f"q{i}": "y" for i in range(30)}, documents, {f"q{i}": {f"d{i}": 1} for i in range(30)}
    )
    exact = random_map(one_each)
    assert exact == random_ranking_map(40) == pytest.approx(sum(1 / r for r in range(1, 41)) / 40)
    assert random_ranking_scores(one_each, rankings=200)["MAP"] == pytest.approx(exact, rel=0.1)
    many = CLIRCollection("t", one_each.queries, documents, {f"q{i}": {f"d{i}": 1, "d39": 1} for i in range(30)})
    assert random_map(many) == random_ranking_scores(many)["MAP"]  # sampled where no formula is kept


def test_a_unit_is_a_name_when_its_topic_is_capitalised_inside_most_of_its_verses():
    """People and places, not the subject words a verse also contains (BREAD, ANGER): a capital inside the verse."""
    web = {
        "a": "and Peter prayed",
        "b": "then said Peter's brother",
        "c": "Peter went up",  # the verse's first word: capitalised whatever it is
        "d": "the bread of life",
        "e": "Bread from heaven came down",
        "f": "he broke the bread, and Bread was given",  # a capital inside the verse counts
    }
    assert unit_kind(TopicUnit("PETER", "", ("a", "b", "c")), web) == "name"
    assert unit_kind(TopicUnit("PETER", "Goes up", ("c", "d", "e")), web) == "subject"  # named in none inside
    assert unit_kind(TopicUnit("BREAD", "", ("d", "e")), web) == "subject"
    assert unit_kind(TopicUnit("BREAD", "", ("d", "f")), web) == "name"
    assert unit_kind(TopicUnit("JESUS, THE CHRIST", "", ("a",)), {"a": "and Jesus said"}) == "name"
