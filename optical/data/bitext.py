"""Parallel text: English sentence, foreign translation, and a report of what did not align."""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


class BitextError(ValueError):
    """A bitext file that cannot be read as it is; the message names the file and the line."""


@dataclass(frozen=True)
class BitextPair:
    """One English sentence and its translation; ``group`` (a Bible book) decides the split."""

    pair_id: str
    english: str
    foreign: str
    group: str


@dataclass
class AlignmentReport:
    """Counts of a bitext's alignment; the id lists name every unit that did not make a pair."""

    english_units: int
    foreign_units: int
    aligned: int
    missing_foreign: list[str] = field(default_factory=list)  # English units with no translation
    missing_english: list[str] = field(default_factory=list)  # foreign units with no English
    empty: list[str] = field(default_factory=list)  # units where either side is blank
    malformed: list[str] = field(default_factory=list)  # "file:line: reason" of lines skipped on request

    def summary(self) -> str:
        text = (
            f"{self.aligned:,} pairs aligned from {self.english_units:,} English and "
            f"{self.foreign_units:,} foreign units; {len(self.missing_foreign):,} English without "
            f"translation, {len(self.missing_english):,} foreign without English, "
            f"{len(self.empty):,} with an empty side"
        )
        return text + (f", {len(self.malformed):,} malformed lines skipped" if self.malformed else "")


@dataclass
class Bitext:
    """A language pair's parallel text; ``language`` is the foreign ISO 639 code."""

    language: str
    pairs: list[BitextPair]
    report: AlignmentReport

    def select(self, groups: Iterable[str]) -> list[BitextPair]:
        """The pairs whose group is in ``groups``, in corpus order."""
        wanted = set(groups)
        return [pair for pair in self.pairs if pair.group in wanted]


def verse_id(book: str, chapter: int, verse: int) -> str:
    """A Bible verse's pair id: ``"1 John", 3, 16`` -> ``"1John.3.16"``."""
    return f"{book.replace(' ', '')}.{chapter}.{verse}"


def align_units(english: dict[str, str], foreign: dict[str, str], group_of: dict[str, str], language: str) -> Bitext:
    """Pair units that share an id; count, never silently drop, what does not pair.

    english, foreign: {unit_id: text} in corpus order (English order wins); group_of: {unit_id: group}.
    """
    pairs, empty = [], []
    for unit_id, english_text in english.items():
        if unit_id not in foreign:
            continue
        english_text, foreign_text = english_text.strip(), foreign[unit_id].strip()
        if not english_text or not foreign_text:
            empty.append(unit_id)
            continue
        pairs.append(BitextPair(unit_id, english_text, foreign_text, group_of[unit_id]))
    report = AlignmentReport(
        english_units=len(english),
        foreign_units=len(foreign),
        aligned=len(pairs),
        missing_foreign=[unit_id for unit_id in english if unit_id not in foreign],
        missing_english=[unit_id for unit_id in foreign if unit_id not in english],
        empty=empty,
    )
    return Bitext(language, pairs, report)


def sample_pairs(pairs: list[BitextPair], count: int | None, seed: int) -> list[BitextPair]:
    """``count`` pairs drawn without replacement with ``seed`` (all of them, shuffled, for None)."""
    chosen = list(pairs)
    random.Random(seed).shuffle(chosen)
    return chosen if count is None else chosen[:count]


def read_bitext(path: str | os.PathLike, *, language: str, skip_bad_lines: bool = False) -> Bitext:
    """A two-column UTF-8 TSV, ``English<TAB>foreign`` per line, as a :class:`Bitext`.

    Pairs get ids ``<file stem>.<line>`` and the file stem as their group. A line with another
    number of columns or an empty side raises :class:`BitextError` naming file and line; with
    ``skip_bad_lines`` such lines are skipped and listed in ``report.malformed`` (blank-side lines
    in ``report.empty``) instead. A missing file or text that is not UTF-8 always raises.
    """
    path = Path(path)
    if not path.is_file():
        raise BitextError(f"{path}: no such bitext file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise BitextError(f"{path}:{line}: not UTF-8 ({error.reason}); re-encode the file as UTF-8") from None
    english, foreign, malformed = {}, {}, []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) != 2:
            problem = f"{path}:{number}: expected 2 tab-separated columns (English, foreign), found {len(columns)}"
            if not skip_bad_lines:
                raise BitextError(problem)
            malformed.append(problem)
            continue
        unit_id = f"{path.stem}.{number}"
        if not (columns[0].strip() and columns[1].strip()) and not skip_bad_lines:
            raise BitextError(
                f"{path}:{number}: the {'English' if not columns[0].strip() else 'foreign'} side is empty"
            )
        english[unit_id], foreign[unit_id] = columns
    bitext = align_units(english, foreign, dict.fromkeys(english, path.stem), language)
    bitext.report.malformed = malformed
    return bitext
