"""The research-question harness: one trained student per run, scored every way the questions need.

A :class:`StudyRun` names what is trained (language, objective, bitext size, epochs, seed,
code-switched augmentation, masked-LM pre-training); :func:`score_run` trains it under
:class:`StudySettings` (same data, splits and budget for every objective) and scores it on

- CLIR: the embedded collection's foreign queries against English passages, per query, with every
  scoring of ``settings.scorings`` (pooled vectors and MaxSim over token vectors);
- code-switched queries: the same queries with a share of their words switched to English (dense);
- bitext retrieval: each held-out foreign sentence must find its English translation among all.

Scores are kept by the run and the settings, as a gzipped JSON record under ``records_dir`` (the
notebooks keep them in ``figures/runs/``, committed, so another machine continues a study where the
last one stopped) or else cached under ``work_dir/studies``, so a notebook that is rerun or
interrupted only trains what is missing.
"""

from __future__ import annotations

import functools
import gzip
import json
import zlib
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from optical.codeswitch import Lexicon, code_switch, induce_lexicon, translate_words
from optical.data import (
    Bitext,
    BitextPair,
    CLIRCollection,
    bible_clir_collection,
    bible_splits,
    load_bible_bitext,
    sample_pairs,
)
from optical.encoders import DEFAULT_MAX_LENGTH, DEFAULT_MODEL, TokenEncoder, resolve_model_dir
from optical.files import kept_file, write_atomically
from optical.losses import OBJECTIVES
from optical.metrics import DEFAULT_MEASURES, evaluate
from optical.run_spec import EvaluationSpec, RunSpec
from optical.search import SCORINGS, DocumentSearch, SearchSettings, search_each
from optical.stats import paired_randomization_test
from optical.train import (
    CHECKPOINT_NAME,
    TrainConfig,
    device_name,
    pick_device,
    train,
    training_precision,
)
from optical.vocabulary import fitting_max_length

RECIPE_GRIDS: dict[str, list[dict]] = {  # the TrainConfig variants searched on the dev books, per objective
    "ot": [
        {},  # the main job's: epsilon 0.02, detached plan, exact marginals
        {"epsilon": 0.01},
        {"epsilon": 0.05},
        {"epsilon": 0.1},
        {"epsilon_start": 0.1, "epsilon": 0.01},  # annealed from 0.1 to 0.01
        {"detach_plan": False},  # back-propagated through Sinkhorn
        {"marginal_penalty": 1.0},  # unbalanced OT
        {"marginal_penalty": 0.1},
        {"contrastive_weight": 0.1},  # OT + 0.1 x InfoNCE
        {"contrastive_weight": 1.0},
        {"align_layer": 4},  # align the states of layer 4 of 6; the top two stay the teacher's
    ],
    "kl": [
        {},  # temperature 0.1, 8 hard negatives
        {"kl_temperature": 0.05},
        {"kl_temperature": 0.2},
        {"hard_negatives": 16},
    ],
}
FINAL_RECIPES: dict[str, list[dict]] = {  # the variants of the final test tables (RQ1, RQ3, RQ4 share these runs)
    "ot": [{}, {"contrastive_weight": 0.1}, {"contrastive_weight": 1.0}],  # the paper's, and the two dev-best recipes
    "kl": [{}, {"hard_negatives": 16}, {"kl_temperature": 0.05}],  # the one-seed search's tie, settled at 3 seeds
}
CLEAN_QUERIES_ONLY = {"switch_rates": (), "bitext_pairs": 0}  # StudySettings fields: score clean CLIR only (RQ2, RQ5)
UNTRAINED = ("zero-shot", "dictionary-translate")  # the teacher itself, on the queries as given or translated
NO_BITEXT = ("zero-shot",)  # uses no bitext at all; dictionary-translate reads the run's pairs like a student


@dataclass(frozen=True)
class StudyRun:
    """One student: what it is trained on and how."""

    language: str = "ny"
    objective: str = "ot"  # ot | kl | mse | cls-mse | contrastive | zero-shot | dictionary-translate
    train_pairs: int = 2000  # training-book pairs drawn with the seed
    epochs: int = 1
    seed: int = 0
    augment_rate: float = 0.0  # > 0: add a code-switched copy of every pair with this share of words in English
    pretrain_steps: int = 0  # > 0: masked-LM steps on the foreign side of the training books first
    recipe: tuple[tuple[str, object], ...] = ()  # TrainConfig fields this run sets otherwise, e.g. (("epsilon", 0.05),)

    @property
    def label(self) -> str:
        """The objective as tables show it: ``ot``, ``ot+cs0.3`` (augmented), ``mlm+ot`` (pre-trained),
        ``ot[epsilon=0.05]`` (another recipe)."""
        label = ("mlm+" if self.pretrain_steps else "") + self.objective
        label += f"+cs{self.augment_rate:g}" if self.augment_rate else ""
        return label + ("[" + ",".join(f"{name}={value}" for name, value in self.recipe) + "]" if self.recipe else "")


