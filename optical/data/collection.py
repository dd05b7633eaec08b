"""CLIR collections: foreign queries, English documents, relevance judgements, as TREC files."""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from optical.data.bitext import BitextPair

Qrels = dict[str, dict[str, int]]  # {query_id: {doc_id: relevance}}


@dataclass
class CLIRCollection:
    """queries: {qid: foreign text}; documents: {docid: English text}; qrels: {qid: {docid: rel}}."""

    name: str
    queries: dict[str, str]
    documents: dict[str, str]
    qrels: Qrels

    def write(self, directory: str | os.PathLike) -> Path:
        """Write ``queries.tsv``, ``documents.tsv`` (id<TAB>text) and TREC ``qrels.txt``."""
        from optical.metrics import write_qrels

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for filename, rows in (("queries.tsv", self.queries), ("documents.tsv", self.documents)):
            with open(directory / filename, "w", encoding="utf-8", newline="") as out:
                csv.writer(out, delimiter="\t", lineterminator="\n").writerows(rows.items())
        write_qrels(self.qrels, directory / "qrels.txt")
        return directory


def passages_from_verses(pairs: list[BitextPair], verses_per_passage: int) -> list[list[BitextPair]]:
    """Consecutive verses of one chapter grouped ``verses_per_passage`` at a time (ids ``Book.ch.v``)."""
    passages = []
    for _, chapter in groupby(pairs, key=lambda pair: pair.pair_id.rsplit(".", 1)[0]):
        verses = list(chapter)
        passages += [verses[i : i + verses_per_passage] for i in range(0, len(verses), verses_per_passage)]
    return passages


def bible_clir_collection(
    pairs: list[BitextPair],
    *,
    name: str,
    num_queries: int | None = 500,
    verses_per_passage: int = 3,
    seed: int = 0,
) -> CLIRCollection:
    """The embedded CLIR collection from held-out Bible books.

    Documents are English passages of ``verses_per_passage`` consecutive verses of a chapter; a
    query is one foreign verse (``num_queries`` of them drawn with ``seed``; all for None); the
    only relevant document of a query is the passage that holds its English verse.
    """
    documents, passage_of = {}, {}
    for passage in passages_from_verses(pairs, verses_per_passage):
        first, last = passage[0].pair_id, passage[-1].pair_id
        doc_id = f"{first}-{last.rsplit('.', 1)[1]}" if len(passage) > 1 else first
        documents[doc_id] = " ".join(pair.english for pair in passage)
        passage_of.update({pair.pair_id: doc_id for pair in passage})
    chosen = list(pairs)
    random.Random(seed).shuffle(chosen)
    if num_queries is not None:
        chosen = chosen[:num_queries]
    queries = {pair.pair_id: pair.foreign for pair in chosen}
    qrels = {pair.pair_id: {passage_of[pair.pair_id]: 1} for pair in chosen}
    return CLIRCollection(name, queries, documents, qrels)
