"""Training a study's student: its pairs (augmented, pre-trained), its TrainConfig, and a learning curve on
the dev books that keeps the best step's weights.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from optical.codeswitch import code_switch
from optical.data import BitextPair
from optical.encoders import TokenEncoder
from optical.metrics import evaluate
from optical.pretrain import mlm_pretrain
from optical.search import search_each
from optical.study.data import StudyData, run_lexicon, study_data
from optical.study.settings import UNTRAINED, StudyRun, StudySettings
from optical.train import CHECKPOINT_NAME, device_name, train, training_precision, weights_only_checkpoint


def curve_settings(settings: StudySettings) -> StudySettings:
    """The settings a learning curve scores with: the Bible's verse collection of the dev books (also for a study
    scored on another collection, whose queries must not choose the step), ``curve_queries`` queries."""
    dev_verses = {"split": "dev", "collection": "", "bible_collection": "verse"}
    return replace(settings, num_queries=settings.curve_queries, curve_every=0, **dev_verses)


def train_student(
    run: StudyRun, settings: StudySettings, shared: StudyData, progress: bool
) -> tuple[TokenEncoder, dict, dict[str, torch.Tensor] | None]:
    """The trained student (at its best dev step when a curve keeps it), its training log, and the last
    step's weights when ``settings.score_last`` asks for them (else None)."""
    torch.manual_seed(run.seed)
    max_length = settings.max_length_for(run.language)
    student = TokenEncoder(settings.student, max_length=max_length, output_dim=shared.teacher.dim)
    pairs = shared.task.training_pairs(run.train_pairs, run.seed)
    checkpoint_dir = settings.checkpoint_dir(run)
    if run.pretraining and not (checkpoint_dir / CHECKPOINT_NAME).exists():  # a checkpoint holds the adapted weights
        foreign = [pair.foreign for pair in shared.training]
        mlm_pretrain(student, foreign, run.pretrain_config, seed=run.seed, progress=progress)
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
    teacher_cache = Path(settings.work_dir) / "teacher_states" if settings.cache_teacher_states else None
    curve = None
    if settings.curve_every:
        curve = LearningCurve(student, study_data(curve_settings(settings), run.language), settings)
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

    def __init__(self, student: TokenEncoder, dev: StudyData, settings: StudySettings) -> None:
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


def trained_student(run: StudyRun, settings: StudySettings, *, progress: bool = True) -> TokenEncoder:
    """``run``'s student as its study scores it (at its best dev step when ``settings`` keep a curve), for systems
    built on a study's students (``best_system.ipynb``): read from its kept weights, trained only when they are
    missing (and then kept as :func:`settle_checkpoint` keeps a scored run's). A run's scores are neither read nor
    written here."""
    if run.objective in UNTRAINED:
        raise ValueError(f"{run.objective} trains no student")
    student = train_student(run, settings, study_data(settings, run.language), progress)[0]
    settle_checkpoint(run, settings)
    return student


def settle_checkpoint(run: StudyRun, settings: StudySettings) -> None:
    """Once a run is done, keep of its ``last.pt`` what ``settings`` ask: all of it (``keep_checkpoints``), its
    weights and curve (``keep_weights``: scored another way without training), or nothing."""
    checkpoint = settings.checkpoint_dir(run) / CHECKPOINT_NAME
    if checkpoint.exists() and not settings.keep_checkpoints:
        if settings.keep_weights:
            weights_only_checkpoint(checkpoint)
        else:
            checkpoint.unlink()