@dataclass
class StudySettings:
    """What every run of a study shares: evaluation, lexicon and the training recipe."""

    split: str = "test"  # dev (Gospels) to choose settings, test (Acts-Revelation) to report
    num_queries: int = 500
    scorings: tuple[str, ...] = SCORINGS  # the clean queries are scored each way: dense | maxsim
    switch_rates: tuple[float, ...] = (0.1, 0.25, 0.5)  # code-switched query sets besides the clean one (dense)
    bitext_pairs: int = 1000  # held-out pairs for bitext retrieval (0: none)
    lexicon_pairs: int = 8000  # training pairs of the lexicon that code-switches evaluation queries
    max_length: int = DEFAULT_MAX_LENGTH  # tokens per training sentence and query (see max_cut_share)
    max_cut_share: float = 0.0  # > 0: per language, max_length raised in steps of 32 until at most this share is cut
    teacher: str = DEFAULT_MODEL
    student: str = DEFAULT_MODEL
    train: TrainConfig = field(default_factory=TrainConfig)  # objective, epochs and seed come from the run
    work_dir: str = ".cache/optical"
    records_dir: str = ""  # finished runs' scores as <key>.json.gz here (e.g. figures/runs), else in work_dir/studies
    cache_teacher_states: bool = True  # read the teacher's token states from work_dir/teacher_states (computed once)
    keep_checkpoints: bool = False  # a checkpoint holds the Adam state (~270 MB); scores are what the studies need
    curve_every: int = 0  # > 0: a learning curve, the student scored on the dev books every this many steps
    curve_queries: int = 200  # dev queries per curve point (the documents are encoded once)
    patience: int = 0  # > 0 with a curve: stop once dense dev MAP has not risen for this many steps
    keep_best: bool = True  # with a curve: score the weights of the step with the best dense dev MAP, not the last
    score_last: bool = False  # with a curve and keep_best: also score the last step's weights (query set clean@last)

    def __post_init__(self) -> None:
        if self.curve_every and "dense" not in self.scorings:
            raise ValueError("a learning curve keeps the best step by dense MAP: include 'dense' in scorings")

    def spec(self, run: StudyRun) -> RunSpec:
        """The identity of ``run``'s student under these settings (of an untrained system: its model and lexicon)."""
        data = {
            "language": run.language,
            "bitext": "bible",
            "train_pairs": run.train_pairs,
            "augment_rate": run.augment_rate,
            "pretrain_steps": run.pretrain_steps,
            "teacher": self.teacher,
            "max_length": self.max_length_for(run.language),
        }
        if run.objective in UNTRAINED:  # the teacher reads the queries; nothing is trained
            empty = {"objective_settings": {}, "training": {}, "selection": {}}
            return RunSpec(**data, student=self.teacher, objective=run.objective, seed=run.seed, **empty)
        selection = {}
        if self.curve_every:  # the learning curve picks the scored weights (and logs every scoring's points)
            selection = {
                "curve_every": self.curve_every,
                "curve_queries": self.curve_queries,
                "curve_scorings": list(self.scorings),
                "patience": self.patience,
                "keep_best": self.keep_best,
            }
        return RunSpec.trained(self.train_config(run), selection=selection, student=self.student, **data)

    def train_config(self, run: StudyRun) -> TrainConfig:
        """The TrainConfig of ``run``: these settings' ``train``, the run's recipe, objective, epochs and seed."""
        fields = {**self.train.non_default(), **dict(run.recipe)}
        return TrainConfig.from_flat(fields, objective=run.objective, epochs=run.epochs, seed=run.seed)

    def key(self, run: StudyRun) -> str:
        """The name of ``run``'s record under these settings: ``<run key>-<evaluation key>``, each a hash of its
        whole specification (:mod:`optical.run_spec`). Where and how a run is computed (files, checkpoint
        frequency, device, cached teacher states) is in neither; each run's log records the device."""
        return f"{self.spec(run).key()}-{self.evaluation(run.language).key()}"

    def evaluation(self, language: str) -> EvaluationSpec:
        """How every run of ``language`` is scored under these settings."""
        return EvaluationSpec(
            collection=f"bible-en-{language}-{self.split}",
            num_queries=self.num_queries,
            scorings=tuple(self.scorings),
            switch_rates=tuple(self.switch_rates),
            lexicon_pairs=self.lexicon_pairs,
            bitext_pairs=self.bitext_pairs,
            score_last=self.score_last,
        )

    def max_length_for(self, language: str) -> int:
        """Tokens per training sentence and query of ``language``: ``max_length``, or with ``max_cut_share`` the
        smallest of ``max_length`` + 32 k that cuts at most that share of its packaged verses on either side
        (English by the teacher's tokenizer, foreign by the student's): 128 for ny and es, 192 for grc at 1%."""
        if not self.max_cut_share:
            return self.max_length
        return _fitting_max_length(language, self.teacher, self.student, self.max_length, self.max_cut_share)

    def checkpoint_dir(self, run: StudyRun) -> Path:
        """Where ``run`` keeps its training checkpoint (``last.pt``): named by its run key alone, so a student
        scored another way (collection, queries, scorings) is not trained again while its checkpoint is kept."""
        return Path(self.work_dir) / "checkpoints" / f"study-{self.spec(run).key()}"


