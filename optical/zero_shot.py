"""Encoders that need no training, on the Bible collections: the paper's zero-shot multilingual baseline, and
the language gap that distillation exists to close.

For each model, each collection's foreign queries and, as an oracle, the same queries in English (the KJV or
BSB side of each query verse) search the same English documents, dense and MaxSim. On the verse collection
the English query is a verse of its relevant passage word for word, so its row is a ceiling of matching a
text with itself; on the paraphrase and topical collections (WEB documents) it is the English model's own
paraphrase or topical retrieval. ``random`` is the score of a uniformly random ranking.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from optical.benchmark import BIBLE_COLLECTIONS
from optical.data.topical import random_map
from optical.encoders import DEFAULT_MAX_LENGTH, TokenEncoder
from optical.results import NO_SCORING, NONE
from optical.search import SCORINGS, DocumentSearch, SearchSettings, search_each
from optical.task import Task

__all__ = [
    "ENGLISH_QUERIES",
    "kind_table",
    "zero_shot_answer",
    "zero_shot_markdown",
    "zero_shot_results",
    "zero_shot_table",
]

ENGLISH_QUERIES = ", English queries"  # the oracle rows' suffix to the model name


def zero_shot_results(
    models: list[str],
    language: str,
    *,
    split: str = "test",
    num_queries: int = 500,
    collections: tuple[str, ...] = BIBLE_COLLECTIONS,
    scorings: tuple[str, ...] = SCORINGS,
    max_length: int = DEFAULT_MAX_LENGTH,
    work_dir: str | os.PathLike = ".cache/optical",
) -> pd.DataFrame:
    """Long-form results rows (study ``zero-shot-models``, split = each collection's label, its query groups
    included): each model on the foreign queries (objective = the model's name) and on their English sides
    (name + :data:`ENGLISH_QUERIES`), under each scoring, the model as teacher and student, no bitext; and the random
    ranking's MAP (objective ``random``, scoring, bitext and models ``-``)."""
    task = Task(language, split=split, bible_collections=collections, num_queries=num_queries)
    english_of = {pair.pair_id: pair.english for pair in task.held_out}
    benchmarks = task.benchmarks
    rows = [
        (benchmark.label, NONE, "random", NO_SCORING, "MAP", random_map(benchmark.collection))
        for benchmark in benchmarks
    ]
    for model in models:
        encoder = TokenEncoder(model, max_length=max_length).eval().requires_grad_(False)
        for benchmark in benchmarks:
            collection = benchmark.collection
            searches = {
                scoring: DocumentSearch(
                    encoder,
                    collection.documents,
                    SearchSettings(scoring=scoring),
                    cache_dir=Path(work_dir, "embeddings"),
                )
                for scoring in scorings
            }
            english = {qid: english_of[qid] for qid in collection.queries}  # in the queries' order
            for name, queries in ((model, collection.queries), (model + ENGLISH_QUERIES, english)):
                for scoring, run in search_each(searches, encoder, queries).items():
                    rows += [
                        (label, model, name, scoring, measure, value)
                        for label, means in benchmark.scores(run).items()
                        for measure, value in means.items()
                    ]
    table = pd.DataFrame(rows, columns=["split", "teacher", "objective", "scoring", "measure", "value"])
    table = table.assign(study="zero-shot-models", language=f"en-{language}", bitext=NONE, student=table.teacher)
    return table.assign(train_pairs=0, epochs=0, seed=0)


def zero_shot_table(results: pd.DataFrame, measures: tuple[str, ...] = ("MAP", "nDCG@10")) -> pd.DataFrame:
    """Rows (language, collection, system), columns ``<measure> <scoring>``, from :func:`zero_shot_results` rows
    of whole collections (query groups left out); the random ranking's MAP, which no scoring changes, under every
    scoring's MAP."""
    chosen = results[results.measure.isin(measures) & ~results.split.str.contains("/")]
    scorings = [scoring for scoring in dict.fromkeys(chosen.scoring) if scoring != NO_SCORING]
    random = chosen[chosen.scoring == NO_SCORING]
    chosen = pd.concat([chosen[chosen.scoring != NO_SCORING], *(random.assign(scoring=s) for s in scorings)])
    order = list(dict.fromkeys(zip(chosen.language, chosen.split, chosen.objective, strict=True)))
    table = chosen.pivot_table(index=["language", "split", "objective"], columns=["measure", "scoring"], values="value")
    table = table.reindex(index=[key for key in order if key in table.index])
    table.columns = [f"{measure} {scoring}" for measure, scoring in table.columns]
    return table


def kind_table(results: pd.DataFrame, scoring: str = "dense") -> pd.DataFrame:
    """MAP on each query group of a collection (the topical collection's kinds): rows (language, collection,
    system), columns the groups, from :func:`zero_shot_results` rows under ``scoring``."""
    chosen = results[results.split.str.contains("/") & (results.measure == "MAP") & (results.scoring == scoring)]
    collection, group = chosen.split.str.split("/").str[0], chosen.split.str.split("/").str[1]
    return chosen.assign(split=collection, group=group).pivot_table(
        index=["language", "split", "objective"], columns="group", values="value", sort=False
    )


def zero_shot_markdown(table: pd.DataFrame, title: str, kinds: pd.DataFrame | None = None) -> str:
    """:func:`zero_shot_table` (and :func:`kind_table`) as a Markdown file: ``title``, then language, collection and
    system as columns, 4 decimals."""
    names = {"language": "pair", "split": "collection", "objective": "system"}
    body = table.reset_index().rename(columns=names).to_markdown(index=False, floatfmt=".4f")
    text = f"# {title}\n\n" + body.replace(" nan ", "  –  ") + "\n"
    if kinds is not None and len(kinds):
        text += "\n## MAP (dense) by the kind of the query's topics\n\n"
        text += kinds.reset_index().rename(columns=names).to_markdown(index=False, floatfmt=".4f") + "\n"
    return text


def zero_shot_answer(results: pd.DataFrame) -> str:
    """The notebook's answer in Markdown, every number read from ``results`` (MAP, dense and MaxSim, whole
    collections)."""
    results = results[~results.split.str.contains("/")]
    maps = results[results.measure == "MAP"].pivot_table(
        index=["language", "split", "objective"], columns="scoring", values="value", sort=False
    )
    lines = []
    for language, split in dict.fromkeys(zip(results.language, results.split, strict=True)):
        value = maps.loc[(language, split)]
        models = [name for name in value.index if name != "random" and not name.endswith(ENGLISH_QUERIES)]
        parts = []
        for model in models:
            own, oracle = value.loc[model], value.loc[model + ENGLISH_QUERIES]
            parts.append(
                f"**{model}** {own['dense']:.4f} (MaxSim {own['maxsim']:.4f}) with the foreign queries, "
                f"{oracle['dense']:.4f} ({oracle['maxsim']:.4f}) with their English sides"
            )
        random = value.loc["random", NO_SCORING]
        lines.append(
            f"- {language}, `{split}`, MAP dense (MaxSim); random ranking {random:.4f}: " + "; ".join(parts) + "."
        )
    return "\n".join(lines)
