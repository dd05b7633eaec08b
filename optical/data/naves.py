"""Nave's Topical Bible (1896, public domain) from Debian's ``sword-dict-naves``: topics and the verses under them.

The module is a SWORD zLD dictionary (pysword reads no dictionaries): ``nave.idx`` holds (offset, size) of each key
record in ``nave.dat``; a record is ``KEY\\r\\n`` then the little-endian block and entry numbers; ``nave.zdx`` holds
(offset, size) of each zlib block of ``nave.zdt``; a block is an entry count, (offset, size) pairs, then the texts.
An entry is ``<entryFree>`` text whose subtopics are ``<lb/>`` lines citing verses as
``<ref osisRef="Exod.6.16-Exod.6.20">``.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from optical.data.bitext import verse_id

NAVE_PATH = Path("/usr/share/sword/modules/lexdict/zld/nave/nave")  # the files' common stem
NAVE_PACKAGE = "sword-dict-naves"
_REF = re.compile(r'<ref osisRef="([^"]+)"')
_LINE_LABEL = re.compile(r"<[^>]+>|→")


@dataclass(frozen=True)
class TopicUnit:
    """One topic or subtopic of Nave's: the verses it cites, as the project's verse ids (``"Exod.6.16"`` style)."""

    topic: str  # the entry's key, e.g. FORGIVENESS
    subtopic: str  # the line's label, e.g. "Lineage of" ("" for a topic cited without subtopics)
    verses: tuple[str, ...]


def read_zld(stem: str | Path = NAVE_PATH) -> dict[str, str]:
    """Every entry of the zLD dictionary at ``stem`` (``stem.idx``, ``.dat``, ``.zdx``, ``.zdt``), key -> text;
    the texts of a key that comes twice are joined."""
    stem = Path(stem)
    if not stem.with_suffix(".idx").exists():
        raise FileNotFoundError(f"no SWORD dictionary at {stem}: sudo apt-get install {NAVE_PACKAGE}")
    index, records = stem.with_suffix(".idx").read_bytes(), stem.with_suffix(".dat").read_bytes()
    blocks, compressed = stem.with_suffix(".zdx").read_bytes(), stem.with_suffix(".zdt").read_bytes()
    unpacked: dict[int, bytes] = {}
    entries = {}
    for offset, size in struct.iter_unpack("<II", index):
        key, _, numbers = records[offset : offset + size].partition(b"\r\n")
        block, entry = struct.unpack("<II", numbers[:8])
        if block not in unpacked:
            start, length = struct.unpack_from("<II", blocks, 8 * block)
            unpacked[block] = zlib.decompress(compressed[start : start + length])
        data = unpacked[block]
        start, length = struct.unpack_from("<II", data, 4 + 8 * entry)
        text = data[start : start + length].decode("utf-8").rstrip("\x00")
        name = key.decode("utf-8")  # a key may come twice (Nave's: REVERENCE, SIN): its texts are joined
        entries[name] = f"{entries[name]}\n{text}" if name in entries else text
    return entries


@cache
def _osis_books() -> dict[str, tuple[str, tuple[int, ...]]]:
    """OSIS book id -> (the KJV book name the project's verse ids use, verses per chapter)."""
    from pysword.canons import canons

    from optical.data.bible import sword_book_name

    testaments = canons["kjv"]
    return {
        osis: (sword_book_name(name), tuple(lengths)) for name, osis, _, lengths in testaments["ot"] + testaments["nt"]
    }


def expand_reference(reference: str) -> list[str]:
    """An OSIS reference -> verse ids: a verse, a range (across chapters too) or a whole chapter (``1Chr.24``)."""
    books = _osis_books()
    start, _, end = reference.partition("-")
    first, last = start.split("."), (end or start).split(".")
    if first[0] not in books or first[0] != last[0]:
        return []  # an unknown book, or a range across books (Nave has none in the New Testament)
    name, lengths = books[first[0]]
    chapter, verse = int(first[1]), int(first[2]) if len(first) > 2 else 1
    last_chapter = int(last[1])
    last_verse = int(last[2]) if len(last) > 2 else lengths[last_chapter - 1]
    verses = []
    while (chapter, verse) <= (last_chapter, last_verse) and chapter <= len(lengths):
        verses.append(verse_id(name, chapter, verse))
        verse = verse + 1 if verse < lengths[chapter - 1] else 1
        chapter += verse == 1
    return verses


def topic_units(entries: dict[str, str]) -> list[TopicUnit]:
    """Each ``<lb/>`` line of each entry that cites verses, as a unit (an entry without lines: one unit)."""
    units = []
    for topic, text in entries.items():
        for line in text.split("<lb/>"):
            verses = [verse for reference in _REF.findall(line) for verse in expand_reference(reference)]
            if verses:
                label = " ".join(_LINE_LABEL.sub(" ", line.split("<ref", 1)[0]).split())
                units.append(TopicUnit(topic, label, tuple(dict.fromkeys(verses))))
    return units
