"""CLIR collections that measure retrieval rather than finding a verse's own translation.

Both search English documents in another translation than the one the students train on, the World English Bible
(Debian ``sword-text-web``), one document per verse of the held-out books:

- **paraphrase**: a query is a foreign verse; its own verse in the WEB is relevant (grade 2), and so is each other
  held-out verse whose WEB text shares at least ``near_duplicate`` of its words (grade 1: the Gospels' parallel
  accounts, which the verse collection judged non-relevant);
- **topical**: relevant are the other verses that Nave's Topical Bible lists under a topic or subtopic with the
  query verse, over units of ``min_verses`` to ``max_verses`` held-out verses (a unit of one verse relates nothing;
  one of hundreds is a book's theme, not a topic); the query verses themselves are left out of the documents.
  A unit whose topic is capitalised inside most of its verses (people and places, whom lexical matching finds) is a
  ``name`` unit, else a ``subject`` unit (FORGIVENESS, and BREAD too, though its word is in its verses); each query
  is of the kind of its units (``mixed`` when both), so the two can be reported apart.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass

from optical.data.bitext import BitextPair
from optical.data.collection import CLIRCollection
from optical.data.naves import TopicUnit
from optical.metrics import evaluate

_WORD = re.compile(r"[a-z']+")


def words(text: str) -> set[str]:
    """The lower-cased words of ``text``."""
    return set(_WORD.findall(text.lower()))


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _drawn(pairs: list[BitextPair], num_queries: int | None, seed: int) -> list[BitextPair]:
    chosen = list(pairs)
    random.Random(seed).shuffle(chosen)
    return chosen if num_queries is None else chosen[:num_queries]


def paraphrase_collection(
    pairs: list[BitextPair],
    web: dict[str, str],
    *,
    name: str,
    num_queries: int | None = 500,
    near_duplicate: float = 0.5,
    seed: int = 0,
) -> CLIRCollection:
    """Foreign verse queries against the WEB verses of ``pairs``' books: own verse grade 2, near-duplicates 1."""
    documents = {pair.pair_id: web[pair.pair_id] for pair in pairs if pair.pair_id in web}
    vocabulary = {docid: words(text) for docid, text in documents.items()}
    chosen = _drawn([pair for pair in pairs if pair.pair_id in documents], num_queries, seed)
    qrels = {}
    for pair in chosen:
        own = vocabulary[pair.pair_id]
        near = {docid: 1 for docid, other in vocabulary.items() if jaccard(own, other) >= near_duplicate}
        qrels[pair.pair_id] = {**near, pair.pair_id: 2}
    return CLIRCollection(name, {pair.pair_id: pair.foreign for pair in chosen}, documents, qrels)


@dataclass(frozen=True)
class TopicalCollection:
    """A topical collection and what each query is about: its units' kinds (name | subject | mixed)."""

    collection: CLIRCollection
    kind: dict[str, str]


def unit_kind(unit: TopicUnit, web: dict[str, str]) -> str:
    """``name`` when the topic's first word occurs capitalised, and not as the verse's first word, in at least half
    of the unit's WEB verses (AARON as "and Aaron"), else ``subject``: a subject's word is lower-case inside a
    sentence ("the bread"), so only names pass (matching the word in any case called BREAD and ANGER names)."""
    first = unit.topic.split(",")[0].split()[0]
    inside = re.compile(r"(?<=\S )" + re.escape(first.capitalize()) + r"\b")  # after a word: not the verse's start
    hits = sum(bool(inside.search(web.get(verse, ""))) for verse in unit.verses)
    return "name" if 2 * hits >= len(unit.verses) else "subject"


