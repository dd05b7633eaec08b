"""The collections a packaged pair's students are evaluated on, and how each one reports its scores.

- ``verse``: a foreign verse finds the 3-verse KJV passage holding its own translation (one relevant document, so
  MAP = MRR): a bitext-mining diagnostic, in the English the students trained on;
- ``paraphrase`` and ``topical`` (:mod:`optical.data.topical`): WEB documents, another English translation; the
  topical collection judges the verses Nave's Topical Bible files under the query verse's topics, many a query. Its
  queries are also scored by kind (their topics are a person or place named in the verses, a subject, or both).

A benchmark's scores are keyed by its *label*, the ``split`` of its results rows: ``test`` (verse), ``paraphrase-test``,
``topical-test`` and ``topical-test/<kind>``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

from optical.data.bible import WEB_MODULE, bible_splits, load_bible_bitext, read_sword_module
from optical.data.collection import CLIRCollection, bible_clir_collection
from optical.data.naves import read_zld, topic_units
from optical.data.topical import paraphrase_collection, topical_collection
from optical.metrics import DEFAULT_MEASURES, Run, evaluate

BIBLE_COLLECTIONS = ("verse", "paraphrase", "topical")
KINDS = ("name", "subject", "mixed")  # of a topical query's Nave units (optical.data.topical.unit_kind)
MANY_RELEVANT_MEASURES = (*DEFAULT_MEASURES, "R@100")  # tens of relevant verses a topical query: R@10 reads little


def collection_name(name: str, language: str, split: str) -> str:
    """A Bible collection's name, its TREC folder's and an evaluation specification's: ``bible-en-<lang>-<split>`` for
    the verse collection, else ``<name>-en-<lang>-<split>``."""
    return f"{'bible' if name == 'verse' else name}-en-{language}-{split}"


def collection_label(name: str, split: str) -> str:
    """The ``split`` of a Bible collection's results rows: ``test`` for the verse one, else ``<name>-test``."""
    return split if name == "verse" else f"{name}-{split}"


@dataclass(frozen=True)
class Benchmark:
    """One collection and the query groups scored apart from the whole."""

    label: str  # the ``split`` of its results rows
    collection: CLIRCollection
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # group -> its query ids
    measures: tuple[str, ...] = DEFAULT_MEASURES

    def scores(self, run: Run) -> dict[str, dict[str, float]]:
        """{label: {measure: mean}} over every query, and {label/group: ...} over each group's queries."""
        means, per_query = evaluate(self.collection.qrels, run, self.measures, per_query=True)
        groups = {f"{self.label}/{group}": group_means for group, group_means in self.group_means(per_query).items()}
        return {self.label: means, **groups}

    def group_means(self, per_query: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
        """{group: {measure: mean}} of per-query values ({measure: {query id: value}}) over each group's queries."""
        return {
            group: {measure: sum(values[qid] for qid in qids) / len(qids) for measure, values in per_query.items()}
            for group, qids in self.groups.items()
        }


def bible_benchmarks(
    language: str,
    split: str,
    names: tuple[str, ...] = BIBLE_COLLECTIONS,
    *,
    num_queries: int = 500,
    verses_per_passage: int = 3,
) -> list[Benchmark]:
    """The ``names`` collections of a packaged pair's ``split`` books, in that order. ``paraphrase`` and ``topical``
    need Debian's ``sword-text-web`` and ``sword-dict-naves``: without them they are left out with a warning."""
    unknown = set(names) - set(BIBLE_COLLECTIONS)
    if unknown:
        raise ValueError(f"unknown collections {sorted(unknown)}; choose from {BIBLE_COLLECTIONS}")
    held_out = load_bible_bitext(language).select(bible_splits(language)[split])
    benchmarks = {}
    if "verse" in names:
        verse = bible_clir_collection(
            held_out,
            name=collection_name("verse", language, split),
            num_queries=num_queries,
            verses_per_passage=verses_per_passage,
        )
        benchmarks["verse"] = Benchmark(collection_label("verse", split), verse)
    if {"paraphrase", "topical"} & set(names):
        try:
            web = read_sword_module(*WEB_MODULE)
            units = topic_units(read_zld()) if "topical" in names else []
        except FileNotFoundError as missing:
            warnings.warn(f"the paraphrase and topical collections are left out: {missing}", stacklevel=2)
        else:
            if "paraphrase" in names:
                paraphrase = paraphrase_collection(
                    held_out, web, name=collection_name("paraphrase", language, split), num_queries=num_queries
                )
                label = collection_label("paraphrase", split)
                benchmarks["paraphrase"] = Benchmark(label, paraphrase, measures=MANY_RELEVANT_MEASURES)
            if "topical" in names:
                topical = topical_collection(
                    held_out, units, web, name=collection_name("topical", language, split), num_queries=num_queries
                )
                queries = topical.collection.queries
                kinds = {kind: tuple(q for q in queries if topical.kind[q] == kind) for kind in KINDS}
                benchmarks["topical"] = Benchmark(
                    collection_label("topical", split),
                    topical.collection,
                    {kind: qids for kind, qids in kinds.items() if qids},
                    MANY_RELEVANT_MEASURES,
                )
    return [benchmarks[name] for name in names if name in benchmarks]
