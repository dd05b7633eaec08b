"""What every run of a language shares, built lazily and cached per process: the teacher, the training
pairs, the held-out collection and its searches, the held-out bitext and the lexicons eflomal induces. The data
come from the settings' :class:`~optical.task.Task` (the Bible's, or the user's bitext and collection).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict
from functools import cached_property
from pathlib import Path

import torch

from optical.benchmark import Benchmark
from optical.codeswitch import Lexicon, code_switch, induce_lexicon
from optical.data import BitextPair, CLIRCollection, sample_pairs
from optical.encoders import TokenEncoder
from optical.files import kept_file
from optical.search import DocumentSearch, SearchSettings
from optical.study.settings import StudyRun, StudySettings
from optical.task import Task
from optical.train import pick_device


class StudyData:
    """What all runs of a language reuse: teacher, training pairs, and (built when first read) the collection,
    document embeddings, lexicon and held-out pairs."""

    def __init__(self, settings: StudySettings, language: str) -> None:
        self.settings, self.language = settings, language
        self.task: Task = settings.task(language)
        max_length = settings.max_length_for(language)
        teacher = TokenEncoder(settings.teacher, max_length=max_length).eval().requires_grad_(False)
        self.teacher = teacher.to(pick_device(settings.train.device))  # documents are encoded where training runs

    @property
    def training(self) -> list[BitextPair]:
        """Every pair a run of this language may train on (a run draws its own, :meth:`Task.training_pairs`)."""
        return self.task.training

    @property
    def benchmark(self) -> Benchmark:
        """What every run is scored on: the Bible's ``bible_collection`` of the split, or the user's collection, with
        its measures and query groups (a topical collection's kinds)."""
        return self.task.benchmarks[0]

    @property
    def collection(self) -> CLIRCollection:
        return self.benchmark.collection

    @cached_property
    def bitext_pairs(self) -> list[BitextPair]:
        return sample_pairs(self.task.held_out, self.settings.bitext_pairs, seed=1)

    @cached_property
    def bitext_english(self) -> torch.Tensor:
        """The teacher's vectors of the held-out pairs' English sides, (N, d): the same for every run."""
        return self.teacher.embed([pair.english for pair in self.bitext_pairs])

    @cached_property
    def searches(self) -> dict[str, DocumentSearch]:
        return {
            scoring: DocumentSearch(
                self.teacher,
                self.collection.documents,
                SearchSettings(scoring=scoring),
                cache_dir=Path(self.settings.work_dir) / "embeddings",
            )
            for scoring in sorted({*self.settings.scorings, "dense"})
        }

    @cached_property
    def lexicon(self) -> Lexicon:
        lexicon_source = self.task.training_pairs(self.settings.lexicon_pairs, seed=0)
        name = self.lexicon_name(f"en-{self.language}-{self.settings.lexicon_pairs}.json")
        return kept_lexicon(lexicon_source, self.teacher.tokenizer, self.settings, name)

    def lexicon_name(self, name: str) -> str:
        """A lexicon's file name: ``name`` for the Bible's, else prefixed with the user's bitext (its file name and
        hash), so a lexicon of one bitext is never read for another."""
        return name if self.task.bitext == "bible" else f"{self.task.bitext}-{name}"

    def prepare(self) -> StudyData:
        """Build every part now: the documents encoded (cached in ``work_dir``) and the lexicon induced (kept)."""
        _ = self.searches, self.lexicon, self.bitext_pairs
        return self


_STUDY_DATA: dict[tuple[str, str], StudyData] = {}


def study_data(settings: StudySettings, language: str) -> StudyData:
    key = (json.dumps(asdict(settings), sort_keys=True, default=str), language)
    if key not in _STUDY_DATA:
        _STUDY_DATA[key] = StudyData(settings, language)
    return _STUDY_DATA[key]


def switched_queries(queries: dict[str, str], shared: StudyData, rate: float) -> dict[str, str]:
    """The queries with ``rate`` of their words switched to English, each drawn by its own id."""
    tokenizer = shared.teacher.tokenizer
    return {
        qid: code_switch(text, shared.lexicon, tokenizer, rate=rate, seed=zlib.crc32(qid.encode()))
        for qid, text in queries.items()
    }


def run_lexicon(run: StudyRun, settings: StudySettings, shared: StudyData) -> Lexicon:
    """The lexicon eflomal induces from exactly the run's training pairs (its size and seed), kept once induced.

    dictionary-translate translates with it and code-switched training copies switch with it, so
    neither sees more bitext than the students it is compared with.
    """
    pairs = shared.task.training_pairs(run.train_pairs, run.seed)
    name = shared.lexicon_name(f"en-{run.language}-{run.train_pairs}-seed{run.seed}.json")
    return kept_lexicon(pairs, shared.teacher.tokenizer, settings, name)


def kept_lexicon(pairs: list[BitextPair], tokenizer, settings: StudySettings, name: str) -> Lexicon:
    """eflomal's lexicon of ``pairs``, induced once and kept as ``lexicons/<name>`` beside the records
    (``records_dir``, committed) or else in ``work_dir`` (:func:`optical.files.kept_file`). eflomal takes no
    seed, so a kept lexicon is what lets another machine train a code-switched or dictionary run again with
    the same words."""
    path = kept_file(f"lexicons/{name}", work_dir=settings.work_dir, records_dir=settings.records_dir)
    return induce_lexicon(pairs, tokenizer, cache=path)
