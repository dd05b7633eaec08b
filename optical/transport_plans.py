"""Transport plans of held-out verse pairs, scored against reference word links before and after training.

The reference is the human alignment where the language has one (Greek, :mod:`optical.data.greek`)
and eflomal's links otherwise; against human links eflomal is scored as one more aligner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from optical.alignment import SoftAlignment, soft_alignment
from optical.data import BitextPair, books, sample_pairs
from optical.data.greek import GREEK, aligned_verses
from optical.encoders import DEFAULT_MAX_LENGTH, DEFAULT_MODEL, TokenEncoder
from optical.files import kept_file
from optical.plots import plot_transport_plan
from optical.results import NO_SCORING, record_results, setting
from optical.task import Task
from optical.train import CHECKPOINT_NAME, SPEC_NAME, TrainConfig, load_student_weights
from optical.word_alignment import Links, agreement, eflomal_links, hard_links, human_links, plan_links, pretokenize

MEASURES = ["precision", "recall", "f1", "aer"]


@dataclass
class TransportPlanConfig:
    """Soft token alignments of a trained student against reference word links (human or eflomal)."""

    language: str = "ny"  # ny | es | grc (Greek: scored against human word alignments); any with your own bitext
    train_bitext: str = ""  # a TSV (English, foreign) eflomal learns from; "" for the Bible's training books
    held_out_bitext: str = ""  # a TSV of the pairs drawn and scored; "" for the Bible's split books
    checkpoint: str = ""  # a training checkpoint (last.pt); empty: the newest main-job checkpoint of the language
    teacher: str = DEFAULT_MODEL  # all-MiniLM-L6-v2 | multilingual-e5-small (packaged) | a local Hugging Face folder
    student: str = DEFAULT_MODEL  # the model the checkpoint's student started from
    split: str = "test"  # held-out books the pairs come from: dev | test
    num_shown: int = 3  # pairs drawn as heatmaps
    num_scored: int = 100  # held-out pairs whose links are scored
    reference_pairs: int = 5000  # training pairs eflomal learns from
    epsilon: float = 0.02  # Sinkhorn regularisation of the plans
    max_length: int = DEFAULT_MAX_LENGTH  # tokens per sentence, as in training
    out_dir: str = "figures"
    work_dir: str = ".cache/optical"


@dataclass
class HeldOutPlans:
    """What the plans are drawn from: held-out pairs with their reference links, and the encoders.

    references[k]: the word links (English word, foreign word) of pairs[k], between the words of the
    teacher's and the student's tokenizers: human links where the language has them, else eflomal's (learned
    from the scored pairs and the training pairs together). aligners[name][k]: an aligner's links for pairs[k],
    scored beside the students when the reference is human: ``eflomal`` learned from the training pairs only,
    ``eflomal, transductive`` from the scored pairs too (an upper reference).
    """

    pairs: list[BitextPair]
    references: list[Links]
    teacher: TokenEncoder
    untrained: TokenEncoder  # the student before training (a copy of the model it starts from)
    trained: TokenEncoder
    checkpoint: Path  # where ``trained`` was loaded from
    reference_name: str = "eflomal"  # eflomal | human
    aligners: dict[str, list[Links]] = field(default_factory=dict)
    eflomal_training_pairs: int = 0  # training pairs eflomal learned from


def saved_checkpoints(work_dir: str | Path, runs: str = "*") -> dict[str, Path]:
    """Every ``last.pt`` under ``work_dir/checkpoints`` whose run folder matches the glob ``runs``, newest first."""
    found = Path(work_dir, "checkpoints").glob(f"{runs}/{CHECKPOINT_NAME}")
    return {path.parent.name: path for path in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)}


def latest_checkpoint(work_dir: str | Path, language: str, student: str | None = None) -> Path:
    """The newest ``last.pt`` of a main-job run for ``language`` under ``work_dir``; with ``student``, of a run
    whose specification (``spec.json`` beside it) names that student model, or that has none (a checkpoint of
    before 2026-12-06, or of train() called without a spec)."""
    found = saved_checkpoints(work_dir, f"main-en-{language}-*")
    if student is not None:
        found = {name: path for name, path in found.items() if _spec_field(path, "student") in (student, None)}
    if not found:
        which = f"en-{language} student" + (f" from {student}" if student else "")
        raise FileNotFoundError(f"no trained {which} under {work_dir}/checkpoints: run the main job first")
    return next(iter(found.values()))


def _spec_field(checkpoint: Path, name: str) -> str | None:
    """A field of the run specification beside a checkpoint (``spec.json``; None without one)."""
    spec = checkpoint.with_name(SPEC_NAME)
    return json.loads(spec.read_text())[name] if spec.exists() else None


def load_student(model: str, checkpoint: str | Path, max_length: int = DEFAULT_MAX_LENGTH) -> TokenEncoder:
    """A student encoder built from ``model`` with the weights of a training checkpoint."""
    return load_student_weights(TokenEncoder(model, max_length=max_length), checkpoint)


def task_of(config: TransportPlanConfig) -> Task:
    """The bitext the plans are drawn from (held-out pairs) and eflomal learns from (training pairs)."""
    return Task(
        config.language, split=config.split, train_bitext=config.train_bitext, held_out_bitext=config.held_out_bitext
    )


def load_held_out_plans(config: TransportPlanConfig) -> HeldOutPlans:
    """Draw the scored held-out pairs (6-20 English words), align them with eflomal, load the encoders.

    For a language with human alignments (Greek) those are the references, and eflomal's links are kept beside
    them twice: learned from the training pairs only, and learned from the scored pairs too.
    """
    task = task_of(config)
    scored = [pair for pair in task.held_out if 6 <= len(pair.english.split()) <= 20]
    scored = sample_pairs(scored, config.num_scored, seed=0)
    learn_from = task.training_pairs(config.reference_pairs, seed=0)
    teacher = TokenEncoder(config.teacher, max_length=config.max_length)
    untrained = TokenEncoder(config.student, max_length=config.max_length)
    checkpoint = Path(config.checkpoint or latest_checkpoint(config.work_dir, config.language, config.student))
    trained = load_student(config.student, checkpoint, config.max_length)

    def words(pairs: list[BitextPair]) -> tuple[list[list[str]], list[list[str]]]:
        """The pairs' English and foreign sides split into the teacher's and the student's words."""
        english = [pretokenize(teacher.tokenizer, pair.english) for pair in pairs]
        return english, [pretokenize(untrained.tokenizer, pair.foreign) for pair in pairs]

    keep = partial(kept_file, work_dir=config.work_dir, records_dir=config.out_dir)  # eflomal takes no seed
    transductive = eflomal_links(*words(scored), alongside=words(learn_from), keep=keep)
    encoders = (teacher, untrained, trained, checkpoint)
    if config.language != GREEK or not task.held_out_from_bible:
        return HeldOutPlans(scored, transductive, *encoders, eflomal_training_pairs=len(learn_from))
    verses = aligned_verses(books())
    human = [human_links(verses[pair.pair_id], teacher.tokenizer, untrained.tokenizer) for pair in scored]
    aligners = {
        "eflomal": eflomal_links(*words(scored), learn_from=words(learn_from), keep=keep),
        "eflomal, transductive": transductive,
    }
    return HeldOutPlans(scored, human, *encoders, "human", aligners, len(learn_from))


