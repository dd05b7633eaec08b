"""CLIR systems a user builds from bitext alone, and their fusion.

- ``bm25``: BM25 over the English documents, the query translated by the bitext's lexicon
  (:mod:`optical.lexical`; one-best or probabilistic);
- ``translate-encode``: the query translated word by word (one-best), then encoded by an English
  encoder (the teacher, or any student), scored dense or MaxSim;
- fusions of those runs and of trained students' runs (:mod:`optical.fusion`).

:class:`BitextSystems` holds what they share for one bitext and collection: the teacher with its
document encodings and eflomal's link counts over the training pairs. :meth:`BitextSystems.for_task`
builds it on a :class:`~optical.task.Task` (a Bible split, or a user's bitext and collection) from exactly the
training pairs a student of that size and seed gets.

A system trained with several seeds has one run per seed (:data:`SeedRuns`); its per-query values
are averaged over seeds before they are compared, and a fusion fuses each seed's run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from optical.codeswitch import link_counts, translate_words
from optical.data.bitext import BitextPair
from optical.data.collection import CLIRCollection
from optical.encoders import DEFAULT_MAX_LENGTH, DEFAULT_MODEL, TokenEncoder
from optical.files import kept_file, write_atomically
from optical.fusion import reciprocal_rank_fusion, score_fusion
from optical.lexical import BM25Settings, LexicalSearch, translate_query, translation_table
from optical.metrics import DEFAULT_MEASURES, Run, evaluate
from optical.results import result_rows
from optical.search import DocumentSearch, SearchSettings
from optical.stats import holm, paired_randomization_test
from optical.task import Task


class BitextSystems:
    """Everything the bitext-only systems of one collection need; runs are {qid: {docid: score}}."""

    def __init__(
        self,
        training: list[BitextPair],
        collection: CLIRCollection,
        *,
        counts_cache: str | os.PathLike,
        work_dir: str | os.PathLike = ".cache/optical",
        teacher: TokenEncoder | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
    ) -> None:
        """training: the bitext the lexicon is induced from; counts_cache: the JSON file of its link counts;
        teacher: the English encoder of translated queries and of the documents (default: the packaged one)."""
        self.training, self.collection, self.work_dir = training, collection, Path(work_dir)
        self.teacher = teacher or TokenEncoder(DEFAULT_MODEL, max_length=max_length).eval().requires_grad_(False)
        self._counts_cache = Path(counts_cache)
        self._lexical: dict[tuple, LexicalSearch] = {}
        self._dense: dict[str, DocumentSearch] = {}
        self._translated: dict[int, dict[str, dict[str, float]]] = {}

    @classmethod
    def for_task(
        cls,
        task: Task,
        *,
        train_pairs: int,
        seed: int = 0,
        work_dir: str | os.PathLike = ".cache/optical",
        records_dir: str | os.PathLike = "",
        teacher: TokenEncoder | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
    ) -> BitextSystems:
        """The systems of ``task``'s first collection (a Bible collection of its split, or the user's), from the
        ``train_pairs`` training pairs drawn with ``seed``: exactly the pairs a student of that size and seed trains
        on. The link counts are kept in ``records_dir`` when given (committed: eflomal takes no seed, so counts
        induced again differ), else in ``work_dir``: as ``lexicons/en-<language>-<pairs>-seed<seed>.counts.json`` for
        the Bible's training books, ``lexicons/pairs-<digest of the pairs>.counts.json`` for a user's bitext.
        ``teacher``: the English encoder (default: the packaged one at ``max_length``)."""
        training = task.training_pairs(train_pairs, seed)
        name = f"en-{task.language}-{train_pairs}-seed{seed}" if task.bitext == "bible" else _pairs_name(training)
        return cls(
            training,
            task.benchmarks[0].collection,
            counts_cache=kept_file(f"lexicons/{name}.counts.json", work_dir=work_dir, records_dir=records_dir),
            work_dir=work_dir,
            teacher=teacher,
            max_length=max_length,
        )

    @classmethod
    def for_pairs(
        cls,
        training: list[BitextPair],
        collection: CLIRCollection,
        *,
        work_dir: str | os.PathLike,
        teacher: TokenEncoder,
        records_dir: str | os.PathLike = "",
    ) -> BitextSystems:
        """The systems of any bitext and collection, the link counts kept as ``lexicons/pairs-<digest of the
        pairs>.counts.json`` in ``records_dir`` when given (eflomal takes no seed), else in ``work_dir``."""
        counts = kept_file(f"lexicons/{_pairs_name(training)}.counts.json", work_dir=work_dir, records_dir=records_dir)
        return cls(training, collection, counts_cache=counts, work_dir=work_dir, teacher=teacher)

    @cached_property
    def counts(self) -> dict[str, Counter]:
        """Foreign word -> English word -> eflomal links over the training pairs (computed once, cached as JSON)."""
        if self._counts_cache.exists():
            stored = json.loads(self._counts_cache.read_text(encoding="utf-8"))
            return {word: Counter(linked) for word, linked in stored.items()}
        counts = link_counts(self.training, self.teacher.tokenizer)
        text = json.dumps(counts, ensure_ascii=False, sort_keys=True)
        write_atomically(self._counts_cache, lambda file: file.write_text(text, encoding="utf-8"))
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


def _pairs_name(training: list[BitextPair]) -> str:
    """``pairs-<the first 16 hex digits of the SHA-256 of the pairs as TSV>``: a lexicon's name for any bitext."""
    text = "\n".join(f"{pair.english}\t{pair.foreign}" for pair in training)
    return f"pairs-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


