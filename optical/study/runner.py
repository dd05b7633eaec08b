"""Scoring runs: each trained (unless untrained) and scored on CLIR under every scoring, on code-switched
queries and on bitext retrieval, kept as a record; in a process pool when asked; the long tables of them and
their paired significance tests.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from optical.codeswitch import translate_words
from optical.encoders import TokenEncoder
from optical.losses import OBJECTIVES
from optical.metrics import evaluate
from optical.search import search_each
from optical.stats import seed_query_bootstrap
from optical.study.data import StudyData, run_lexicon, study_data, switched_queries
from optical.study.records import record_files, store_scores, stored_scores
from optical.study.settings import UNTRAINED, StudyRun, StudySettings
from optical.study.tables import mean_of, with_holm
from optical.study.training import curve_settings, settle_checkpoint, train_student


def _bitext_recall(student: TokenEncoder, shared: StudyData, translate) -> dict[str, float]:
    """Recall@1 and @10 of each held-out foreign sentence finding its own English translation among all."""
    foreign = student.embed([translate(pair.foreign) for pair in shared.bitext_pairs])  # (N, d)
    scores = foreign @ shared.bitext_english.T  # (N, N)
    rank_of_own = (scores > scores.diagonal()[:, None]).sum(1)  # how many English sentences beat the translation
    return {"R@1": float((rank_of_own < 1).float().mean()), "R@10": float((rank_of_own < 10).float().mean())}


def score_run(run: StudyRun, settings: StudySettings, *, progress: bool = True) -> dict:
    """Train (unless untrained) and score one run, kept by run and settings (a record, else the cache).

    Returns {"clir": {scoring: {measure: {qid: value}}}, "switched": {rate: {measure: mean}} (dense), "switched per
    query": {rate: {measure: {qid: value}}} (records from before 2026-12-06 lack it),
    "bitext": {R@k: value}, "training": {"loss", "pooled_cosine", "plan_entropy": per step; "device",
    "precision" (bf16 autocast or float32; records from before 2026-12-01 lack it) and "seconds" of
    training (a resumed run's included; before 2026-12-01 only its last segment); with a curve also
    "curve": [{"step", "scoring", "MAP", "R@10"}], "best_step", "scored_step"}}; with ``settings.score_last``
    and a kept best step also "clir@last", the last step's "clir".
    """
    if (stored := stored_scores(run, settings)) is not None:
        return stored
    shared = study_data(settings, run.language)
    last_state = None
    if run.objective in UNTRAINED:
        student, log = shared.teacher, {}
    else:
        student, log, last_state = train_student(run, settings, shared, progress)
    tokenizer = shared.teacher.tokenizer
    lexicon = run_lexicon(run, settings, shared) if run.objective == "dictionary-translate" else None

    def translate(text: str) -> str:
        return translate_words(text, lexicon, tokenizer) if lexicon is not None else text

    def clir(queries: dict[str, str], scorings: tuple[str, ...]) -> dict[str, dict[str, dict[str, float]]]:
        """{scoring: {measure: {qid: value}}}, the queries encoded once for all scorings."""
        searches = {scoring: shared.searches[scoring] for scoring in scorings}
        runs = search_each(searches, student, {qid: translate(text) for qid, text in queries.items()})
        return {
            scoring: evaluate(shared.collection.qrels, run, shared.benchmark.measures, per_query=True)[1]
            for scoring, run in runs.items()
        }

    queries = shared.collection.queries
    switched = {
        str(rate): clir(switched_queries(queries, shared, rate), ("dense",))["dense"] for rate in settings.switch_rates
    }
    scores = {
        "clir": clir(queries, settings.scorings),
        "switched": {
            rate: {name: mean_of(values) for name, values in by_measure.items()}
            for rate, by_measure in switched.items()
        },
        "switched per query": switched,
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
    store_scores(scores, record_files(run, settings)[0])
    settle_checkpoint(run, settings)  # only now: a run killed while scored resumes untrained
    return scores


def fill_cache(runs: list[StudyRun], settings: StudySettings, *, workers: int) -> None:
    """Train and score the runs whose scores are not kept yet in ``workers`` processes at once, each with its own runs.

    One small student leaves most of a GPU idle; several processes sharing it finish a study sooner.
    The shared parts (documents encoded, lexicons) are built here first so that workers read them
    from ``work_dir``; each worker keeps ``torch.get_num_threads() // workers`` CPU threads (at least 1).
    Results are the kept scores (records or cache), so a killed pool loses only the runs in flight.
    """
    missing = [run for run in runs if not any(path.exists() for path in record_files(run, settings))]
    if not missing:
        return
    for language in sorted({run.language for run in missing}):
        study_data(settings, language).prepare()
        if settings.curve_every:
            study_data(curve_settings(settings), language).prepare()
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


def run_study(
    runs: list[StudyRun], settings: StudySettings, *, progress: bool = True, workers: int = 1
) -> pd.DataFrame:
    """Score every run; long form: the run's fields, ``label``, the setting's ``bitext``, ``teacher`` and ``student``
    (:meth:`StudySettings.setting`), ``query_set``, ``scoring``, ``measure``, ``value``.

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
        base = {**asdict(run), "label": run.label, **settings.setting(run.language)}
        for query_set, key in (("clean", "clir"), ("clean@last", "clir@last")):
            for scoring, measures in scores.get(key, {}).items():
                rows += [
                    {**base, "query_set": query_set, "scoring": scoring, "measure": measure, "value": mean_of(values)}
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


def significance(
    runs: list[StudyRun],
    settings: StudySettings,
    *,
    reference: str = "ot",
    measure: str = "MAP",
    scoring: str = "dense",
    query_set: str = "clean",
    queries: Collection[str] | None = None,
) -> pd.DataFrame:
    """``reference`` against every other label under one scoring: the difference of their mean ``measure``, its 95%
    interval and p-value from the paired bootstrap over queries and seeds together (:func:`seed_query_bootstrap`),
    over every query or only ``queries`` (a query group of the benchmark, e.g. a topical collection's kind).

    Rows: both means (over seeds and queries), the difference, ``CI low``/``CI high``, ``p-value``, both labels'
    seed counts and the number of queries. query_set: ``clean`` (each run at its scored step) or ``clean@last`` (at
    its last step; untrained runs have no steps and use ``clean``). Correct a family of these rows with
    :func:`optical.study.tables.with_holm`.
    """
    per_label: dict[str, list[pd.Series]] = {}
    for run in runs:
        scores = score_run(run, settings, progress=False)
        clir = scores.get("clir@last", scores["clir"]) if query_set == "clean@last" else scores["clir"]
        values = pd.Series(clir[scoring][measure])
        per_label.setdefault(run.label, []).append(values if queries is None else values[list(queries)])
    values = {label: pd.concat(series, axis=1).T for label, series in per_label.items()}  # (seeds, queries)
    if reference not in values:
        raise ValueError(f"no run labelled {reference!r}; labels: {sorted(values)}")
    rows = []
    for label, other in values.items():
        if label == reference:
            continue
        ref, other = values[reference].align(other, join="inner", axis=1)
        test = seed_query_bootstrap(ref.to_numpy(), other.to_numpy())
        rows.append(
            {
                "reference": reference,
                "baseline": label,
                f"{measure} reference": ref.to_numpy().mean(),
                f"{measure} baseline": other.to_numpy().mean(),
                "difference": test["difference"],
                "CI low": test["low"],
                "CI high": test["high"],
                "p-value": test["p"],
                "seeds": f"{len(ref)}/{len(other)}",
                "queries": ref.shape[1],
            }
        )
    return pd.DataFrame(rows)


def tests_against_references(
    runs: list[StudyRun],
    settings: StudySettings,
    references: list[str],
    *,
    scoring: str = "dense",
    query_set: str = "clean",
    queries: Collection[str] | None = None,
) -> pd.DataFrame:
    """One table's family of tests: every label against each of ``references`` (two references against each other
    once), :func:`significance` rows with ``p (Holm)`` over the family (:func:`~optical.study.tables.with_holm`)."""
    tests = pd.concat(
        [
            significance(runs, settings, reference=label, scoring=scoring, query_set=query_set, queries=queries)
            for label in references
        ],
        ignore_index=True,
    )
    rank = {label: i for i, label in enumerate(references)}
    once = [rank.get(b, len(rank)) > rank[r] for r, b in zip(tests.reference, tests.baseline, strict=True)]
    return with_holm(tests[once].reset_index(drop=True))


def group_scores(runs: list[StudyRun], settings: StudySettings) -> pd.DataFrame:
    """Every run's clean CLIR means over all queries (group ``all``) and over each query group of its benchmark (a
    topical collection's kinds: name, subject, mixed). Long form: ``language``, ``label``, ``seed``, ``group``,
    ``query_set`` (clean), ``scoring``, ``measure``, ``value``; aggregate over seeds with
    :func:`~optical.study.tables.seed_summary` by (language, label, group)."""
    rows = []
    for run in runs:
        benchmark = study_data(settings, run.language).benchmark
        base = {"language": run.language, "label": run.label, "seed": run.seed, "query_set": "clean"}
        for scoring, per_query in score_run(run, settings, progress=False)["clir"].items():
            everyone = {measure: mean_of(values) for measure, values in per_query.items()}
            for group, means in {"all": everyone, **benchmark.group_means(per_query)}.items():
                rows += [
                    {**base, "group": group, "scoring": scoring, "measure": measure, "value": value}
                    for measure, value in means.items()
                ]
    return pd.DataFrame(rows)


def switching_changes(runs: list[StudyRun], settings: StudySettings, *, measure: str = "MAP") -> pd.DataFrame:
    """Per label and switch rate: how each run's mean ``measure`` changes from the clean queries to the same queries
    with that share of words switched to English (dense scoring).

    Rows give ``label``, ``rate``, the ``clean`` and ``switched`` means over seeds, the mean ``change``, its smallest
    and largest value over the seeds, ``seeds`` and ``direction``: ``drops`` or ``gains`` when every seed's change
    has that sign, else ``mixed``. Where every run's record keeps the switched queries' values per query (records
    since 2026-12-06), also ``CI low``, ``CI high`` and ``p-value`` of the change: the bootstrap over queries and seeds
    (:func:`~optical.stats.seed_query_bootstrap`) of each seed's per-query change, switched minus clean on the same
    query; older records keep the means only, and the change is paired by run alone.
    """
    per_seed: dict[tuple[str, float], list[tuple[dict[str, float], float, dict[str, float] | None]]] = {}
    for run in runs:
        scores = score_run(run, settings, progress=False)
        clean = scores["clir"]["dense"][measure]  # {qid: value}
        per_query = scores.get("switched per query", {})
        for rate, means in scores["switched"].items():
            switched = per_query.get(rate, {}).get(measure)  # {qid: value}, or None in an older record
            per_seed.setdefault((run.label, float(rate)), []).append((clean, means[measure], switched))
    rows = []
    for (label, rate), seeds in per_seed.items():
        clean = np.array([mean_of(values) for values, _, _ in seeds])
        switched = np.array([mean for _, mean, _ in seeds])
        change = switched - clean
        direction = "drops" if (change < 0).all() else "gains" if (change > 0).all() else "mixed"
        row = {
            "label": label,
            "rate": rate,
            "clean": clean.mean(),
            "switched": switched.mean(),
            "change": change.mean(),
            "smallest": change.min(),
            "largest": change.max(),
            "seeds": len(change),
            "direction": direction,
        }
        if all(values is not None for *_, values in seeds):  # per query: a test over queries and seeds
            qids = list(seeds[0][0])
            by_query = np.array([[values[q] - clean_values[q] for q in qids] for clean_values, _, values in seeds])
            test = seed_query_bootstrap(by_query, np.zeros_like(by_query))
            row |= {"CI low": test["low"], "CI high": test["high"], "p-value": test["p"]}
        rows.append(row)
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
        base = {**asdict(run), "label": run.label, **settings.setting(run.language)}
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
    return list(curve_settings(settings).task(language).benchmarks[0].collection.queries)


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

    english = [pair.english for pair in settings.task(language).training_pairs(train_pairs, seed)]
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
