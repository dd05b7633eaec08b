"""A language pair's data, read once and cached lazily: the bitext students train on, the held-out pairs and the
collections they are scored on. The main job, the studies, the bitext-only systems and the transport plans all read
their data from a :class:`Task`, so a user's own bitext and collection work wherever a packaged pair does.

- a packaged pair (``ny``, ``es``, ``grc``): training pairs from the training books; held-out pairs and the
  collections (:mod:`optical.benchmark`) from the ``split`` books (dev: where settings are chosen; test: reported);
- ``train_bitext``: a two-column TSV (English, foreign) trained on instead of the Bible;
- ``held_out_bitext``: a second TSV, the held-out pairs (transport plans, bitext retrieval) instead of the Bible's;
- ``collection``: a folder of TREC files or ``irds:<id>`` (:mod:`optical.data.trec_collection`), scored on instead
  of the Bible's collections.

>>> task = Task("ny", split="dev", bible_collections=("verse",), num_queries=20)
>>> len(task.training_pairs(100, seed=0)), task.bitext, task.benchmarks[0].label  # doctest: +SKIP
(100, 'bible', 'dev')
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from optical.benchmark import BIBLE_COLLECTIONS, Benchmark, bible_benchmarks, collection_name
from optical.data import (
    LANGUAGES,
    Bitext,
    BitextPair,
    CLIRCollection,
    bible_splits,
    load_bible_bitext,
    read_bitext,
    sample_pairs,
)
from optical.data.trec_collection import load_collection_dir, load_ir_dataset

SPLITS = ("dev", "test")


@dataclass(frozen=True)
class Task:
    """What a language pair's runs read: training pairs, held-out pairs and the benchmarks they are scored on."""

    language: str = "ny"  # ISO 639 code: a packaged pair (ny, es, grc), or any with your own bitext
    split: str = (
        "test"  # the Bible's held-out books: dev (Gospels; grc: John) or test (Acts-Revelation; grc: Matt-Luke)
    )
    train_bitext: str = ""  # a two-column TSV (English, foreign) to train on; "" for the Bible's training books
    held_out_bitext: str = ""  # a TSV of held-out pairs; "" for the Bible's ``split`` books
    collection: str = ""  # a folder with documents*, topics*|queries*, qrels*; or irds:<id>; "" for the Bible's
    query_field: str = "title"  # of TREC topics: title | description | title+description
    bible_collections: tuple[str, ...] = BIBLE_COLLECTIONS  # without ``collection``: verse | paraphrase | topical
    num_queries: int = 500  # foreign verses drawn as queries of each Bible collection (a fixed draw)
    verses_per_passage: int = 3  # consecutive English verses per document of the verse collection

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        if not self.collection and not self.bible_collections:
            raise ValueError("no collection to evaluate on: give a collection or at least one of the Bible's")

    @property
    def bitext(self) -> str:
        """The training bitext as a run's specification names it: ``bible``, or a TSV's name and content hash."""
        if not self.train_bitext:
            return "bible"
        path = Path(self.train_bitext)
        status = path.stat()
        return f"{path.name}@{_sha256(str(path.resolve()), status.st_mtime_ns, status.st_size)[:16]}"

    @property
    def evaluated_on(self) -> str:
        """The name of the user's collection (its folder, or the ir_datasets id), or the Bible ``split``."""
        if self.collection.startswith("irds:"):
            return self.collection.removeprefix("irds:").replace("/", "_")
        return Path(self.collection).name if self.collection else self.split

    @cached_property
    def bible(self) -> Bitext:
        """The packaged English-``language`` Bible (a clear error for a language without one)."""
        return load_bible_bitext(self.language)

    @cached_property
    def user_training(self) -> Bitext | None:
        """``train_bitext`` read whole, with its report (None for the Bible's)."""
        return read_bitext(self.train_bitext, language=self.language) if self.train_bitext else None

    @cached_property
    def training(self) -> list[BitextPair]:
        """Every pair a student may train on, in corpus order."""
        if self.user_training is not None:
            return self.user_training.pairs
        return self.bible.select(bible_splits(self.language)["train"])

    def training_pairs(self, count: int | None, seed: int) -> list[BitextPair]:
        """``count`` training pairs drawn with ``seed`` (all, shuffled, for None): a run's bitext."""
        return sample_pairs(self.training, count, seed)

    @cached_property
    def held_out(self) -> list[BitextPair]:
        """The held-out pairs: ``held_out_bitext``'s, or the Bible's ``split`` books'."""
        if self.held_out_bitext:
            return read_bitext(self.held_out_bitext, language=self.language).pairs
        if self.language not in LANGUAGES:
            raise ValueError(
                f"no held-out pairs for {self.language!r}, which has no packaged Bible: give held_out_bitext"
            )
        return self.bible.select(bible_splits(self.language)[self.split])

    @property
    def held_out_from_bible(self) -> bool:
        """Whether the held-out pairs are Bible verses (ids like ``Matt.5.39``, human word alignments for grc)."""
        return not self.held_out_bitext

    @cached_property
    def benchmarks(self) -> list[Benchmark]:
        """The user's collection, or the Bible's ``bible_collections`` of the ``split`` books, in that order."""
        if self.collection:
            return [Benchmark(self.evaluated_on, self._user_collection())]
        benchmarks = bible_benchmarks(
            self.language,
            self.split,
            tuple(self.bible_collections),
            num_queries=self.num_queries,
            verses_per_passage=self.verses_per_passage,
        )
        if not benchmarks:
            raise FileNotFoundError(
                f"none of the collections {list(self.bible_collections)} is installed: paraphrase and topical need "
                "Debian's sword-text-web and sword-dict-naves"
            )
        return benchmarks

    @property
    def collection_name(self) -> str:
        """The first benchmark's collection as an evaluation specification names it, without reading it."""
        if self.collection:
            return self.evaluated_on
        return collection_name(self.bible_collections[0], self.language, self.split)

    def _user_collection(self) -> CLIRCollection:
        if self.collection.startswith("irds:"):
            return load_ir_dataset(self.collection.removeprefix("irds:"), query_field=self.query_field)
        return load_collection_dir(self.collection, query_field=self.query_field)


@functools.cache
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    """The SHA-256 of a file, read once per version of it (a run's specification names a user's bitext by it at
    every lookup of the run's record or checkpoint)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