@functools.cache
def _fitting_max_length(language: str, teacher: str, student: str, floor: int, max_cut_share: float) -> int:
    """:meth:`StudySettings.max_length_for`, computed once per process."""
    from transformers import AutoTokenizer

    pairs = load_bible_bitext(language).pairs
    lengths = []
    for model, texts in ((teacher, [p.english for p in pairs]), (student, [p.foreign for p in pairs])):
        tokenizer = AutoTokenizer.from_pretrained(resolve_model_dir(model), local_files_only=True)
        side = [len(ids) for ids in tokenizer(texts, verbose=False)["input_ids"]]
        lengths.append(fitting_max_length(side, floor, max_cut_share))
    return max(lengths)


def grid(
    languages: list[str],
    objectives: list[str],
    seeds: list[int],
    train_pairs: list[int],
    recipes: dict[str, list[dict]] | None = None,
    **fields,
) -> list[StudyRun]:
    """Every combination as a :class:`StudyRun` (``fields``: epochs, augment_rate, pretrain_steps).

    recipes: per trained objective, the TrainConfig settings of each of its variants, e.g.
    ``{"ot": [{}, {"contrastive_weight": 0.1}]}`` (default: the one recipe of the settings).

    The zero-shot teacher uses no bitext: one run per language, with no pairs, epochs or augmentation.
    dictionary-translate induces its lexicon from exactly the pairs a student of the same size and
    seed trains on: one run per size and seed, with no epochs.
    """
    runs = []
    for language in languages:
        for objective in objectives:
            if objective in NO_BITEXT:
                runs.append(StudyRun(language, objective, train_pairs=0, epochs=0))
            elif objective in UNTRAINED:
                runs += [StudyRun(language, objective, n, epochs=0, seed=seed) for n in train_pairs for seed in seeds]
            else:
                runs += [
                    StudyRun(language, objective, n, seed=seed, recipe=tuple(sorted(recipe.items())), **fields)
                    for recipe in (recipes or {}).get(objective, [{}])
                    for n in train_pairs
                    for seed in seeds
                ]
    return runs


class _Shared:
    """What all runs of a language reuse: teacher, training pairs, and (built when first read) the collection,
    document embeddings, lexicon and held-out pairs."""

    def __init__(self, settings: StudySettings, language: str) -> None:
        self.settings, self.language = settings, language
        self.bitext = load_bible_bitext(language)
        self.splits = bible_splits(language)
        self.training = self.bitext.select(self.splits["train"])
        max_length = settings.max_length_for(language)
        teacher = TokenEncoder(settings.teacher, max_length=max_length).eval().requires_grad_(False)
        self.teacher = teacher.to(pick_device(settings.train.device))  # documents are encoded where training runs

    @cached_property
    def held_out(self) -> Bitext:
        return self.bitext.select(self.splits[self.settings.split])

    @cached_property
    def collection(self) -> CLIRCollection:
        name = f"bible-en-{self.language}-{self.settings.split}"
        return bible_clir_collection(self.held_out, name=name, num_queries=self.settings.num_queries)

    @cached_property
    def bitext_pairs(self) -> list[BitextPair]:
        return sample_pairs(self.held_out, self.settings.bitext_pairs, seed=1)

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
        lexicon_source = sample_pairs(self.training, self.settings.lexicon_pairs, seed=0)
        name = f"en-{self.language}-{self.settings.lexicon_pairs}.json"
        return _kept_lexicon(lexicon_source, self.teacher.tokenizer, self.settings, name)

    def prepare(self) -> _Shared:
        """Build every part now: the documents encoded (cached in ``work_dir``) and the lexicon induced (kept)."""
        _ = self.searches, self.lexicon, self.bitext_pairs
        return self


_SHARED: dict[tuple[str, str], _Shared] = {}


def _shared(settings: StudySettings, language: str) -> _Shared:
    key = (json.dumps(asdict(settings), sort_keys=True, default=str), language)
    if key not in _SHARED:
        _SHARED[key] = _Shared(settings, language)
    return _SHARED[key]


def _switched(queries: dict[str, str], shared: _Shared, rate: float) -> dict[str, str]:
    """The queries with ``rate`` of their words switched to English, each drawn by its own id."""
    tokenizer = shared.teacher.tokenizer
    return {
        qid: code_switch(text, shared.lexicon, tokenizer, rate=rate, seed=zlib.crc32(qid.encode()))
        for qid, text in queries.items()
    }


def run_lexicon(run: StudyRun, settings: StudySettings, shared: _Shared) -> Lexicon:
    """The lexicon eflomal induces from exactly the run's training pairs (its size and seed), kept once induced.

    dictionary-translate translates with it and code-switched training copies switch with it, so
    neither sees more bitext than the students it is compared with.
    """
    pairs = sample_pairs(shared.training, run.train_pairs, run.seed)
    name = f"en-{run.language}-{run.train_pairs}-seed{run.seed}.json"
    return _kept_lexicon(pairs, shared.teacher.tokenizer, settings, name)


