"""Bitext, CLIR collections and the embedded Bible data."""

from optical.data.bible import LANGUAGES, bible_splits, books, installed_languages, load_bible_bitext
from optical.data.bitext import (
    AlignmentReport,
    Bitext,
    BitextError,
    BitextPair,
    align_units,
    read_bitext,
    sample_pairs,
)
from optical.data.collection import CLIRCollection, Qrels, bible_clir_collection, passages_from_verses

__all__ = [
    "LANGUAGES",
    "AlignmentReport",
    "Bitext",
    "BitextError",
    "BitextPair",
    "CLIRCollection",
    "Qrels",
    "align_units",
    "bible_clir_collection",
    "bible_splits",
    "books",
    "installed_languages",
    "load_bible_bitext",
    "passages_from_verses",
    "read_bitext",
    "sample_pairs",
]