FUSIONS = {"rrf": reciprocal_rank_fusion, "score": score_fusion}
SeedRuns = dict[int, Run]  # seed -> one system's run; a system that trains nothing has one entry
SystemKey = tuple[str, str]  # (system, scoring), e.g. ("translate-encode", "maxsim")


def fuse(method: str, runs: Sequence[Run], weights: Sequence[float]) -> Run:
    """``method`` (rrf | score) fusion of ``runs`` with ``weights`` (non-negative, summing to one); a run
    of weight 0 is left out, so that it adds no documents either."""
    if method not in FUSIONS:
        raise ValueError(f"fusion must be one of {tuple(FUSIONS)}, got {method!r}")
    if min(weights) < 0 or abs(sum(weights) - 1) > 1e-9:
        raise ValueError(f"fusion weights must be non-negative and sum to one, got {list(weights)}")
    kept = [(run, weight) for run, weight in zip(runs, weights, strict=True) if weight > 0]
    return FUSIONS[method]([run for run, _ in kept], [weight for _, weight in kept])


def at_seed(runs: SeedRuns, seed: int) -> Run:
    """The run of ``seed``; a system with one run (it trains nothing, or was given one seed) has it at every seed."""
    return runs[seed] if len(runs) > 1 else next(iter(runs.values()))


@dataclass(frozen=True)
class Fusion:
    """Systems fused by ``method`` with ``weights`` (summing to one), each system the key of its runs."""

    systems: tuple[SystemKey, ...]
    weights: tuple[float, ...]
    method: str = "score"

    def extended(self, system: SystemKey, weight: float) -> Fusion:
        """This fusion with ``system`` added at ``weight``, the others scaled by 1 − ``weight``."""
        return Fusion((*self.systems, system), (*(w * (1 - weight) for w in self.weights), weight), self.method)

    def runs(self, runs: dict[SystemKey, SeedRuns]) -> SeedRuns:
        """The fused run at each seed of its system with the most runs (seeded systems share their seeds)."""
        seeds = max((runs[system] for system in self.systems), key=len)
        return {
            seed: fuse(self.method, [at_seed(runs[system], seed) for system in self.systems], self.weights)
            for seed in seeds
        }

    @property
    def name(self) -> str:
        """E.g. ``bm25 + translate-encode maxsim (0.5)``: the systems (a (system, scoring) key's words once
        each), and the weights after the first."""
        names = [" ".join(dict.fromkeys(system)) for system in self.systems]
        return " + ".join(names) + " (" + ", ".join(f"{w:.2g}" for w in self.weights[1:]) + ")"


def seed_mean_per_query(
    systems: BitextSystems, runs: SeedRuns, measures: tuple[str, ...] = DEFAULT_MEASURES
) -> pd.DataFrame:
    """(Q, measures) per-query values averaged over the seeds' runs: the unit of the paired tests."""
    return sum(systems.per_query(run, measures) for run in runs.values()) / len(runs)


@dataclass(frozen=True)
class FusedSystem:
    """The best bitext-only system as ``best_system.ipynb`` chose it on the en-ny dev books: BM25 over the
    query translated into its top 3 English words per word (p(e|f)-weighted), fused by min-max score with
    the teacher's MaxSim over the one-best word-by-word translation, the dense run weighted 0.3 (the weight those
    dev books give it with the lexicon the notebook keeps); a trained student's run can be added at
    ``student_weight`` (0 leaves it out; the notebook's dev books chose 0.3 for a 2,000-step KL student's MaxSim
    run). Every pair uses the en-ny choice: choose again on another pair's dev books."""

    bm25: BM25Settings = BM25Settings(k1=0.4, b=1.0, translations=3, stem=True)
    dense_scoring: str = "maxsim"
    dense_weight: float = 0.3
    student_scoring: str = "maxsim"
    student_weight: float = 0.0
    method: str = "score"

    def runs(self, systems: BitextSystems, student: TokenEncoder | None = None) -> dict[SystemKey, Run]:
        """Each part's run and the fused run, keyed (system, scoring): ``bm25``, ``translate-encode`` and
        ``fused`` (``fused-<method>``), and the student's as ``student`` when it takes part."""
        runs = {
            ("bm25", "bm25"): systems.bm25_run(self.bm25),
            ("translate-encode", self.dense_scoring): systems.encoder_run(scoring=self.dense_scoring),
        }
        weights = [1 - self.dense_weight, self.dense_weight]
        if student is not None and self.student_weight > 0:
            runs[("student", self.student_scoring)] = systems.encoder_run(
                student, scoring=self.student_scoring, translate=False
            )
            weights = [w * (1 - self.student_weight) for w in weights] + [self.student_weight]
        runs[("fused", f"fused-{self.method}")] = fuse(self.method, list(runs.values()), weights)
        return runs