def topical_collection(
    pairs: list[BitextPair],
    units: list[TopicUnit],
    web: dict[str, str],
    *,
    name: str,
    min_verses: int = 2,
    max_verses: int = 30,
    num_queries: int | None = 500,
    max_query_share: float = 0.15,
    seed: int = 0,
) -> TopicalCollection:
    """Foreign verse queries; relevant: the other held-out verses of the query's bounded Nave units (grade 1).

    Query verses leave the documents, so at most ``max_query_share`` of the held-out verses become queries: a small
    book keeps most of its verses to be found (John, Greek's dev book: at most 131 queries, not 500 of 878 verses)."""
    held_out = {pair.pair_id for pair in pairs if pair.pair_id in web}
    limit = int(max_query_share * len(held_out))
    num_queries = limit if num_queries is None else min(num_queries, limit)
    bounded = []
    for unit in units:
        verses = tuple(verse for verse in unit.verses if verse in held_out)
        if min_verses <= len(verses) <= max_verses:
            bounded.append(TopicUnit(unit.topic, unit.subtopic, verses))
    units_of: dict[str, list[TopicUnit]] = defaultdict(list)
    for unit in bounded:
        for verse in unit.verses:
            units_of[verse].append(unit)
    kind_of = {unit: unit_kind(unit, web) for unit in bounded}
    chosen = _drawn([pair for pair in pairs if pair.pair_id in units_of], num_queries, seed)
    queries = {pair.pair_id: pair.foreign for pair in chosen}
    documents = {verse: web[verse] for verse in sorted(held_out - set(queries))}
    qrels, kind = {}, {}
    for qid in queries:
        related = {verse for unit in units_of[qid] for verse in unit.verses} & documents.keys()
        if related:  # every other verse of its units may be a query too, and so not a document
            qrels[qid] = dict.fromkeys(sorted(related), 1)
            kinds = {kind_of[unit] for unit in units_of[qid]}
            kind[qid] = kinds.pop() if len(kinds) == 1 else "mixed"
    queries = {qid: text for qid, text in queries.items() if qid in qrels}
    return TopicalCollection(CLIRCollection(name, queries, documents, qrels), kind)


def random_ranking_scores(collection: CLIRCollection, *, rankings: int = 5, depth: int = 1000) -> dict[str, float]:
    """Mean figures of merit of ``rankings`` uniformly random rankings of the documents (seeds 0, 1, ...)."""
    documents = list(collection.documents)
    totals: dict[str, float] = defaultdict(float)
    for seed in range(rankings):
        generator = random.Random(seed)
        run = {}
        for qid in collection.queries:
            drawn = generator.sample(documents, min(depth, len(documents)))
            run[qid] = {docid: float(-rank) for rank, docid in enumerate(drawn)}
        for measure, value in evaluate(collection.qrels, run, ("MAP", "nDCG@10", "P@5", "R@100")).items():
            totals[measure] += value / rankings
    return dict(totals)


def random_ranking_map(documents: int, depth: int = 1000) -> float:
    """Expected AP of a query with one relevant document among ``documents`` ranked uniformly at random,
    evaluated at ``depth``: (1/N) sum_{r <= depth} 1/r."""
    return sum(1 / rank for rank in range(1, min(documents, depth) + 1)) / documents


def random_map(collection: CLIRCollection) -> float:
    """A random ranking's MAP: exact when every query has one relevant document, else the mean of 5 rankings."""
    if all(sum(rel >= 1 for rel in judged.values()) == 1 for judged in collection.qrels.values()):
        return random_ranking_map(len(collection.documents))
    return random_ranking_scores(collection)["MAP"]


def collection_statistics(collection: CLIRCollection) -> dict[str, float]:
    """Queries, documents, judged relevant per query (mean, min, max), the random MAP (:func:`random_map`)."""
    judged = [sum(rel >= 1 for rel in judgements.values()) for judgements in collection.qrels.values()]
    return {
        "queries": len(collection.queries),
        "documents": len(collection.documents),
        "relevant per query": sum(judged) / len(judged) if judged else 0.0,
        "relevant min": min(judged, default=0),
        "relevant max": max(judged, default=0),
        "random MAP": random_map(collection),
    }