def _kept_lexicon(pairs: list[BitextPair], tokenizer, settings: StudySettings, name: str) -> Lexicon:
    """eflomal's lexicon of ``pairs``, induced once and kept as ``lexicons/<name>`` beside the records
    (``records_dir``, committed) or else in ``work_dir`` (:func:`optical.files.kept_file`). eflomal takes no
    seed, so a kept lexicon is what lets another machine train a code-switched or dictionary run again with
    the same words."""
    path = kept_file(f"lexicons/{name}", work_dir=settings.work_dir, records_dir=settings.records_dir)
    return induce_lexicon(pairs, tokenizer, cache=path)


def _score_files(run: StudyRun, settings: StudySettings) -> list[Path]:
    """Where ``run``'s scores may be kept under ``settings``, first where they are written:
    ``records_dir/<run key>-<evaluation key>.json.gz`` when set, then the cache ``work_dir/studies/`` (``.json``)."""
    key = settings.key(run)
    cache = Path(settings.work_dir) / "studies" / f"{key}.json"
    return [Path(settings.records_dir) / f"{key}.json.gz", cache] if settings.records_dir else [cache]


def _stored_scores(run: StudyRun, settings: StudySettings) -> dict | None:
    """``run``'s kept scores, or None; a run found only in the cache is given its record."""
    files = _score_files(run, settings)
    for path in files:
        if path.exists():
            try:
                scores = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_text())
            except (OSError, EOFError, ValueError) as error:  # a truncated file, a merge conflict's markers
                raise ValueError(f"{path} is unreadable ({error}); delete it to score the run again") from None
            if path != files[0]:
                _store_scores(scores, files[0])
            return scores
    return None


def _store_scores(scores: dict, path: Path) -> None:
    """Write ``scores`` to ``path`` (gzipped for ``.gz``, with no timestamp: the same scores, the same bytes),
    renamed into place so that a killed write leaves no half file."""
    data = json.dumps(scores).encode()
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    write_atomically(path, lambda file: file.write_bytes(data))


def _curve_settings(settings: StudySettings) -> StudySettings:
    """The settings a learning curve scores with: the dev books, ``curve_queries`` queries."""
    return replace(settings, split="dev", num_queries=settings.curve_queries, curve_every=0)


def _train_student(
    run: StudyRun, settings: StudySettings, shared: _Shared, progress: bool
) -> tuple[TokenEncoder, dict, dict[str, torch.Tensor] | None]:
    """The trained student (at its best dev step when a curve keeps it), its training log, and the last
    step's weights when ``settings.score_last`` asks for them (else None)."""
    from optical.pretrain import mlm_pretrain

    torch.manual_seed(run.seed)
    max_length = settings.max_length_for(run.language)
    student = TokenEncoder(settings.student, max_length=max_length, output_dim=shared.teacher.dim)
    pairs = sample_pairs(shared.training, run.train_pairs, run.seed)
    if run.pretrain_steps:
        foreign = [pair.foreign for pair in shared.training]
        mlm_pretrain(student, foreign, steps=run.pretrain_steps, lr=settings.train.lr, seed=run.seed, progress=progress)
    if run.augment_rate:
        tokenizer, lexicon = shared.teacher.tokenizer, run_lexicon(run, settings, shared)
        pairs = pairs + [
            BitextPair(
                f"{p.pair_id}+cs",
                p.english,
                code_switch(p.foreign, lexicon, tokenizer, rate=run.augment_rate, seed=run.seed + k),
                p.group,
            )
            for k, p in enumerate(pairs)
        ]
    config = settings.train_config(run)
    checkpoint_dir = settings.checkpoint_dir(run)
    teacher_cache = Path(settings.work_dir) / "teacher_states" if settings.cache_teacher_states else None
    curve = None
    if settings.curve_every:
        curve = LearningCurve(student, _shared(_curve_settings(settings), run.language), settings)
        if not (checkpoint_dir / CHECKPOINT_NAME).exists():  # a resumed run reads its points from the checkpoint
            curve.evaluate(0)
    result = train(
        student,
        shared.teacher,
        pairs,
        config,
        checkpoint_dir=checkpoint_dir,
        teacher_cache=teacher_cache,
        on_step=curve,
        progress=progress,
        spec=settings.spec(run).to_dict(),
    )
    log = {
        "loss": result.losses,
        "pooled_cosine": result.pooled_cosine,
        "plan_entropy": result.plan_entropy,
        "device": device_name(student.device),
        "precision": training_precision(config, student.device),
        "seconds": result.seconds,
    }
    last_state = None
    if curve is not None:
        curve.finish(result.steps)
        log |= {"curve": curve.points, "best_step": curve.best_step, "scored_step": result.steps}
        if settings.keep_best:
            if settings.score_last:
                last_state = {name: value.detach().clone() for name, value in student.state_dict().items()}
            student.load_state_dict(curve.best_state)
            log["scored_step"] = curve.best_step
    return student.eval(), log, last_state


