"""Parallel text: English sentence, foreign translation, and a report of what did not align."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field


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

    def summary(self) -> str:
        return (
            f"{self.aligned:,} pairs aligned from {self.english_units:,} English and "
            f"{self.foreign_units:,} foreign units; {len(self.missing_foreign):,} English without "
            f"translation, {len(self.missing_english):,} foreign without English, "
            f"{len(self.empty):,} with an empty side"
        )


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
