"""The shared results table: concurrent runs lose or mangle no row; a rerun replaces its own rows; rows of
another model or bitext are rows of their own."""

import multiprocessing
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from optical.results import (
    RESULT_COLUMNS,
    SETTING_COLUMNS,
    per_language_table,
    read_results,
    record_results,
    result_rows,
)

ROOT = Path(__file__).resolve().parent.parent


def rows(worker: int, batch: int) -> pd.DataFrame:
    return result_rows(
        study="s",
        language="en-ny",
        bitext="bible",
        teacher="all-MiniLM-L6-v2",
        student="all-MiniLM-L6-v2",
        objective=f"w{worker}",
        train_pairs=batch,
        epochs=1,
        seed=range(3),
        split="dev",
        scoring="dense",
        measure="MAP",
        value=worker + batch / 1000,
    )


def append_many(path: str, worker: int, barrier) -> None:
    barrier.wait()  # every writer opens the still-missing file at once
    for batch in range(40):
        record_results(rows(worker, batch), path)


def test_concurrent_appends_lose_no_row_and_write_one_header(tmp_path):
    path = tmp_path / "results.csv"
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    workers = [context.Process(target=append_many, args=(str(path), worker, barrier)) for worker in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    lines = path.read_text().splitlines()
    assert lines.count(",".join(RESULT_COLUMNS)) == 1 and lines[0] == ",".join(RESULT_COLUMNS)
    table = read_results(path)
    assert len(table) == 4 * 40 * 3
    expected = pd.concat([rows(worker, batch) for worker in range(4) for batch in range(40)])
    key = ["objective", "train_pairs", "seed"]
    pd.testing.assert_frame_equal(
        table.sort_values(key).reset_index(drop=True), expected.sort_values(key).reset_index(drop=True)
    )


def test_a_rerun_replaces_its_rows_and_keeps_the_others(tmp_path):
    path = tmp_path / "results.csv"
    record_results(rows(0, 1), path)
    record_results(rows(1, 1), path)
    rerun = rows(0, 1).assign(value=[0.5, 0.25, 0.125])
    record_results(rerun.iloc[:2], path)
    table = read_results(path).set_index(["objective", "seed"])
    assert list(table.index) == [("w0", 0), ("w0", 1), ("w0", 2), ("w1", 0), ("w1", 1), ("w1", 2)]  # order kept
    assert len(table) == 6 and path.read_text().count("study,") == 1
    assert table.loc[("w0", 0), "value"] == 0.5 and table.loc[("w0", 1), "value"] == 0.25
    assert table.loc[("w0", 2), "value"] == pytest.approx(0.001)  # not in the rerun: kept
    assert table.loc[("w1", 0), "value"] == pytest.approx(1.001)  # another configuration: kept
    assert not list(tmp_path.glob("*.partial"))


def test_a_rerun_of_a_whole_table_drops_the_systems_it_no_longer_has(tmp_path):
    path = tmp_path / "results.csv"
    record_results(pd.concat([rows(0, 1), rows(1, 1), rows(2, 1).assign(split="test")]), path)
    record_results(rows(0, 1).assign(value=0.5), path, supersedes=("study", "language", "split"))
    table = read_results(path)
    kept = set(zip(table.objective, table.split, strict=True))
    assert kept == {("w0", "dev"), ("w2", "test")}  # w1 gone, the test table kept
    assert (table[table.objective == "w0"].value == 0.5).all() and len(table) == 6


def test_recording_other_rows_leaves_every_digit_of_the_old_ones(tmp_path):
    path = tmp_path / "results.csv"
    record_results(rows(0, 1).assign(value=[0.05506265980839239, 0.15448856607046968, 1 / 3]), path)
    before = path.read_text()
    for worker in range(1, 4):  # each write reads and rewrites the whole table
        record_results(rows(worker, 1), path)
    assert path.read_text().startswith(before)


def test_a_write_killed_before_the_rename_leaves_the_old_table(tmp_path, monkeypatch):
    path = tmp_path / "results.csv"
    record_results(rows(0, 1), path)
    before = path.read_bytes()

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("optical.results.os.replace", killed)
    with pytest.raises(KeyboardInterrupt):
        record_results(rows(1, 1), path)
    assert path.read_bytes() == before


def test_record_refuses_wrong_columns(tmp_path):
    with pytest.raises(ValueError, match="missing {'value'}"):
        record_results(rows(0, 0).drop(columns="value"), tmp_path / "results.csv")
    assert not (tmp_path / "results.csv").exists()


def test_result_rows_share_single_values_and_refuse_a_missing_or_unknown_column():
    table = rows(2, 5)
    assert tuple(table.columns) == RESULT_COLUMNS and len(table) == 3
    assert table.seed.tolist() == [0, 1, 2] and (table.objective == "w2").all() and (table.value == 2.005).all()
    columns = table.iloc[0].to_dict()
    with pytest.raises(ValueError, match="missing {'seed'}"):
        result_rows(**{name: value for name, value in columns.items() if name != "seed"})
    with pytest.raises(ValueError, match="extra {'run'}"):
        result_rows(**columns, run="x")


def test_per_language_table_keeps_the_latest_rerun_and_averages_seeds():
    table = pd.concat([rows(0, 1), rows(0, 2).assign(train_pairs=1)])  # a rerun of the same three seeds
    means = per_language_table(table, study="s", split="dev")
    assert means.loc[("en-ny", "w0"), "MAP"] == pytest.approx(0.002)


def test_a_maxsim_run_keeps_the_dense_rows_of_the_same_run(tmp_path):
    path = tmp_path / "results.csv"
    record_results(rows(0, 1), path)
    record_results(rows(0, 1).assign(scoring="maxsim", value=9.0), path)
    table = read_results(path)
    assert len(table) == 6 and set(table.scoring) == {"dense", "maxsim"}
    assert (table[table.scoring == "dense"].value < 1).all()  # not replaced by the MaxSim rerun
    assert per_language_table(table, study="s", split="dev", scorings=("maxsim",)).loc[("en-ny", "w0"), "MAP"] == 9.0
    assert per_language_table(table, study="s", split="dev").loc[("en-ny", "w0"), "MAP"] < 1
    preferred = {  # two scorings of one objective: the first preferred, never averaged
        scorings: per_language_table(table, study="s", split="dev", scorings=scorings).loc[("en-ny", "w0"), "MAP"]
        for scorings in [("dense", "maxsim"), ("maxsim", "dense")]
    }
    assert preferred[("dense", "maxsim")] < 1 and preferred[("maxsim", "dense")] == 9.0
    fused = rows(0, 1).assign(objective="fused", scoring="fused-score", value=0.5)
    both = per_language_table(pd.concat([table, fused]), study="s", split="dev", scorings=("dense", "fused-score"))
    assert both.loc[("en-ny", "fused"), "MAP"] == 0.5 and both.loc[("en-ny", "w0"), "MAP"] < 1


def test_another_student_or_bitext_gets_rows_of_its_own_and_a_table_is_never_averaged_over_them(tmp_path):
    path = tmp_path / "results.csv"
    record_results(rows(0, 1), path)
    record_results(rows(0, 1).assign(student="multilingual-e5-small", teacher="multilingual-e5-small", value=7.0), path)
    record_results(rows(0, 1).assign(bitext="mine.tsv@0123456789abcdef", value=8.0), path)
    table = read_results(path)
    assert len(table) == 9 and (table.iloc[:3].value < 1).all()  # the packaged model's rows kept
    with pytest.raises(ValueError, match="several settings; choose one by bitext=, teacher=, student="):
        per_language_table(table, study="s", split="dev")
    e5 = per_language_table(table, study="s", split="dev", student="multilingual-e5-small")
    assert e5.loc[("en-ny", "w0"), "MAP"] == 7.0
    mine = per_language_table(table, study="s", split="dev", bitext="mine.tsv@0123456789abcdef")
    assert mine.loc[("en-ny", "w0"), "MAP"] == 8.0
    with pytest.raises(ValueError, match="not \\['model'\\]"):
        per_language_table(table, study="s", split="dev", model="x")


def test_a_table_from_before_settings_is_refused_until_migrated_with_every_value_kept(tmp_path):
    path = tmp_path / "results.csv"
    zero_shot = rows(0, 1).assign(study="zero-shot-models", objective=["e5", "e5, English queries", "random"])
    old = pd.concat([rows(0, 1), zero_shot]).drop(columns=list(SETTING_COLUMNS))
    old.to_csv(path, index=False, lineterminator="\n")
    before = path.read_text().splitlines()
    with pytest.raises(ValueError, match="add_setting_columns.py"):
        read_results(path)
    script = [sys.executable, str(ROOT / "scripts" / "add_setting_columns.py"), str(path), "my-model"]
    subprocess.run(script, check=True, capture_output=True)
    table = read_results(path)
    assert list(table.columns) == list(RESULT_COLUMNS)
    after = [line.split(",") for line in path.read_text().splitlines()]
    assert [line.split(",") for line in before] == [fields[:2] + fields[5:] for fields in after]  # digit for digit
    settings = table.loc[:, list(SETTING_COLUMNS)].to_numpy().tolist()
    assert settings == [["bible", "my-model", "my-model"]] * 3 + [["-", "e5", "e5"]] * 2 + [["-", "-", "-"]]
    subprocess.run(script, check=True, capture_output=True)  # run again: nothing changes
    assert read_results(path).equals(table)
