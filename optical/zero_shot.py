"""Encoders that need no training, on the Bible collections: the paper's zero-shot multilingual baseline, and
the language gap that distillation exists to close.

For each model, the collection's foreign queries and, as an oracle, the same queries in English (the KJV or
BSB side of each query verse) search the same English documents, dense and MaxSim. On the verse collection
the English query is a verse of its relevant passage word for word, so its row is a ceiling of matching a
text with itself, not of topical retrieval. ``random`` is the expected score of a uniformly random ranking.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from optical.data import bible_clir_collection, bible_splits, load_bible_bitext
from optical.encoders import DEFAULT_MAX_LENGTH, TokenEncoder
from optical.metrics import DEFAULT_MEASURES, evaluate
from optical.results import NO_SCORING
from optical.search import SCORINGS, DocumentSearch, SearchSettings, search_each

__all__ = [
    "ENGLISH_QUERIES",
    "random_ranking_map",
    "zero_shot_answer",
    "zero_shot_markdown",
    "zero_shot_results",
    "zero_shot_table",
]

ENGLISH_QUERIES = ", English queries"  # the oracle rows' suffix to the model name


def random_ranking_map(documents: int, depth: int = 1000) -> float:
    """Expected AP of a query with one relevant document among ``documents`` ranked uniformly at random,
    evaluated at ``depth``: (1/N) sum_{r <= depth} 1/r."""
    return sum(1 / rank for rank in range(1, min(documents, depth) + 1)) / documents


def zero_shot_results(
    models: list[str],
    language: str,
    *,
    split: str = "test",
    num_queries: int = 500,
    scorings: tuple[str, ...] = SCORINGS,
    max_length: int = DEFAULT_MAX_LENGTH,
    work_dir: str | os.PathLike = ".cache/optical",
) -> pd.DataFrame:
    """Long-form results rows (study ``zero-shot-models``): each model on the foreign queries (objective = the
    model's name) and on their English sides (name + :data:`ENGLISH_QUERIES`), under each scoring; and the
    random ranking's MAP (objective ``random``, scoring ``-``)."""
    held_out = load_bible_bitext(language).select(bible_splits(language)[split])
    collection = bible_clir_collection(held_out, name=f"bible-en-{language}-{split}", num_queries=num_queries)
    english_of = {pair.pair_id: pair.english for pair in held_out}
    english = {qid: english_of[qid] for qid in collection.queries}  # in the queries' order
    rows = [("random", NO_SCORING, "MAP", random_ranking_map(len(collection.documents)))]
    for model in models:
        encoder = TokenEncoder(model, max_length=max_length).eval().requires_grad_(False)
        searches = {
            scoring: DocumentSearch(
                encoder, collection.documents, SearchSettings(scoring=scoring), cache_dir=Path(work_dir, "embeddings")
            )
            for scoring in scorings
        }
        for label, queries in ((model, collection.queries), (model + ENGLISH_QUERIES, english)):
            for scoring, run in search_each(searches, encoder, queries).items():
                means = evaluate(collection.qrels, run, DEFAULT_MEASURES)
                rows += [(label, scoring, measure, value) for measure, value in means.items()]
    table = pd.DataFrame(rows, columns=["objective", "scoring", "measure", "value"])
    return table.assign(
        study="zero-shot-models", language=f"en-{language}", train_pairs=0, epochs=0, seed=0, split=split
    )


def zero_shot_table(results: pd.DataFrame, measures: tuple[str, ...] = ("MAP", "R@10")) -> pd.DataFrame:
    """Rows (language, system), columns ``<measure> <scoring>``, from :func:`zero_shot_results` rows; the random
    ranking's MAP, which no scoring changes, under every scoring's MAP."""
    chosen = results[results.measure.isin(measures)]
    scorings = [scoring for scoring in dict.fromkeys(chosen.scoring) if scoring != NO_SCORING]
    random = chosen[chosen.scoring == NO_SCORING]
    chosen = pd.concat([chosen[chosen.scoring != NO_SCORING], *(random.assign(scoring=s) for s in scorings)])
    order = list(dict.fromkeys(zip(results.language, results.objective, strict=True)))
    table = chosen.pivot_table(index=["language", "objective"], columns=["measure", "scoring"], values="value")
    table = table.reindex(index=[key for key in order if key in table.index])
    table.columns = [f"{measure} {scoring}" for measure, scoring in table.columns]
    return table


def zero_shot_markdown(table: pd.DataFrame, title: str) -> str:
    """:func:`zero_shot_table` as a Markdown file: ``title``, then language and system as columns, 4 decimals."""
    body = table.reset_index().rename(columns={"language": "pair", "objective": "system"})
    return f"# {title}\n\n" + body.to_markdown(index=False, floatfmt=".4f").replace(" nan ", "  –  ") + "\n"


def zero_shot_answer(results: pd.DataFrame) -> str:
    """The notebook's answer in Markdown, every number read from ``results`` (MAP, dense and MaxSim)."""
    maps = results[results.measure == "MAP"].pivot_table(
        index=["language", "objective"], columns="scoring", values="value", sort=False
    )
    lines = []
    for language in dict.fromkeys(results.language):
        value = maps.loc[language]
        models = [name for name in value.index if name != "random" and not name.endswith(ENGLISH_QUERIES)]
        parts = []
        for model in models:
            own, oracle = value.loc[model], value.loc[model + ENGLISH_QUERIES]
            parts.append(
                f"**{model}** {own['dense']:.4f} (MaxSim {own['maxsim']:.4f}) with the foreign queries, "
                f"{oracle['dense']:.4f} ({oracle['maxsim']:.4f}) with their English sides"
            )
        random = value.loc["random", NO_SCORING]
        lines.append(f"- {language}, MAP dense (MaxSim); random ranking {random:.4f}: " + "; ".join(parts) + ".")
    return "\n".join(lines)