def evaluate_systems(
    systems: BitextSystems, runs: dict[SystemKey, SeedRuns], measures: tuple[str, ...] = DEFAULT_MEASURES
) -> tuple[dict[SystemKey, pd.DataFrame], pd.DataFrame]:
    """Each (system, scoring)'s (Q, measures) per-query values averaged over its seeds, and one row of
    measure means per system, scoring and seed."""
    per_query, rows = {}, []
    for (system, scoring), seed_runs in runs.items():
        frames = {seed: systems.per_query(run, measures) for seed, run in seed_runs.items()}
        per_query[(system, scoring)] = sum(frames.values()) / len(frames)
        key = {"system": system, "scoring": scoring}
        rows += [key | {"seed": seed, **frame.mean().to_dict()} for seed, frame in frames.items()]
    return per_query, pd.DataFrame(rows)


def bm25_grid(systems: BitextSystems, settings: list[BM25Settings], measure: str = "MAP") -> pd.DataFrame:
    """One row per BM25 setting with its mean ``measure`` and R@10 on the systems' collection, best first."""
    rows = []
    for setting in settings:
        means = systems.per_query(systems.bm25_run(setting), (measure, "R@10")).mean()
        rows.append({**asdict(setting), **means.to_dict()})
    return pd.DataFrame(rows).sort_values(measure, ascending=False, kind="stable").reset_index(drop=True)


def fusion_grid(
    systems: BitextSystems,
    runs: dict[SystemKey, SeedRuns],
    bases: list[Fusion],
    candidates: list[SystemKey],
    weights: list[float],
    measure: str = "MAP",
) -> pd.DataFrame:
    """One row per base fusion, candidate system and weight w: the base extended by the candidate at w
    (:meth:`Fusion.extended`), with its name, mean ``measure`` and R@10 (averaged over seeds per
    query), the ``candidate`` and the :class:`Fusion` itself, best first. A tie keeps the grid's
    order: list w = 0 first, and the base itself wins over a candidate that adds nothing."""
    rows = []
    for base in bases:
        for candidate in candidates:
            for weight in weights:
                fusion = base.extended(candidate, weight)
                means = seed_mean_per_query(systems, fusion.runs(runs), (measure, "R@10")).mean()
                row = {"system": fusion.name, "method": base.method, "weight": weight, **means.to_dict()}
                rows.append(row | {"candidate": candidate, "fusion": fusion})
    columns = ["system", "method", "weight", measure, "R@10", "candidate", "fusion"]  # also when no candidate
    return (
        pd.DataFrame(rows, columns=columns).sort_values(measure, ascending=False, kind="stable").reset_index(drop=True)
    )


def compare_systems(
    per_query: dict[SystemKey, pd.DataFrame], measures: tuple[str, ...], reference: SystemKey, by: str = "MAP"
) -> pd.DataFrame:
    """System x measure means, best by ``by`` first, with ``p`` of a paired randomisation test of ``by`` against
    ``reference`` (the system the dev books chose: a test-set best would be chosen by the test itself) on the same
    queries, and ``p (Holm)`` adjusted over the table's tests (NaN for the reference itself)."""
    means = pd.DataFrame({name: frame[list(measures)].mean() for name, frame in per_query.items()}).T
    means = means.sort_values(by, ascending=False, kind="stable")
    chosen = per_query[reference][by]
    tested = {
        name: paired_randomization_test(per_query[name][by].loc[chosen.index], chosen)
        for name in means.index
        if name != reference
    }
    adjusted = dict(zip(tested, holm(np.array(list(tested.values()))), strict=True))
    means["p"] = [tested.get(name, np.nan) for name in means.index]
    means["p (Holm)"] = [adjusted.get(name, np.nan) for name in means.index]
    return means


def systems_results_rows(
    per_seed: pd.DataFrame,
    measures: tuple[str, ...],
    *,
    study: str,
    language: str,
    split: str,
    setting: dict[str, str],
) -> pd.DataFrame:
    """``results.csv`` rows from one row per system, scoring and seed with ``bitext pairs`` and the
    measures' means: the system as objective, no epochs; ``setting`` the study's bitext and models
    (:meth:`optical.study.StudySettings.setting`)."""
    long = per_seed.melt(id_vars=["system", "scoring", "seed", "bitext pairs"], value_vars=list(measures))
    return result_rows(
        study=study,
        language=f"en-{language}",
        **setting,
        objective=long.system,
        train_pairs=long["bitext pairs"].astype(int),
        epochs=0,
        seed=long.seed.astype(int),
        split=split,
        scoring=long.scoring,
        measure=long.variable,
        value=long.value.astype(float),
    )