class LearningCurve:
    """``on_step`` for :func:`~optical.train.train`: scores the student on the dev books every K steps.

    Each point is dev MAP and R@10 under every scoring of the settings; the weights of the step with
    the best dense MAP are kept (in memory, and in the training checkpoint, so a killed run resumes its
    curve), and with ``settings.patience`` training stops once that best is ``patience`` steps old.
    """

    def __init__(self, student: TokenEncoder, dev: _Shared, settings: StudySettings) -> None:
        self.student, self.dev, self.settings = student, dev, settings
        self.points: list[dict] = []  # {"step", "scoring", "MAP", "R@10"}
        self.best_map, self.best_step, self.best_state = -1.0, 0, None

    def evaluate(self, step: int) -> None:
        """Add the points of ``step`` and remember the weights if dense MAP is the best so far."""
        was_training = self.student.training
        self.student.eval()
        searches = {scoring: self.dev.searches[scoring] for scoring in self.settings.scorings}
        for scoring, run in search_each(searches, self.student, self.dev.collection.queries).items():
            means = evaluate(self.dev.collection.qrels, run, ("MAP", "R@10"))
            self.points.append({"step": step, "scoring": scoring, **means})
            if scoring == "dense" and means["MAP"] > self.best_map:
                self.best_map, self.best_step = means["MAP"], step
                self.best_state = {name: value.detach().clone() for name, value in self.student.state_dict().items()}
        self.student.train(was_training)

    def __call__(self, step: int) -> bool:
        if step % self.settings.curve_every:
            return False
        self.evaluate(step)
        return bool(self.settings.patience) and step - self.best_step >= self.settings.patience

    def state_dict(self) -> dict:
        """The points and the best step's weights, saved in each training checkpoint."""
        return {name: getattr(self, name) for name in ("points", "best_map", "best_step", "best_state")}

    def load_state_dict(self, state: dict) -> None:
        """Continue the curve of a resumed run from its checkpoint."""
        for name, value in state.items():
            setattr(self, name, value)

    def finish(self, step: int) -> None:
        """Score the last step too, when it fell between two points."""
        if self.points[-1]["step"] != step:
            self.evaluate(step)


def _bitext_recall(student: TokenEncoder, shared: _Shared, translate) -> dict[str, float]:
    """Recall@1 and @10 of each held-out foreign sentence finding its own English translation among all."""
    foreign = student.embed([translate(pair.foreign) for pair in shared.bitext_pairs])  # (N, d)
    scores = foreign @ shared.bitext_english.T  # (N, N)
    rank_of_own = (scores > scores.diagonal()[:, None]).sum(1)  # how many English sentences beat the translation
    return {"R@1": float((rank_of_own < 1).float().mean()), "R@10": float((rank_of_own < 10).float().mean())}


def score_run(run: StudyRun, settings: StudySettings, *, progress: bool = True) -> dict:
    """Train (unless untrained) and score one run, kept by run and settings (a record, else the cache).

    Returns {"clir": {scoring: {measure: {qid: value}}}, "switched": {rate: {measure: mean}} (dense),
    "bitext": {R@k: value}, "training": {"loss", "pooled_cosine", "plan_entropy": per step; "device",
    "precision" (bf16 autocast or float32; records from before 2026-12-01 lack it) and "seconds" of
    training (a resumed run's included; before 2026-12-01 only its last segment); with a curve also
    "curve": [{"step", "scoring", "MAP", "R@10"}], "best_step", "scored_step"}}; with ``settings.score_last``
    and a kept best step also "clir@last", the last step's "clir".
    """
    if (stored := _stored_scores(run, settings)) is not None:
        return stored
    shared = _shared(settings, run.language)
    last_state = None
    if run.objective in UNTRAINED:
        student, log = shared.teacher, {}
    else:
        student, log, last_state = _train_student(run, settings, shared, progress)
    tokenizer = shared.teacher.tokenizer
    lexicon = run_lexicon(run, settings, shared) if run.objective == "dictionary-translate" else None

    def translate(text: str) -> str:
        return translate_words(text, lexicon, tokenizer) if lexicon is not None else text

    def clir(queries: dict[str, str], scorings: tuple[str, ...]) -> dict[str, dict[str, dict[str, float]]]:
        """{scoring: {measure: {qid: value}}}, the queries encoded once for all scorings."""
        searches = {scoring: shared.searches[scoring] for scoring in scorings}
        runs = search_each(searches, student, {qid: translate(text) for qid, text in queries.items()})
        return {
            scoring: evaluate(shared.collection.qrels, run, DEFAULT_MEASURES, per_query=True)[1]
            for scoring, run in runs.items()
        }

    queries = shared.collection.queries
    scores = {
        "clir": clir(queries, settings.scorings),
        "switched": {
            str(rate): {
                name: _mean(values)
                for name, values in clir(_switched(queries, shared, rate), ("dense",))["dense"].items()
            }
            for rate in settings.switch_rates
        },
        "bitext": _bitext_recall(student, shared, translate) if settings.bitext_pairs else {},
        "training": log,
    }
    if last_state is not None:
        student.load_state_dict(last_state)
        scores["clir@last"] = clir(queries, settings.scorings)
    elif settings.score_last and run.objective in UNTRAINED:
        scores["clir@last"] = scores["clir"]  # no steps: the same system at every budget
    identity = {"spec": settings.spec(run).to_dict(), "evaluation": settings.evaluation(run.language).to_dict()}
    scores = {**identity, **scores}
    _store_scores(scores, _score_files(run, settings)[0])
    if not settings.keep_checkpoints:  # only now: a run killed while it was scored resumes without training again
        (settings.checkpoint_dir(run) / CHECKPOINT_NAME).unlink(missing_ok=True)
    return scores


