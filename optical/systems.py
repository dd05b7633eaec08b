"""CLIR systems a user builds from bitext without training a student, on the Bible collections.

- ``bm25``: BM25 over the English documents, the query translated by the bitext's lexicon
  (:mod:`optical.lexical`; one-best or probabilistic);
- ``translate-encode``: the query translated word by word (one-best), then encoded by an English
  encoder (the teacher, or any student), scored dense or MaxSim;
- fusions of those runs (:mod:`optical.fusion`).

:class:`BitextSystems` holds what they share for one language, bitext size and seed: the held-out
collection (the same one the studies use), the teacher with its document encodings, and eflomal's
link counts over exactly the training pairs a student of that size and seed gets.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict
from functools import cached_property
from pathlib import Path

import pandas as pd

from optical.codeswitch import link_counts, translate_words
from optical.data.bible import bible_splits, load_bible_bitext
from optical.data.bitext import sample_pairs
from optical.data.collection import bible_clir_collection
from optical.encoders import DEFAULT_MAX_LENGTH, DEFAULT_MODEL, TokenEncoder
from optical.fusion import reciprocal_rank_fusion, score_fusion
from optical.lexical import BM25Settings, LexicalSearch, translate_query, translation_table
from optical.metrics import DEFAULT_MEASURES, Run, evaluate
from optical.search import DocumentSearch, SearchSettings
from optical.stats import paired_randomization_test


class BitextSystems:
    """Everything the untrained systems of one language need; runs are {qid: {docid: score}}."""

    def __init__(
        self,
        language: str,
        *,
        train_pairs: int = 16000,
        seed: int = 0,
        split: str = "dev",
        num_queries: int = 500,
        work_dir: str | os.PathLike = ".cache/optical",
        max_length: int = DEFAULT_MAX_LENGTH,
    ) -> None:
        self.language, self.work_dir = language, Path(work_dir)
        bitext = load_bible_bitext(language)
        splits = bible_splits(language)
        self.training = sample_pairs(bitext.select(splits["train"]), train_pairs, seed)
        self.collection = bible_clir_collection(
            bitext.select(splits[split]), name=f"bible-en-{language}-{split}", num_queries=num_queries
        )
        self.teacher = TokenEncoder(DEFAULT_MODEL, max_length=max_length).eval().requires_grad_(False)
        self._counts_cache = self.work_dir / "lexicons" / f"en-{language}-{train_pairs}-seed{seed}.counts.json"
        self._lexical: dict[tuple, LexicalSearch] = {}
        self._dense: dict[str, DocumentSearch] = {}
        self._translated: dict[int, dict[str, dict[str, float]]] = {}

    @cached_property
    def counts(self) -> dict[str, Counter]:
        """Foreign word -> English word -> eflomal links over the training pairs (computed once, cached as JSON)."""
        if self._counts_cache.exists():
            stored = json.loads(self._counts_cache.read_text(encoding="utf-8"))
            return {word: Counter(linked) for word, linked in stored.items()}
        counts = link_counts(self.training, self.teacher.tokenizer)
        self._counts_cache.parent.mkdir(parents=True, exist_ok=True)
        partial = self._counts_cache.with_suffix(".partial")
        partial.write_text(json.dumps(counts, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        partial.replace(self._counts_cache)
        return counts

    def bm25_run(self, settings: BM25Settings) -> Run:
        """BM25 with each query translated into weighted English words under ``settings``."""
        index_key = (settings.k1, settings.b, settings.stem)
        if index_key not in self._lexical:
            self._lexical[index_key] = LexicalSearch(self.collection.documents, settings)
        return self._lexical[index_key].search(self._weighted_queries(settings.translations))

    def _weighted_queries(self, translations: int) -> dict[str, dict[str, float]]:
        """Each query as weighted English words under ``translations`` per word (once per value: the BM25
        grid shares them across k1, b and stemming)."""
        if translations not in self._translated:
            table = translation_table(self.counts, translations=translations)
            tokenizer = self.teacher.tokenizer
            queries = self.collection.queries.items()
            self._translated[translations] = {qid: translate_query(text, table, tokenizer) for qid, text in queries}
        return self._translated[translations]

    def translated_queries(self) -> dict[str, str]:
        """Each query translated word by word with the one-best lexicon (unknown words kept)."""
        lexicon = {word: entries[0][0] for word, entries in translation_table(self.counts, translations=1).items()}
        tokenizer = self.teacher.tokenizer
        return {qid: translate_words(text, lexicon, tokenizer) for qid, text in self.collection.queries.items()}

    def encoder_run(
        self, encoder: TokenEncoder | None = None, *, scoring: str = "dense", translate: bool = True
    ) -> Run:
        """The (translated) queries encoded by ``encoder`` (default: the teacher) against the teacher's documents."""
        if scoring not in self._dense:
            self._dense[scoring] = DocumentSearch(
                self.teacher,
                self.collection.documents,
                SearchSettings(scoring=scoring),
                cache_dir=self.work_dir / "embeddings",
            )
        queries = self.translated_queries() if translate else self.collection.queries
        return self._dense[scoring].search(encoder or self.teacher, queries)

    def per_query(self, run: Run, measures: tuple[str, ...] = DEFAULT_MEASURES) -> pd.DataFrame:
        """(Q, measures) per-query values of ``run`` on this collection, indexed by query id."""
        return pd.DataFrame(evaluate(self.collection.qrels, run, measures, per_query=True)[1])


