"""Lexical CLIR: BM25 over the English documents, foreign queries translated by the bitext's lexicon.

A foreign word becomes a weighted bag of English words read from eflomal's link counts over the
training bitext (:func:`~optical.codeswitch.link_counts`): one-best (the word-by-word lexicon) or
probabilistic, the top ``translations`` English words weighted by p(e|f) renormalised over those
kept, a probabilistic structured query [1]_ in its weighted-query form. Words without a translation
(names, mostly) stay as they are. A query ``q`` scores a document ``d`` as

.. math:: s(q, d) = \\sum_t w_t \\, \\mathrm{BM25}(t, d),
          \\mathrm{BM25}(t, d) = \\mathrm{idf}(t) \\frac{\\mathrm{tf}(t, d)}
          {\\mathrm{tf}(t, d) + k_1 (1 - b + b \\, |d| / \\overline{|d|})},
          \\mathrm{idf}(t) = \\ln\\Big(1 + \\frac{N - \\mathrm{df}(t) + 0.5}{\\mathrm{df}(t) + 0.5}\\Big)

(Lucene's BM25, computed by ``bm25s``), with English stop words removed and, optionally, Porter
stemming (``PyStemmer``) on both sides.

.. [1] K. Darwish and D. W. Oard, "Probabilistic structured query methods", SIGIR 2003.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import bm25s
import numpy as np
import Stemmer

from optical.codeswitch import ranked_links
from optical.metrics import Run
from optical.word_alignment import pretokenize

TranslationTable = dict[str, list[tuple[str, float]]]  # foreign word -> [(English word, weight)], best first
WeightedQuery = dict[str, float]  # English word (or untranslated foreign word) -> weight


def translation_table(counts: Mapping[str, Counter], *, translations: int, min_count: int = 3) -> TranslationTable:
    """Foreign word -> its ``translations`` most linked English words, weights p(e|f) summing to one.

    A word is translated when its most linked English word is alphabetic with ``min_count`` links
    (the rule of :func:`~optical.codeswitch.induce_lexicon`, so ``translations=1`` gives the lexicon
    with weight 1); its other candidates need the same. p(e|f) = c(f, e) / sum_e' c(f, e') over the
    candidates kept.
    """
    if translations < 1:
        raise ValueError(f"translations must be >= 1, got {translations}")
    table = {}
    for word, linked in counts.items():
        ranked = ranked_links(linked)
        best, best_count = ranked[0]
        if best_count < min_count or not best.isalpha():
            continue
        kept = [(english, n) for english, n in ranked if n >= min_count and english.isalpha()][:translations]
        total = sum(n for _, n in kept)
        table[word] = [(english, n / total) for english, n in kept]
    return table


def translate_query(text: str, table: TranslationTable, tokenizer) -> WeightedQuery:
    """The foreign ``text`` as weighted English words: each word's translations with their weights
    (a word seen twice counts twice); a word the table lacks keeps weight 1 as it is."""
    query: Counter = Counter()
    for word in pretokenize(tokenizer, text):
        for english, weight in table.get(word, [(word, 1.0)]):
            query[english] += weight
    return dict(query)


@dataclass(frozen=True)
class BM25Settings:
    """BM25's parameters and the query translation; chosen on the dev books."""

    k1: float = 1.2
    b: float = 0.75
    translations: int = 1  # English translations kept per foreign word (1: the one-best lexicon)
    stem: bool = True  # Porter-stem documents and queries


class LexicalSearch:
    """English documents indexed for BM25 (``bm25s``); :meth:`search` scores weighted English queries."""

    def __init__(self, documents: Mapping[str, str], settings: BM25Settings = BM25Settings()) -> None:
        if not documents:
            raise ValueError("no documents to index")
        self.ids, self.settings = list(documents), settings
        self._stemmer = Stemmer.Stemmer("english") if settings.stem else None
        self._index = bm25s.BM25(k1=settings.k1, b=settings.b, method="lucene")
        self._index.index(self._analyse(list(documents.values())), show_progress=False)

    def _analyse(self, texts: list[str]) -> list[list[str]]:
        """Lower-cased words of two or more characters, English stop words removed, stemmed if asked."""
        return bm25s.tokenize(
            texts, stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False, allow_empty=True
        )

    def scores(self, query: Mapping[str, float]) -> np.ndarray:
        """(D,) sum of weight x BM25 over the query's words, in ``self.ids`` order; zeros for an empty query."""
        total = np.zeros(len(self.ids), dtype=np.float64)
        words = list(query)
        for word, terms in zip(words, self._analyse(words), strict=True):
            ids = self._index.get_tokens_ids(terms)  # words the documents never use drop out
            if ids:
                total += query[word] * self._index.get_scores_from_ids(ids)
        return total

    def search(self, queries: Mapping[str, Mapping[str, float]], *, depth: int = 1000) -> Run:
        """{qid: {docid: score}}: each query's ``depth`` best documents."""
        run = {}
        for qid, query in queries.items():
            scores = self.scores(query)
            top = np.argsort(-scores, kind="stable")[:depth]
            run[qid] = {self.ids[k]: float(scores[k]) for k in top}
        return run