def study_checkpoint(run: StudyRun, settings: StudySettings, *, progress: bool = True) -> Path:
    """The ``last.pt`` of ``run`` trained for its whole budget under ``settings``, without a curve (the
    common budget's weights), for systems built on a study's students (``best_system.ipynb``).

    Trained only when missing; a killed run resumes from its checkpoint, and a finished one is not
    trained again. The scores of :func:`score_run` are neither read nor written.
    """
    if run.objective in UNTRAINED:
        raise ValueError(f"{run.objective} trains no student")
    settings = replace(settings, curve_every=0, keep_checkpoints=True)
    checkpoint = settings.checkpoint_dir(run) / CHECKPOINT_NAME
    finished = checkpoint.with_name("finished")
    if not finished.exists():
        _train_student(run, settings, _shared(settings, run.language), progress)
        finished.touch()
    return checkpoint


def fill_cache(runs: list[StudyRun], settings: StudySettings, *, workers: int) -> None:
    """Train and score the runs whose scores are not kept yet in ``workers`` processes at once, each with its own runs.

    One small student leaves most of a GPU idle; several processes sharing it finish a study sooner.
    The shared parts (documents encoded, lexicons) are built here first so that workers read them
    from ``work_dir``; each worker keeps ``torch.get_num_threads() // workers`` CPU threads (at least 1).
    Results are the kept scores (records or cache), so a killed pool loses only the runs in flight.
    """
    missing = [run for run in runs if not any(path.exists() for path in _score_files(run, settings))]
    if not missing:
        return
    for language in sorted({run.language for run in missing}):
        _shared(settings, language).prepare()
        if settings.curve_every:
            _shared(_curve_settings(settings), language).prepare()
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, torch.get_num_threads() // workers)
    context = multiprocessing.get_context("spawn")  # CUDA cannot be forked
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=torch.set_num_threads, initargs=(threads,)
    ) as pool:
        for future in [pool.submit(_score_quietly, run, settings) for run in missing]:
            future.result()  # re-raises a worker's error


def _score_quietly(run: StudyRun, settings: StudySettings) -> None:
    score_run(run, settings, progress=False)


def run_overview(runs: list[StudyRun], settings: StudySettings) -> pd.DataFrame:
    """Per trained run: ``label``, ``seed``, ``steps``, ``best_step`` and ``best_dev_MAP`` (the dense dev curve's
    peak, with a curve), ``scored_step``, ``device``, ``precision`` and training ``seconds`` (runs cached before
    devices or precisions were logged: "unrecorded"; before 2026-12-01 ``seconds`` counted only the last
    process of a resumed run)."""
    rows = []
    for run in runs:
        if run.objective in UNTRAINED:
            continue
        log = score_run(run, settings, progress=False)["training"]
        dense = [point["MAP"] for point in log.get("curve", []) if point["scoring"] == "dense"]
        rows.append(
            {
                "label": run.label,
                "seed": run.seed,
                "steps": len(log["loss"]),
                "best_step": log.get("best_step"),
                "best_dev_MAP": max(dense, default=None),
                "scored_step": log.get("scored_step", len(log["loss"])),
                "device": log.get("device", "unrecorded"),
                "precision": log.get("precision", "unrecorded"),
                "seconds": log.get("seconds"),
            }
        )
    return pd.DataFrame(rows)


def kl_targets(
    language: str, train_pairs: int, seed: int, recipes: list[dict], settings: StudySettings, *, batch_size: int = 32
) -> pd.DataFrame:
    """How peaked KL's teacher target is under each recipe: mean entropy (nats) and mass on the pair's own
    sentence, over random batches of the run's training pairs plus each pair's hard negatives.

    recipes: KL's settings per variant (``kl_temperature``, ``hard_negatives``; ``KLSettings``). The
    teacher (``settings.teacher`` at ``settings.max_length_for(language)``) and its sentence vectors are the ones
    training caches under ``settings.work_dir``.
    """
    from optical.hard_negatives import mine_hard_negatives, teacher_score_distribution

    training = load_bible_bitext(language).select(bible_splits(language)["train"])
    english = [pair.english for pair in sample_pairs(training, train_pairs, seed)]
    teacher = TokenEncoder(settings.teacher, max_length=settings.max_length_for(language)).eval().requires_grad_(False)
    order = np.random.default_rng(seed).permutation(len(english)).tolist()
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    cache_dir, rows = Path(settings.work_dir) / "teacher_states", []
    for recipe in recipes:
        kl = OBJECTIVES["kl"].make_settings(recipe)
        negatives = mine_hard_negatives(teacher, english, kl.hard_negatives, cache_dir=cache_dir)
        target = teacher_score_distribution(negatives, batches, kl.kl_temperature)
        label = StudyRun(language, "kl", recipe=tuple(sorted(recipe.items()))).label
        rows.append({"label": label, "temperature": kl.kl_temperature, "hard negatives": kl.hard_negatives, **target})
    return pd.DataFrame(rows)


