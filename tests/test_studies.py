"""The research harness end to end, at a tiny size: training, every score, caching, tables, significance."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optical.study as studies
import optical.study.runner as runner
import optical.study.training as training
from optical.results import RESULT_COLUMNS
from optical.stats import seed_query_bootstrap
from optical.study import (
    StudyRun,
    StudySettings,
    mean_std_table,
    run_study,
    seed_summary,
    seen_from_baseline,
    significance,
    switching_changes,
    to_results_rows,
    verdict,
    with_holm,
)
from optical.train import TrainConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(work_dir):
    return StudySettings(
        split="dev",
        num_queries=12,
        switch_rates=(0.5,),
        bitext_pairs=20,
        lexicon_pairs=400,
        max_length=32,
        train=TrainConfig(batch_size=8, device="cpu"),
        work_dir=str(work_dir),  # the session's: the dev passages are encoded once for all tests
        keep_weights=False,  # ~180 MB a student; the test of kept weights turns it on
    )


def test_runs_are_scored_cached_and_tabulated(settings, monkeypatch):
    runs = [
        StudyRun(objective="zero-shot"),
        StudyRun(objective="dictionary-translate", train_pairs=200, epochs=0),
        StudyRun(objective="ot", train_pairs=16, seed=0),
        StudyRun(objective="ot", train_pairs=16, seed=1),
        StudyRun(objective="contrastive", train_pairs=16, seed=0, augment_rate=0.3),
        StudyRun(objective="ot", train_pairs=16, seed=0, pretraining=(("steps", 2),)),
    ]
    scores = run_study(runs, settings, progress=False)
    assert set(scores.label) == {"zero-shot", "dictionary-translate", "ot", "contrastive+cs0.3", "mlm+ot"}
    assert set(scores.query_set) == {"clean", "switch=0.5", "bitext"}
    assert scores.value.between(0, 1).all()
    by_scoring = scores[scores.query_set == "clean"].groupby("scoring").size()
    assert by_scoring.to_dict() == {"dense": len(runs) * 5, "maxsim": len(runs) * 5}  # every run scored both ways
    assert set(scores[scores.query_set != "clean"].scoring) == {"dense"}
    clean_map = scores[(scores.query_set == "clean") & (scores.measure == "MAP")].pivot_table(
        index="label", columns="scoring", values="value"
    )
    assert (clean_map.dense != clean_map.maxsim).any()  # two scorings, not one copied
    lexicon = studies.study_data(settings, "ny").lexicon
    assert lexicon.get("mulungu") == "god" and len(lexicon) > 100  # eflomal finds the obvious translation
    own = studies.run_lexicon(runs[1], settings, studies.study_data(settings, "ny"))  # from the run's 200 pairs only
    assert 0 < len(own) < len(lexicon) and (Path(settings.work_dir) / "lexicons/en-ny-200-seed0.json").exists()

    def no_training(*args, **kwargs):
        raise AssertionError("a cached run trained again")

    monkeypatch.setattr(training, "train", no_training)
    pd.testing.assert_frame_equal(run_study(runs, settings, progress=False), scores)
    assert not any(
        (settings.checkpoint_dir(run) / "last.pt").exists() for run in runs
    )  # scores kept, 270 MB checkpoints not

    summary = seed_summary(scores)
    ot_map = summary[(summary.label == "ot") & (summary.query_set == "clean") & (summary.measure == "MAP")]
    ot_map = ot_map[ot_map.scoring == "dense"]
    assert ot_map.seeds.item() == 2 and ot_map["std"].item() >= 0

    tests = with_holm(significance(runs, settings, reference="ot"))
    assert set(tests.baseline) == {"zero-shot", "dictionary-translate", "contrastive+cs0.3", "mlm+ot"}
    assert tests["p-value"].between(0, 1).all() and (tests.queries == 12).all()
    assert (tests.seeds == "2/1").all()  # both OT seeds enter the test, not their mean
    per_seed = [pd.Series(studies.score_run(run, settings)["clir"]["dense"]["MAP"]) for run in runs[2:4]]
    zero_shot = pd.Series(studies.score_run(runs[0], settings)["clir"]["dense"]["MAP"])
    recomputed = seed_query_bootstrap(pd.concat(per_seed, axis=1).T.to_numpy(), zero_shot[per_seed[0].index].to_numpy())
    row = tests.set_index("baseline").loc["zero-shot"]
    assert (row.difference, row["CI low"], row["CI high"], row["p-value"]) == pytest.approx(
        (recomputed["difference"], recomputed["low"], recomputed["high"], recomputed["p"])
    )
    assert (tests["CI low"] <= tests.difference).all() and (tests.difference <= tests["CI high"]).all()
    assert (tests["p (Holm)"] >= tests["p-value"]).all() and (tests["p (Holm)"] <= 1).all()
    turned = seen_from_baseline(tests).set_index("reference").loc["zero-shot"]
    assert (turned.baseline, turned.difference, turned["CI low"]) == ("ot", -row.difference, -row["CI high"])
    assert verdict(turned) == {"above": "below", "below": "above", "level": "level"}[verdict(row)]

    changes = switching_changes(runs, settings).set_index(["label", "rate"])
    ot_runs = [studies.score_run(run, settings) for run in runs[2:4]]
    per_seed = [r["switched"]["0.5"]["MAP"] - np.mean(list(r["clir"]["dense"]["MAP"].values())) for r in ot_runs]
    ot = changes.loc[("ot", 0.5)]
    assert (ot.change, ot.smallest, ot.largest, ot.seeds) == pytest.approx((np.mean(per_seed), *sorted(per_seed), 2))
    switched = [r["switched per query"]["0.5"]["MAP"] for r in ot_runs]  # kept per query: a test over queries too
    assert all(set(values) == set(r["clir"]["dense"]["MAP"]) for values, r in zip(switched, ot_runs, strict=True))
    clean = [r["clir"]["dense"]["MAP"] for r in ot_runs]
    by_query = np.array([[s[q] - c[q] for q in clean[0]] for s, c in zip(switched, clean, strict=True)])
    test = seed_query_bootstrap(by_query, np.zeros_like(by_query))
    assert (ot["CI low"], ot["CI high"], ot["p-value"]) == pytest.approx((test["low"], test["high"], test["p"]))
    assert ot["CI low"] <= ot.change <= ot["CI high"]
    assert ot.direction == ("drops" if max(per_seed) < 0 else "gains" if min(per_seed) > 0 else "mixed")
    maxsim = significance(runs, settings, reference="ot", scoring="maxsim")
    assert not maxsim["MAP reference"].equals(tests["MAP reference"])

    rows = to_results_rows(scores, "rq-test", settings.split)
    assert tuple(rows.columns) == RESULT_COLUMNS
    named = {"bitext": "bible", "teacher": settings.teacher, "student": settings.student}
    assert rows.loc[:, list(named)].drop_duplicates().to_dict("records") == [named]
    assert "switch=0.5:MAP" in set(rows.measure) and "bitext:R@1" in set(rows.measure)
    assert (rows[rows.objective == "zero-shot"].train_pairs == 0).all()
    assert set(rows[rows.objective == "dictionary-translate"].train_pairs) == {200}  # the bitext it used
    assert set(rows[rows.measure == "MAP"].scoring) == {"dense", "maxsim"}


def test_scores_kept_as_records_are_read_on_another_machine_without_training(settings, monkeypatch, tmp_path):
    import gzip
    import json

    run = StudyRun(objective="zero-shot", train_pairs=0, epochs=0)
    cached = studies.score_run(run, settings, progress=False)  # in work_dir/studies only
    recorded = replace(settings, records_dir=str(tmp_path / "runs"))
    assert recorded.key(run) == settings.key(run)  # where scores are kept is not what a run computes
    assert studies.score_run(run, recorded, progress=False) == cached  # a cached run is given its record
    record = tmp_path / "runs" / f"{settings.key(run)}.json.gz"
    assert json.loads(gzip.decompress(record.read_bytes())) == cached
    assert record.read_bytes() == gzip.compress(json.dumps(cached).encode(), mtime=0)  # no timestamp in the bytes
    assert (
        cached["spec"] == settings.spec(run).to_dict() and cached["evaluation"] == settings.evaluation("ny").to_dict()
    )

    def nothing_computed(*args, **kwargs):
        raise AssertionError("a recorded run was computed again")

    other_machine = replace(recorded, work_dir=str(tmp_path / "empty-cache"))  # a fresh clone: records, no cache
    monkeypatch.setattr(runner, "study_data", nothing_computed)
    assert studies.score_run(run, other_machine, progress=False) == cached
    studies.fill_cache([run], other_machine, workers=2)  # nothing missing: no worker starts
    assert not (tmp_path / "empty-cache" / "studies").exists()
    record.write_bytes(record.read_bytes()[:100])  # cut short, as by a failed copy
    with pytest.raises(ValueError, match="unreadable.*delete it"):
        studies.score_run(run, other_machine, progress=False)


def test_lexicons_are_kept_beside_the_records_for_another_machine(settings, monkeypatch, tmp_path):
    from optical import codeswitch

    run = StudyRun(objective="dictionary-translate", train_pairs=200, epochs=0)
    shared = studies.study_data(settings, "ny")
    cached = studies.run_lexicon(run, settings, shared)  # no records_dir: in work_dir/lexicons only
    recorded = replace(settings, records_dir=str(tmp_path / "runs"))
    assert studies.run_lexicon(run, recorded, shared) == cached  # copied beside the records, not induced again
    kept = tmp_path / "runs" / "lexicons" / "en-ny-200-seed0.json"
    assert kept.read_bytes() == (Path(settings.work_dir) / "lexicons" / kept.name).read_bytes()

    def no_eflomal(*args, **kwargs):
        raise AssertionError("a kept lexicon was induced again")

    monkeypatch.setattr(codeswitch, "link_counts", no_eflomal)  # eflomal takes no seed: a new lexicon would differ
    other_machine = replace(recorded, work_dir=str(tmp_path / "empty-cache"))
    assert studies.run_lexicon(run, other_machine, shared) == cached
    assert not (tmp_path / "empty-cache" / "lexicons").exists()


def test_clean_only_settings_score_neither_switched_queries_nor_bitext(settings):
    clean_only = replace(settings, **studies.CLEAN_QUERIES_ONLY)  # RQ2 and RQ5 report clean CLIR only
    scores = run_study([StudyRun(objective="zero-shot")], clean_only, progress=False)
    assert set(scores.query_set) == {"clean"} and set(scores.scoring) == {"dense", "maxsim"}


def test_a_study_trains_and_scores_on_a_users_bitext_and_collection(settings, tmp_path, bitext):
    """A language without a packaged Bible: its TSVs train and give the held-out pairs, its folder is searched."""
    from test_main_job import write_user_collection
    from test_task import write_tsv

    write_user_collection(tmp_path / "my-trec", bitext)
    user = replace(
        settings,
        train_bitext=write_tsv(tmp_path / "train.tsv", bitext.pairs[:400]),
        held_out_bitext=write_tsv(tmp_path / "held.tsv", bitext.pairs[400:430]),
        collection=str(tmp_path / "my-trec"),
    )
    runs = [StudyRun("xx", "zero-shot", train_pairs=0, epochs=0), StudyRun("xx", "ot", train_pairs=16)]
    scores = run_study(runs, user, progress=False)
    assert set(scores.label) == {"zero-shot", "ot"} and set(scores.query_set) == {"clean", "switch=0.5", "bitext"}
    record = studies.score_run(runs[1], user)
    assert set(record["clir"]["maxsim"]["MAP"]) == set(write_user_collection(tmp_path / "again", bitext))
    assert record["spec"]["bitext"].startswith("train.tsv@") and record["evaluation"]["collection"] == "my-trec"
    assert (Path(settings.work_dir) / "lexicons" / f"{record['spec']['bitext']}-en-xx-400.json").exists()


def test_mean_std_table_by_one_or_several_columns():
    summary = pd.DataFrame(
        {
            "label": ["ot", "ot", "ot", "kl"],
            "train_pairs": [500, 500, 125, 125],
            "query_set": ["clean", "clean", "clean", "clean"],
            "scoring": ["dense", "dense", "dense", "dense"],
            "measure": ["MAP", "R@10", "MAP", "MAP"],
            "mean": [0.5, 0.25, 0.125, 0.0625],
            "std": [0.01, 0.02, 0.03, float("nan")],
            "seeds": [3, 3, 3, 1],
        }
    )
    by_label_and_size = mean_std_table(summary, ("MAP",), index=["label", "train_pairs"])
    assert list(by_label_and_size.index) == [("ot", 500), ("ot", 125), ("kl", 125)]  # the summary's order
    assert by_label_and_size.loc[("ot", 500), "MAP"] == "0.5000 ± 0.0100 (3)"
    assert by_label_and_size.loc[("kl", 125), "MAP"] == "0.0625 (1)"
    with pytest.raises(ValueError):  # one label has two sizes: the label alone does not name a row
        mean_std_table(summary, ("MAP",))
    by_label = mean_std_table(summary[summary.train_pairs == 500], ("MAP", "R@10"))
    assert list(by_label.columns) == ["MAP", "R@10"] and by_label.loc["ot", "R@10"] == "0.2500 ± 0.0200 (3)"


def test_a_learning_curve_scores_the_dev_books_every_k_steps_and_keeps_the_best_step(settings, monkeypatch):
    from dataclasses import replace

    from optical.plots import plot_drift, plot_learning_curves
    from optical.study import curve_summary, learning_curves, training_logs

    curved = replace(settings, split="dev", curve_every=2, curve_queries=8)
    runs = [
        StudyRun(objective="ot", train_pairs=24, epochs=1, seed=0),
        StudyRun(objective="hard-align", train_pairs=24),
        StudyRun(objective="zero-shot", train_pairs=0, epochs=0),
    ]
    curves = learning_curves(runs, curved)  # 24 pairs / 8 per batch = 3 steps: points at 0, 2 and the last, 3
    reference = curves[curves.reference]
    assert set(reference.label) == {"zero-shot"} and sorted(reference.step.unique()) == [0, 3]
    zero_shot = studies.score_run(runs[2], curved)["clir"]["maxsim"]["R@10"]
    curve_queries = list(zero_shot)[: curved.curve_queries]  # the curve's queries: a prefix of the study's draw
    expected = sum(zero_shot[qid] for qid in curve_queries) / len(curve_queries)
    measured = reference[(reference.scoring == "maxsim") & (reference.measure == "R@10")].value
    assert measured.tolist() == pytest.approx([expected, expected])
    assert "zero-shot" not in set(curve_summary(curves).label)
    ot = curves[curves.label == "ot"]
    assert sorted(ot.step.unique()) == [0, 2, 3]
    assert set(ot.scoring) == {"dense", "maxsim"} and set(ot.measure) == {"MAP", "R@10"}
    assert len(ot) == 3 * 2 * 2 and ot.value.between(0, 1).all()
    log = studies.score_run(runs[0], curved)["training"]
    dense_map = ot[(ot.scoring == "dense") & (ot.measure == "MAP")].set_index("step").value
    assert log["best_step"] == dense_map.idxmax() and log["scored_step"] == log["best_step"]  # keep_best
    logs = training_logs(runs, curved)
    assert len(logs) == 6 and logs[logs.label == "ot"].plan_entropy.between(0, 1).all()
    for figure in (plot_learning_curves(curves, title="t"), plot_drift(logs, title="t")):
        assert len(figure.axes) >= 3

    recipe = StudyRun(objective="ot", train_pairs=24, recipe=(("epsilon", 0.1),))
    assert recipe.label == "ot[epsilon=0.1]" and curved.key(recipe) != curved.key(runs[0])


def test_patience_stops_a_curve_once_dev_map_stops_rising(settings, monkeypatch):
    import shutil

    maps = iter([0.5, 0.4, 0.3, 0.2, 0.1, 0.0])  # the untrained student is the best the curve ever sees

    def falling(qrels, run, measures, **kwargs):
        return {"MAP": next(maps), "R@10": 0.0}

    monkeypatch.setattr(training, "evaluate", falling)
    curved = replace(settings, split="dev", curve_every=1, curve_queries=8, patience=2, scorings=("dense",))
    run, shared = StudyRun(objective="ot", train_pairs=80, seed=3), studies.study_data(curved, "ny")
    log = training.train_student(run, curved, shared, False)[1]
    assert [point["step"] for point in log["curve"]] == [0, 1, 2]  # stopped 2 steps after the best (step 0)
    assert log["best_step"] == 0 and log["scored_step"] == 0 and len(log["loss"]) == 2
    try:  # killed before its scores were cached: the rerun resumes stopped, and trains and scores no step again
        again = training.train_student(run, curved, shared, False)[1]
    finally:
        shutil.rmtree(curved.checkpoint_dir(run))
    assert again["curve"] == log["curve"] and len(again["loss"]) == 2


def test_a_killed_curve_run_resumes_its_curve_and_loses_no_point(settings, monkeypatch):
    import shutil

    curved = replace(
        settings, curve_every=1, curve_queries=8, scorings=("dense",), train=replace(settings.train, checkpoint_every=2)
    )
    run, shared = StudyRun(objective="ot", train_pairs=40, seed=5), studies.study_data(settings, "ny")  # 5 steps
    folder = curved.checkpoint_dir(run)
    whole = training.train_student(run, curved, shared, False)[1]
    shutil.rmtree(folder)
    evaluated, kill_at, call = [], [4], studies.LearningCurve.__call__

    class Killed(Exception):
        pass

    def killed(self, step):
        if step in kill_at:
            raise Killed  # after the checkpoint of step 2 and the points of steps 0-3
        evaluated.append(step)
        return call(self, step)

    monkeypatch.setattr(studies.LearningCurve, "__call__", killed)
    with pytest.raises(Killed):
        training.train_student(run, curved, shared, False)
    evaluated.clear()
    kill_at.clear()  # the rerun is not killed
    try:
        resumed = training.train_student(run, curved, shared, False)[1]
    finally:
        shutil.rmtree(folder)
    assert evaluated == [3, 4, 5]  # steps 1-2 come from the checkpoint; step 0 is not scored again
    assert [point["step"] for point in resumed["curve"]] == [0, 1, 2, 3, 4, 5]
    assert [point["MAP"] for point in resumed["curve"]] == pytest.approx([point["MAP"] for point in whole["curve"]])
    assert resumed["best_step"] == whole["best_step"] and resumed["loss"] == pytest.approx(whole["loss"])


def test_grid_gives_dictionary_translate_the_students_sizes_and_seeds():
    from optical.study import grid

    runs = grid(["ny"], ["zero-shot", "dictionary-translate", "ot"], [0, 1], [125, 500], epochs=2)
    by_objective = {
        objective: [(r.train_pairs, r.seed, r.epochs) for r in runs if r.objective == objective]
        for objective in ("zero-shot", "dictionary-translate", "ot")
    }
    assert by_objective["zero-shot"] == [(0, 0, 0)]
    assert by_objective["dictionary-translate"] == [(125, 0, 0), (125, 1, 0), (500, 0, 0), (500, 1, 0)]
    assert by_objective["ot"] == [(125, 0, 2), (125, 1, 2), (500, 0, 2), (500, 1, 2)]


def test_grid_trains_each_recipe_of_an_objective():
    from optical.study import grid

    runs = grid(["ny"], ["ot", "kl"], [0, 1], [64], recipes={"ot": [{}, {"contrastive_weight": 0.1}]})
    assert [(r.label, r.seed) for r in runs] == [
        ("ot", 0),
        ("ot", 1),
        ("ot[contrastive_weight=0.1]", 0),
        ("ot[contrastive_weight=0.1]", 1),
        ("kl", 0),
        ("kl", 1),
    ]


def test_the_final_tables_use_only_recipes_searched_on_the_dev_books():
    from optical.study import FINAL_RECIPES, RECIPE_GRIDS

    for objective, recipes in FINAL_RECIPES.items():
        assert recipes[0] == {}  # the objective as published comes first
        assert all(recipe in RECIPE_GRIDS[objective] for recipe in recipes)


def test_best_system_fuses_the_dev_chosen_recipes_of_the_final_tables():
    import papermill

    from optical.study import DEV_CHOSEN_RECIPES, FINAL_RECIPES

    notebook = Path(__file__).resolve().parent.parent / "notebooks" / "best_system.ipynb"
    assert papermill.inspect_notebook(notebook)["STUDENT_RECIPES"]["default"] == "None"  # DEV_CHOSEN_RECIPES
    assert DEV_CHOSEN_RECIPES
    for objective, recipes in DEV_CHOSEN_RECIPES.items():
        assert len(recipes) == 1 and recipes[0] in FINAL_RECIPES[objective], objective


def test_a_student_scored_another_way_is_not_trained_again_where_its_checkpoint_is_kept(settings, monkeypatch):
    import torch

    run = StudyRun(objective="ot", train_pairs=16, seed=3)
    kept = replace(settings, keep_checkpoints=True, switch_rates=(), bitext_pairs=0)
    first = studies.score_run(run, kept, progress=False)
    checkpoint = kept.checkpoint_dir(run)
    assert torch.load(checkpoint / "last.pt", weights_only=False)["spec"] == first["spec"]
    assert json.loads((checkpoint / "spec.json").read_text()) == first["spec"]

    def no_step(*args, **kwargs):
        raise AssertionError("an optimiser step: the kept student was trained again")

    monkeypatch.setattr(torch.optim.AdamW, "step", no_step)
    rescored = replace(kept, num_queries=6, scorings=("dense",))  # another evaluation of the same student
    second = studies.score_run(run, rescored, progress=False)
    assert second["spec"] == first["spec"] and second["evaluation"] != first["evaluation"]
    assert second["training"]["loss"] == first["training"]["loss"]
    assert rescored.key(run) != kept.key(run)  # two records of one student


def test_a_scored_student_keeps_its_weights_and_is_scored_again_exactly_without_training(settings, monkeypatch):
    import shutil

    import torch

    assert StudySettings().keep_weights and not StudySettings().keep_checkpoints  # the default keeps the weights
    run = StudyRun(objective="ot", train_pairs=24, seed=7)  # 3 steps
    kept = replace(
        settings, keep_weights=True, curve_every=1, curve_queries=8, score_last=True, switch_rates=(), bitext_pairs=0
    )
    folder = kept.checkpoint_dir(run)
    try:
        first = studies.score_run(run, kept, progress=False)
        state = torch.load(folder / "last.pt", weights_only=False)
        assert "optimizer" not in state and "scheduler" not in state  # Adam's moments dropped
        assert state["step"] == 3 and state["on_step"]["best_state"] is not None  # last and best weights kept

        def no_step(*args, **kwargs):
            raise AssertionError("an optimiser step: the kept student was trained again")

        monkeypatch.setattr(torch.optim.AdamW, "step", no_step)
        (Path(kept.work_dir) / "studies" / f"{kept.key(run)}.json").unlink()  # its record lost: scored anew
        written = (folder / "last.pt").stat().st_mtime_ns
        again = studies.score_run(run, kept, progress=False)
        assert (folder / "last.pt").stat().st_mtime_ns == written  # neither saved by train() nor slimmed again
        assert again["clir"] == first["clir"] and again["clir@last"] == first["clir@last"]  # the same weights
        assert again["training"]["curve"] == first["training"]["curve"]
        assert again["training"]["best_step"] == first["training"]["best_step"]
        other = studies.score_run(run, replace(kept, num_queries=6), progress=False)  # another evaluation
        assert other["spec"] == first["spec"] and len(other["clir"]["dense"]["MAP"]) == 6

        state["step"], state["stopped"] = 1, False  # weights only, yet unfinished: it cannot train on
        torch.save(state, folder / "last.pt")
        with pytest.raises(ValueError, match="cannot train on"):
            training.train_student(run, kept, studies.study_data(kept, "ny"), False)
    finally:
        shutil.rmtree(folder)


def test_a_kept_student_is_scored_on_the_topical_collection_by_query_kind_without_training(settings, monkeypatch):
    import shutil

    import torch

    run, teacher = StudyRun(objective="ot", train_pairs=16, seed=5), StudyRun(objective="zero-shot", train_pairs=0)
    verse = replace(settings, keep_checkpoints=True, switch_rates=(), bitext_pairs=0)
    topical = replace(verse, bible_collection="topical")
    assert topical.checkpoint_dir(run) == verse.checkpoint_dir(run) and topical.key(run) != verse.key(run)
    assert training.curve_settings(topical).bible_collection == "verse"  # the step is chosen on the verse dev books
    with pytest.raises(ValueError, match="bible_collection must be one of"):
        replace(settings, bible_collection="naves")
    try:
        on_verses = studies.score_run(run, verse, progress=False)

        def no_step(*args, **kwargs):
            raise AssertionError("an optimiser step: the kept student was trained again")

        monkeypatch.setattr(torch.optim.AdamW, "step", no_step)
        scores = studies.score_run(run, topical, progress=False)
    finally:
        shutil.rmtree(verse.checkpoint_dir(run))
    assert scores["spec"] == on_verses["spec"] and scores["evaluation"]["collection"] == "topical-en-ny-dev"
    benchmark = studies.study_data(topical, "ny").benchmark
    assert set(scores["clir"]["dense"]["R@100"]) == set(benchmark.collection.queries)  # many relevant: R@100 too
    groups = studies.group_scores([run], topical)
    dense_map = groups[(groups.scoring == "dense") & (groups.measure == "MAP")].set_index("group").value
    per_query = scores["clir"]["dense"]["MAP"]
    assert set(dense_map.index) == {"all", *benchmark.groups} and len(benchmark.groups) >= 2
    assert dense_map["all"] == pytest.approx(np.mean(list(per_query.values())))
    for kind, qids in benchmark.groups.items():
        assert dense_map[kind] == pytest.approx(np.mean([per_query[qid] for qid in qids]))
    kind, qids = next(iter(benchmark.groups.items()))
    test = significance([run, teacher], topical, reference="ot", queries=qids).iloc[0]
    assert test.queries == len(qids) and test["MAP reference"] == pytest.approx(dense_map[kind])


def test_a_record_is_named_by_its_run_and_evaluation_each_hashed_whole():
    from dataclasses import replace

    from optical.run_spec import canonical_key

    run = StudyRun()
    default = StudySettings()
    spec, evaluation = default.spec(run), default.evaluation(run.language)
    assert default.key(run) == f"{canonical_key(spec.to_dict())}-{canonical_key(evaluation.to_dict())}"
    assert spec.objective_settings["epsilon"] == 0.02 and spec.training["lr"] == 1e-4  # defaults included
    elsewhere = replace(default, work_dir="/elsewhere", train=TrainConfig(device="cpu", checkpoint_every=7))
    assert elsewhere.key(run) == default.key(run)  # where a run trains is not what it computes
    rescored = replace(default, num_queries=100, score_last=True, scorings=("dense",))
    assert rescored.spec(run) == spec and rescored.evaluation("ny") != evaluation  # the same student, scored anew
    assert rescored.checkpoint_dir(run) == default.checkpoint_dir(run)  # so its checkpoint is found, not retrained
    assert default.spec(replace(run, recipe=(("epsilon", 0.05),))) != spec
    assert replace(default, train=TrainConfig(lr=2e-4)).spec(run) != spec
    assert replace(default, student="multilingual-e5-small").spec(run) != spec


def test_max_cut_share_raises_max_length_only_for_a_language_whose_verses_need_it():
    fitted = StudySettings(max_cut_share=0.01)
    chichewa, greek = StudyRun(language="ny"), StudyRun(language="grc")
    assert fitted.max_length_for("ny") == 128 and fitted.max_length_for("es") == 128
    assert fitted.max_length_for("grc") == 192  # 1.5% of its Greek verses are longer than 160 tokens
    assert fitted.key(chichewa) == StudySettings().key(chichewa)  # cached runs at 128 tokens stay valid
    assert fitted.key(greek) == StudySettings(max_length=192).key(greek) != StudySettings().key(greek)


def test_workers_fill_the_cache_and_runs_are_scored_at_their_best_and_last_step(settings, monkeypatch):
    from dataclasses import replace

    from optical.study import fill_cache, run_overview
    from optical.train import cpu_uses_bf16

    curved = replace(settings, curve_every=1, curve_queries=8, score_last=True)
    runs = [
        StudyRun(objective="ot", train_pairs=16, seed=5),
        StudyRun(objective="kl", train_pairs=16, seed=5),
        StudyRun(objective="zero-shot", train_pairs=0, epochs=0),
    ]
    fill_cache(runs, curved, workers=2)  # two processes, one run each (the untrained run too)
    assert all((Path(curved.work_dir) / "studies" / f"{curved.key(run)}.json").exists() for run in runs)

    def no_training(*args, **kwargs):
        raise AssertionError("a run the workers cached trained again")

    monkeypatch.setattr(training, "train", no_training)
    scores = run_study(runs, curved, progress=False)
    at_last = scores[scores.query_set == "clean@last"]
    assert set(at_last.label) == {"ot", "kl", "zero-shot"} and set(at_last.scoring) == {"dense", "maxsim"}
    zero_shot = scores[scores.label == "zero-shot"].set_index(["query_set", "scoring", "measure"]).value
    assert zero_shot.loc["clean"].equals(zero_shot.loc["clean@last"])  # no steps: the same system
    overview = run_overview(runs, curved).set_index("label")
    assert list(overview.index) == ["ot", "kl"] and (overview.steps == 2).all()
    assert overview.device.str.len().gt(0).all() and (overview.seconds > 0).all()
    precision = "bf16 autocast" if cpu_uses_bf16() else "float32"  # what the worker processes trained in
    assert all(studies.score_run(run, curved, progress=False)["training"]["precision"] == precision for run in runs[:2])
    assert (overview.precision == precision).all()
    for run in runs[:2]:
        label = run.label
        best = overview.loc[label, "best_step"]
        curve = pd.DataFrame(studies.score_run(run, curved, progress=False)["training"]["curve"])
        dense = curve[curve.scoring == "dense"].set_index("step")["MAP"]
        assert overview.loc[label, "best_dev_MAP"] == dense.max() == dense[best]  # the peak, at the best step
        last = scores[(scores.label == label) & (scores.measure == "MAP") & (scores.scoring == "dense")]
        values = last.set_index("query_set").value
        assert best < 2 or values["clean"] == values["clean@last"]  # scored at the last step when it was the best
    tests = significance(runs, curved, reference="ot", query_set="clean@last")
    assert set(tests.baseline) == {"kl", "zero-shot"} and tests["p-value"].between(0, 1).all()


def test_a_study_student_is_read_at_its_best_dev_step_from_its_kept_weights(settings, monkeypatch):
    """best_system fuses the very students its study scores: trained once, then read from their kept weights."""
    import shutil

    import torch

    from optical.study.records import record_files

    run = StudyRun(objective="ot", train_pairs=24, seed=11)  # 3 steps
    curved = replace(settings, keep_weights=True, curve_every=1, curve_queries=8, switch_rates=(), bitext_pairs=0)
    folder = curved.checkpoint_dir(run)
    try:
        student = studies.trained_student(run, curved, progress=False)  # nothing kept yet: trained
        state = torch.load(folder / "last.pt", weights_only=False)
        assert "optimizer" not in state  # kept as a scored run's: weights and curve
        best = state["on_step"]["best_state"]
        assert all(torch.equal(student.state_dict()[name], value) for name, value in best.items())
        assert not any(path.exists() for path in record_files(run, curved))  # no scores written

        def no_step(*args, **kwargs):
            raise AssertionError("an optimiser step: the kept student was trained again")

        monkeypatch.setattr(torch.optim.AdamW, "step", no_step)
        again = studies.trained_student(run, curved, progress=False)
        assert all(torch.equal(again.state_dict()[name], value) for name, value in best.items())
        assert studies.score_run(run, curved, progress=False)["training"]["loss"] == state["losses"]
        with pytest.raises(ValueError, match="trains no student"):
            studies.trained_student(StudyRun(objective="zero-shot"), curved)
    finally:
        shutil.rmtree(folder)


def test_the_fair_trial_preset_finds_every_committed_record_of_rq1():
    """RQ1, RQ3 and RQ4 name the preset instead of retyping its budget: the records they read stay theirs."""
    from optical.study import FINAL_RECIPES, PRESETS

    budget = PRESETS["fair-trial"]
    records = Path(__file__).resolve().parent.parent / "figures" / "runs"
    settings = budget.settings(split="test", num_queries=500, score_last=True, records_dir=str(records))
    objectives = ["ot", "hard-align", "kl", "mse", "cls-mse", "contrastive", "zero-shot", "dictionary-translate"]
    runs = budget.runs(["ny"], objectives, recipes=FINAL_RECIPES)
    # 12 trained labels and dictionary-translate at 3 seeds, one zero-shot, 3 more seeds of the 3 dev-chosen labels
    assert len(runs) == 3 * 12 + 1 + 3 + 3 * 3
    assert {run.label for run in runs if run.seed > 2} == set(budget.more_seeds)
    assert all((records / f"{settings.key(run)}.json.gz").exists() for run in runs)
    assert budget.changed({"seeds": [0]}).runs(["ny"], ["ot"]) == [studies.StudyRun("ny", "ot", 16000, epochs=4)]
    with pytest.raises(ValueError, match="a budget has no \\['seed'\\]"):
        budget.changed({"seed": 1})


def test_recipe_labels_name_a_grids_recipes_as_its_runs_do():
    from optical.study import DEV_CHOSEN_RECIPES, FINAL_RECIPES, PRESETS, recipe_labels

    runs = studies.grid(["ny"], list(FINAL_RECIPES), [0], [16], recipes=FINAL_RECIPES)
    assert recipe_labels(FINAL_RECIPES) == [run.label for run in runs]
    assert recipe_labels({"ot": [{}, {"negatives": 8, "contrastive_weight": 1.0}]}) == [
        "ot",
        "ot[contrastive_weight=1.0,negatives=8]",
    ]
    assert list(PRESETS["fair-trial"].more_seeds) == recipe_labels(DEV_CHOSEN_RECIPES)


def test_more_seeds_extend_only_the_labels_named():
    """Systems closer than their seeds' spread get further seeds; every other label keeps the budget's seeds."""
    from optical.study import Budget

    budget = Budget(train_pairs=16, epochs=1, seeds=[0, 1], more_seeds={"kl[kl_temperature=0.05]": [2, 3], "mse": [9]})
    runs = budget.runs(["ny"], ["ot", "kl", "zero-shot"], recipes={"kl": [{}, {"kl_temperature": 0.05}]})
    seeds = {label: [run.seed for run in runs if run.label == label] for label in dict.fromkeys(r.label for r in runs)}
    assert seeds == {"ot": [0, 1], "kl": [0, 1], "kl[kl_temperature=0.05]": [0, 1, 2, 3], "zero-shot": [0]}
    assert len(set(runs)) == len(runs)
    assert budget.described_seeds == "[0, 1]; `kl[kl_temperature=0.05]` also 2, 3; `mse` also 9"


def test_the_dev_search_preset_finds_every_committed_dev_curve_and_recipe():
    """The dev curves and the recipe searches name one preset: the default recipe's run stays theirs in common."""
    from optical.study import PRESETS, RECIPE_GRIDS

    budget = PRESETS["dev-search"]
    records = Path(__file__).resolve().parent.parent / "figures" / "runs"
    settings = budget.settings(split="dev", num_queries=500, records_dir=str(records))
    objectives = ["ot", "hard-align", "kl", "mse", "cls-mse", "contrastive", "zero-shot", "dictionary-translate"]
    searched = {objective: RECIPE_GRIDS[objective] for objective in ("ot", "kl", "contrastive")}
    runs = budget.runs(["ny"], objectives) + budget.runs(["ny"], list(searched), recipes=searched)
    assert len({run.label for run in runs}) == len(objectives) + sum(len(grid) - 1 for grid in searched.values())
    assert all((records / f"{settings.key(run)}.json.gz").exists() for run in runs)