def links_within(alignment: SoftAlignment, reference: Links) -> Links:
    """The reference links between words that carry tokens in the plan (links to words cut off by truncation
    cannot be predicted and are left out)."""
    english, foreign = set(alignment.english_word_ids), set(alignment.foreign_word_ids)
    return {(i, j) for i, j in reference if i in english and j in foreign}


def run_transport_plans(config: TransportPlanConfig, plans: HeldOutPlans | None = None) -> pd.DataFrame:
    """Plans before and after training, and their hard counterparts, against the reference links.

    Each student's links are read two ways: ``plan``, the mutual-argmax word links of the OT plan, and
    ``greedy``, the word pairs of the greedy one-to-one token matching by 1 - cos. Against human links
    eflomal's links are scored too. plans: from :func:`load_held_out_plans` (loaded here when not given).
    Writes ``transport_plans_en-<lang>.png`` and ``alignment_agreement_en-<lang>.md`` and records the
    mean link precision, recall, F1 and AER in ``results.csv`` (study ``alignment``, or
    ``alignment-human`` against human links; objectives ``zero-shot``, the checkpoint's run as its settings name
    it (:attr:`TrainConfig.label`, e.g. ``ot`` or ``ot[word_embeddings=trim]``), each with `` greedy``, and the
    eflomal rows).
    """
    plans = plans or load_held_out_plans(config)
    if plans.trained.trained_by is None:
        raise ValueError(f"{plans.checkpoint} records no training configuration: give a checkpoint that train() wrote")
    trained = TrainConfig.from_flat(plans.trained.trained_by).label  # what the checkpoint says trained it
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, shown = [], []
    for k, (pair, reference) in enumerate(zip(plans.pairs, plans.references, strict=True)):
        for objective, student in (("zero-shot", plans.untrained), (trained, plans.trained)):
            alignment = soft_alignment(plans.teacher, student, pair.english, pair.foreign, epsilon=config.epsilon)
            greedy = soft_alignment(plans.teacher, student, pair.english, pair.foreign, hard=True)
            kept = links_within(alignment, reference)
            rows.append({"objective": objective, **agreement(plan_links(alignment), kept)})
            rows.append({"objective": f"{objective} greedy", **agreement(hard_links(greedy), kept)})
            if len(shown) < 2 * config.num_shown:
                shown.append((pair.pair_id, objective, alignment, kept))
        for name, links in plans.aligners.items():
            rows.append({"objective": name, **agreement(links_within(alignment, links[k]), kept)})
    scores = pd.DataFrame(rows).groupby("objective", sort=False)[MEASURES].mean()

    _plot_shown(shown, out_dir / f"transport_plans_en-{config.language}.png", plans.reference_name)
    eflomal_note = (
        f"; `eflomal`: its links (both directions intersected) learned from {plans.eflomal_training_pairs:,} "
        "training pairs only (their links as priors; the scored pairs aligned with them alone); `eflomal, "
        "transductive`: learned from the scored pairs and those training pairs together, an upper reference"
        if plans.aligners
        else f"; eflomal learned from them and {plans.eflomal_training_pairs:,} training pairs"
    )
    (out_dir / f"alignment_agreement_en-{config.language}.md").write_text(
        f"# Transport plans vs {plans.reference_name} links, en-{config.language}\n\n"
        f"Word links against {_REFERENCE_TEXT[plans.reference_name]}, mean over {len(plans.pairs)} held-out "
        f"{config.split} pairs{eflomal_note}. `zero-shot`: the untrained student; `{trained}`: the student of "
        f"checkpoint `{plans.checkpoint.parent.name}`. "
        f"A student's links are the plan's mutual-argmax word pairs (epsilon {config.epsilon}), or with "
        "`greedy` the word pairs of the greedy one-to-one token matching by 1 - cos. Links to words cut off "
        "by truncation are left out of the reference. AER = 1 - F1 here (every reference link is sure).\n\n"
        + scores.to_markdown(floatfmt=".3f")
        + "\n",
        encoding="utf-8",
    )
    long = scores.reset_index().melt(id_vars="objective", var_name="measure", value_name="value")
    long["measure"] = "link_" + long["measure"]
    bitext = _spec_field(plans.checkpoint, "bitext") or task_of(config).bitext  # what trained the student
    long = long.assign(
        study="alignment" if plans.reference_name == "eflomal" else f"alignment-{plans.reference_name}",
        language=f"en-{config.language}",
        **setting(bitext, config.teacher, config.student),
        train_pairs=0,
        epochs=0,
        seed=0,
        split=config.split,
        scoring=NO_SCORING,
    )
    record_results(long, out_dir / "results.csv")
    return scores


_REFERENCE_TEXT = {
    "eflomal": "eflomal's intersected links",
    "human": "the human word alignments of SBLGNT and the Berean Standard Bible (every word of a linked English "
    "unit with every word of its Greek unit)",
}


def _plot_shown(shown, path: Path, reference_name: str) -> None:
    count = len(shown) // 2
    figure, axes = plt.subplots(count, 2, figsize=(16, 5.5 * count), squeeze=False)
    for k, (pair_id, objective, alignment, reference) in enumerate(shown):
        stage = "before training" if objective == "zero-shot" else f"{objective} student"
        title = f"{pair_id}, {stage}: <T,C> = {alignment.cost:.3f}"
        plot_transport_plan(
            alignment, title=f"{title} (red: {reference_name} links)", ax=axes[k // 2][k % 2], reference=reference
        )
    figure.savefig(path, dpi=110)
    plt.close(figure)