def _mean(values: dict[str, float]) -> float:
    """The mean of per-query values."""
    return float(np.mean(list(values.values())))


def run_study(
    runs: list[StudyRun], settings: StudySettings, *, progress: bool = True, workers: int = 1
) -> pd.DataFrame:
    """Score every run; long form: the run's fields, ``label``, ``query_set``, ``scoring``, ``measure``, ``value``.

    query_set: ``clean`` (CLIR, one row per scoring), ``clean@last`` (the same at the last step, with
    ``settings.score_last``), ``switch=<rate>`` (code-switched CLIR, dense), ``bitext`` (recall of pooled
    vectors, dense). ``workers`` > 1 trains the runs not kept yet in that many processes first
    (:func:`fill_cache`).
    """
    if workers > 1:
        fill_cache(runs, settings, workers=workers)
    rows = []
    for run in runs:
        scores = score_run(run, settings, progress=progress)
        base = {**asdict(run), "label": run.label}
        for query_set, key in (("clean", "clir"), ("clean@last", "clir@last")):
            for scoring, measures in scores.get(key, {}).items():
                rows += [
                    {**base, "query_set": query_set, "scoring": scoring, "measure": measure, "value": _mean(values)}
                    for measure, values in measures.items()
                ]
        for rate, means in scores["switched"].items():
            rows += [
                {**base, "query_set": f"switch={rate}", "scoring": "dense", "measure": m, "value": v}
                for m, v in means.items()
            ]
        rows += [
            {**base, "query_set": "bitext", "scoring": "dense", "measure": m, "value": v}
            for m, v in scores["bitext"].items()
        ]
    return pd.DataFrame(rows)


def learning_curves(runs: list[StudyRun], settings: StudySettings) -> pd.DataFrame:
    """The dev curves of trained runs (``settings.curve_every`` > 0), long form: the run's fields, ``label``,
    ``step``, ``scoring``, ``measure`` (MAP, R@10), ``value`` and ``reference`` (False).

    Untrained runs (zero-shot, dictionary-translate) are flat reference lines (``reference`` True) from
    step 0 to the last step of the trained runs: their scores on the curve's own dev queries (the first
    ``curve_queries`` of the study's query draw).
    """
    rows, references = [], []
    for run in runs:
        base = {**asdict(run), "label": run.label}
        if run.objective in UNTRAINED:
            references.append((run, base))
            continue
        for point in score_run(run, settings)["training"]["curve"]:
            point_base = {**base, "step": point["step"], "scoring": point["scoring"], "reference": False}
            rows += [{**point_base, "measure": m, "value": point[m]} for m in ("MAP", "R@10")]
    last_step = max((row["step"] for row in rows), default=0)
    if references and settings.curve_queries > settings.num_queries:
        raise ValueError("reference lines are scored on the curve's queries: need curve_queries <= num_queries")
    languages = {run.language for run, _ in references}
    curve_queries = {language: _curve_query_ids(settings, language) for language in languages}  # loaded once each
    for run, base in references:
        clir = score_run(run, settings)["clir"]
        for scoring in settings.scorings:
            for measure in ("MAP", "R@10"):
                value = float(np.mean([clir[scoring][measure][qid] for qid in curve_queries[run.language]]))
                rows += [
                    {**base, "step": step, "scoring": scoring, "measure": measure, "value": value, "reference": True}
                    for step in (0, last_step)
                ]
    return pd.DataFrame(rows)


def _curve_query_ids(settings: StudySettings, language: str) -> list[str]:
    """The ids of the dev queries a learning curve scores: the first ``curve_queries`` of the study's draw."""
    held_out = load_bible_bitext(language).select(bible_splits(language)["dev"])
    collection = bible_clir_collection(held_out, name="curve", num_queries=settings.curve_queries)
    return list(collection.queries)


