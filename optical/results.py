"""The long-form results table every study appends to (``figures/results.csv``)."""

from __future__ import annotations

import csv
import fcntl
import os
from pathlib import Path

import pandas as pd

RESULT_COLUMNS = ("study", "language", "objective", "train_pairs", "epochs", "seed", "split", "measure", "value")


def append_results(rows: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Append ``rows`` (the RESULT_COLUMNS, extra columns refused) to the CSV at ``path``.

    The header is written when the file is new; an exclusive lock keeps rows of concurrent runs
    whole and in one piece.
    """
    extra = set(rows.columns) - set(RESULT_COLUMNS)
    missing = set(RESULT_COLUMNS) - set(rows.columns)
    if extra or missing:
        raise ValueError(f"results need exactly the columns {RESULT_COLUMNS}; extra {extra}, missing {missing}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8", newline="") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        writer = csv.writer(out, lineterminator="\n")
        if out.seek(0, os.SEEK_END) == 0:  # the size now, under the lock: another run may have begun the file
            writer.writerow(RESULT_COLUMNS)
        writer.writerows(rows.loc[:, list(RESULT_COLUMNS)].itertuples(index=False, name=None))
    return path


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """The results table as a DataFrame (empty, with the columns, when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    return pd.read_csv(path)


def per_language_table(
    results: pd.DataFrame, *, study: str = "main", split: str = "test", measures: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Language x objective rows, one column per measure, from the long-form results.

    Where a configuration was run more than once with the same seed, its latest row counts; over
    seeds, the mean is shown. measures: the columns to keep, in order (all when empty).
    """
    rows = results[(results.study == study) & (results.split == split)]
    keys = ["language", "objective", "train_pairs", "epochs", "seed", "measure"]
    latest = rows.drop_duplicates(subset=keys, keep="last")
    table = latest.pivot_table(index=["language", "objective"], columns="measure", values="value", aggfunc="mean")
    return table.loc[:, list(measures)] if measures else table