FUSIONS = {"rrf": reciprocal_rank_fusion, "score": score_fusion}


def fuse(method: str, lexical: Run, dense: Run, weight: float) -> Run:
    """``method`` (rrf | score) fusion of a lexical and a dense run, weights 1 - ``weight`` and ``weight``."""
    if method not in FUSIONS:
        raise ValueError(f"fusion must be one of {tuple(FUSIONS)}, got {method!r}")
    if not 0 <= weight <= 1:
        raise ValueError(f"the dense run's weight must be in [0, 1], got {weight}")
    return FUSIONS[method]([lexical, dense], [1 - weight, weight])


def bm25_grid(systems: BitextSystems, settings: list[BM25Settings], measure: str = "MAP") -> pd.DataFrame:
    """One row per BM25 setting with its mean ``measure`` and R@10 on the systems' collection, best first."""
    rows = []
    for setting in settings:
        means = systems.per_query(systems.bm25_run(setting), (measure, "R@10")).mean()
        rows.append({**asdict(setting), **means.to_dict()})
    return pd.DataFrame(rows).sort_values(measure, ascending=False, kind="stable").reset_index(drop=True)


def fusion_grid(
    systems: BitextSystems, lexical: Run, dense: dict[str, Run], weights: list[float], measure: str = "MAP"
) -> pd.DataFrame:
    """One row per dense run, fusion method and dense weight, with its mean ``measure`` and R@10, best first."""
    rows = []
    for name, run in dense.items():
        for method in FUSIONS:
            for weight in weights:
                means = systems.per_query(fuse(method, lexical, run, weight), (measure, "R@10")).mean()
                rows.append({"dense": name, "method": method, "weight": weight, **means.to_dict()})
    return pd.DataFrame(rows).sort_values(measure, ascending=False, kind="stable").reset_index(drop=True)


def compare_systems(per_query: dict[str, pd.DataFrame], measures: tuple[str, ...], by: str = "MAP") -> pd.DataFrame:
    """System x measure means, best by ``by`` first, with ``p`` of a paired randomisation test of ``by``
    against the best system (per query, the same queries; NaN for the best itself)."""
    means = pd.DataFrame({name: frame[list(measures)].mean() for name, frame in per_query.items()}).T
    means = means.sort_values(by, ascending=False, kind="stable")
    best = per_query[means.index[0]][by]
    means["p"] = [
        float("nan") if name == means.index[0] else paired_randomization_test(per_query[name][by].loc[best.index], best)
        for name in means.index
    ]
    return means


def systems_results_rows(
    table: pd.DataFrame, measures: tuple[str, ...], *, study: str, language: str, seed: int, split: str
) -> pd.DataFrame:
    """``results.csv`` rows of a :func:`compare_systems` table indexed by (system, scoring), with a
    ``bitext pairs`` column: the system as objective, no epochs."""
    return pd.DataFrame(
        [
            {
                "study": study,
                "language": f"en-{language}",
                "objective": system,
                "train_pairs": int(table.loc[(system, scoring), "bitext pairs"]),
                "epochs": 0,
                "seed": seed,
                "split": split,
                "scoring": scoring,
                "measure": measure,
                "value": float(table.loc[(system, scoring), measure]),
            }
            for system, scoring in table.index
            for measure in measures
        ]
    )