def curve_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per label and scoring: the step where mean dev MAP peaks, MAP and R@10 there, and MAP at the last point.

    curves: rows of :func:`learning_curves` (reference lines left out); MAP and R@10 are means over seeds
    at each step.
    """
    curves = curves[~curves.reference] if "reference" in curves else curves
    means = curves.pivot_table(index=["label", "scoring", "step"], columns="measure", values="value", sort=False)
    rows = []
    for (label, scoring), part in means.groupby(level=["label", "scoring"], sort=False):
        part = part.droplevel(["label", "scoring"]).sort_index()
        peak = part["MAP"].idxmax()
        rows.append(
            {
                "label": label,
                "scoring": scoring,
                "peak step": peak,
                "MAP at peak": part.loc[peak, "MAP"],
                "R@10 at peak": part.loc[peak, "R@10"],
                "last step": part.index[-1],
                "MAP at last": part["MAP"].iloc[-1],
            }
        )
    return pd.DataFrame(rows)


def training_logs(runs: list[StudyRun], settings: StudySettings) -> pd.DataFrame:
    """Per training step of every trained run: ``label``, ``seed``, ``step``, ``loss``, ``pooled_cosine``,
    ``plan_entropy`` (NaN without a plan)."""
    frames = []
    for run in runs:
        if run.objective in UNTRAINED:
            continue
        log = score_run(run, settings)["training"]
        per_step = pd.DataFrame({name: log[name] for name in ("loss", "pooled_cosine", "plan_entropy")})
        frames.append(per_step.assign(label=run.label, seed=run.seed, step=np.arange(1, len(per_step) + 1)))
    return pd.concat(frames, ignore_index=True)


def seed_summary(scores: pd.DataFrame, by: tuple[str, ...] = ("language", "label", "train_pairs")) -> pd.DataFrame:
    """Mean, standard deviation (ddof 1) and number of seeds of every measure and query set."""
    keys = [*by, "query_set", "scoring", "measure"]
    return scores.groupby(keys, sort=False)["value"].agg(mean="mean", std="std", seeds="count").reset_index()


def significance(
    runs: list[StudyRun],
    settings: StudySettings,
    *,
    reference: str = "ot",
    measure: str = "MAP",
    scoring: str = "dense",
    query_set: str = "clean",
) -> pd.DataFrame:
    """Paired randomisation test over queries: ``reference`` against every other label, under one scoring.

    Each label's per-query ``measure`` is averaged over its seeds first; rows give both means, the
    difference and the two-sided p-value. query_set: ``clean`` (each run at its scored step) or
    ``clean@last`` (at its last step; untrained runs have no steps and use ``clean``).
    """
    per_label: dict[str, list[pd.Series]] = {}
    for run in runs:
        scores = score_run(run, settings, progress=False)
        clir = scores.get("clir@last", scores["clir"]) if query_set == "clean@last" else scores["clir"]
        values = pd.Series(clir[scoring][measure])
        per_label.setdefault(run.label, []).append(values)
    means = {label: pd.concat(series, axis=1).mean(axis=1) for label, series in per_label.items()}
    if reference not in means:
        raise ValueError(f"no run labelled {reference!r}; labels: {sorted(means)}")
    rows = []
    for label, values in means.items():
        if label == reference:
            continue
        ref, other = means[reference].align(values, join="inner")
        rows.append(
            {
                "reference": reference,
                "baseline": label,
                f"{measure} reference": ref.mean(),
                f"{measure} baseline": other.mean(),
                "difference": ref.mean() - other.mean(),
                "p-value": paired_randomization_test(ref.to_numpy(), other.to_numpy()),
                "queries": len(ref),
            }
        )
    return pd.DataFrame(rows)


def to_results_rows(scores: pd.DataFrame, study: str, split: str) -> pd.DataFrame:
    """The study's rows in ``results.csv`` form: the label as objective, the query set in the measure name."""
    measure = scores.measure.where(scores.query_set == "clean", scores.query_set + ":" + scores.measure)
    return pd.DataFrame(
        {
            "study": study,
            "language": "en-" + scores.language,
            "objective": scores.label,
            "train_pairs": scores.train_pairs.where(~scores.objective.isin(NO_BITEXT), 0),
            "epochs": scores.epochs.where(~scores.objective.isin(UNTRAINED), 0),
            "seed": scores.seed,
            "split": split,
            "scoring": scores.scoring,
            "measure": measure,
            "value": scores.value,
        }
    )


def mean_std_table(
    summary: pd.DataFrame,
    measures: tuple[str, ...],
    *,
    query_set: str = "clean",
    scoring: str = "dense",
    index: str | list[str] = "label",
) -> pd.DataFrame:
    """``index`` x measure cells written ``mean ± std (n)`` for the notebooks' tables, under one scoring.

    index: one column or several (e.g. ``["label", "train_pairs"]``); rows keep the summary's order.
    """
    rows = summary[(summary.query_set == query_set) & (summary.scoring == scoring) & summary.measure.isin(measures)]
    cells = rows.assign(
        cell=[
            f"{m:.4f} ± {s:.4f} ({n})" if n > 1 else f"{m:.4f} (1)"
            for m, s, n in zip(rows["mean"], rows["std"], rows.seeds, strict=True)
        ]
    )
    order = rows[index].drop_duplicates()
    order = pd.MultiIndex.from_frame(order) if isinstance(index, list) else order
    return cells.pivot(index=index, columns="measure", values="cell").loc[order, list(measures)]


def by_switch_rate(summary: pd.DataFrame) -> pd.DataFrame:
    """The dense CLIR rows of a summary with a ``rate`` column: 0 for the clean queries, r for ``switch=r``."""
    rows = summary[(summary.query_set == "clean") | summary.query_set.str.startswith("switch=")]
    rows = rows[rows.scoring == "dense"]
    rate = rows.query_set.str.removeprefix("switch=").replace("clean", "0").astype(float)
    return rows.assign(rate=rate, query_set="clean")
