"""The research harness end to end, at a tiny size: training, every score, caching, tables, significance."""

from pathlib import Path

import pandas as pd
import pytest

import optical.studies as studies
from optical.results import RESULT_COLUMNS
from optical.studies import (
    StudyRun,
    StudySettings,
    mean_std_table,
    run_study,
    seed_summary,
    significance,
    to_results_rows,
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
    )


def test_runs_are_scored_cached_and_tabulated(settings, monkeypatch):
    runs = [
        StudyRun(objective="zero-shot"),
        StudyRun(objective="dictionary-translate"),
        StudyRun(objective="ot", train_pairs=16, seed=0),
        StudyRun(objective="ot", train_pairs=16, seed=1),
        StudyRun(objective="contrastive", train_pairs=16, seed=0, augment_rate=0.3),
        StudyRun(objective="ot", train_pairs=16, seed=0, pretrain_steps=2),
    ]
    scores = run_study(runs, settings, progress=False)
    assert set(scores.label) == {"zero-shot", "dictionary-translate", "ot", "contrastive+cs0.3", "mlm+ot"}
    assert set(scores.query_set) == {"clean", "switch=0.5", "bitext"}
    assert scores.value.between(0, 1).all()
    lexicon = studies._shared(settings, "ny").lexicon
    assert lexicon.get("mulungu") == "god" and len(lexicon) > 100  # eflomal finds the obvious translation

    def no_training(*args, **kwargs):
        raise AssertionError("a cached run trained again")

    monkeypatch.setattr(studies, "train", no_training)
    pd.testing.assert_frame_equal(run_study(runs, settings, progress=False), scores)
    assert not list(Path(settings.work_dir).glob("checkpoints/study-*/last.pt"))  # scores kept, 270 MB checkpoints not

    summary = seed_summary(scores)
    ot_map = summary[(summary.label == "ot") & (summary.query_set == "clean") & (summary.measure == "MAP")]
    assert ot_map.seeds.item() == 2 and ot_map["std"].item() >= 0

    tests = significance(runs, settings, reference="ot")
    assert set(tests.baseline) == {"zero-shot", "dictionary-translate", "contrastive+cs0.3", "mlm+ot"}
    assert tests["p-value"].between(0, 1).all() and (tests.queries == 12).all()

    rows = to_results_rows(scores, "rq-test", settings.split)
    assert tuple(rows.columns) == RESULT_COLUMNS
    assert "switch=0.5:MAP" in set(rows.measure) and "bitext:R@1" in set(rows.measure)
    assert (rows[rows.objective == "zero-shot"].train_pairs == 0).all()


def test_mean_std_table_by_one_or_several_columns():
    summary = pd.DataFrame(
        {
            "label": ["ot", "ot", "ot", "kl"],
            "train_pairs": [500, 500, 125, 125],
            "query_set": ["clean", "clean", "clean", "clean"],
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
