"""A run's identity: what trains a student and how it is scored, each a frozen specification hashed whole.

A :class:`RunSpec` holds everything that decides a student's weights (data, models, the objective with every one
of its settings, training, the seed, and how a learning curve picks the scored step); an :class:`EvaluationSpec`
holds how a student is scored (collection, queries, scorings). Each is hashed canonically over all its fields,
defaults included, so a changed default can never relabel a run. Checkpoints are named by the run's key alone,
so scoring an existing student another way never trains it again; records are named by both keys and hold both
specifications whole.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from optical.files import canonical_key
from optical.train import RESUMABLE_ELSEWHERE, TrainConfig


class _Specification:
    """What both specifications share: a JSON form (as records and checkpoints hold it) and its key."""

    def to_dict(self) -> dict:
        """Every field, as JSON reads it back (tuples as lists)."""
        return json.loads(json.dumps(asdict(self)))

    def key(self) -> str:
        return canonical_key(self.to_dict())


@dataclass(frozen=True)
class RunSpec(_Specification):
    """What decides a trained student's weights (for an untrained system, what it reads: its model and lexicon).

    objective_settings: every setting of the objective (``optical.losses``), defaults included; training: every
    setting of :class:`~optical.train.TrainConfig` but the objective's and where the run trains; selection: how a
    learning curve on the dev books picks the scored weights (empty when the last step's are scored).
    """

    language: str
    bitext: str  # "bible" (the packaged pair and its book splits) or a file's name and SHA-256
    train_pairs: int  # training pairs drawn with the seed (0: none)
    augment_rate: float  # > 0: a code-switched copy of each pair with this share of words in English
    pretraining: dict  # masked-LM pre-training on the training books' foreign side first: a PretrainConfig; {}: none
    teacher: str
    student: str
    max_length: int
    objective: str
    objective_settings: dict
    training: dict
    selection: dict
    seed: int

    @classmethod
    def trained(cls, config: TrainConfig, *, selection: dict | None = None, **data) -> RunSpec:
        """The spec of a student ``config`` trains on ``data`` (language, bitext, train_pairs, augment_rate,
        pretraining, teacher, student, max_length)."""
        training = {
            name: value
            for name, value in asdict(config).items()
            if name not in ("objective", "objective_settings", "seed", *RESUMABLE_ELSEWHERE)
        }
        return cls(
            **data,
            objective=config.objective,
            objective_settings=asdict(config.settings()),
            training=training,
            selection=selection or {},
            seed=config.seed,
        )


@dataclass(frozen=True)
class EvaluationSpec(_Specification):
    """How a student is scored: the held-out collection, its queries, the scorings and the extra query sets."""

    collection: str  # e.g. bible-en-ny-test
    num_queries: int
    scorings: tuple[str, ...]
    switch_rates: tuple[float, ...]  # code-switched query sets (dense)
    lexicon_pairs: int  # training pairs of the lexicon that switches them
    bitext_pairs: int  # held-out pairs of bitext retrieval (0: none)
    score_last: bool  # with a curve: the last step's weights scored too
