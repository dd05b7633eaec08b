"""The long-form results table of every study (``figures/results.csv``): one row per configuration and measure."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pandas as pd

from optical.files import write_atomically

RESULT_COLUMNS = (
    "study", "language", "bitext", "teacher", "student", "objective", "train_pairs", "epochs", "seed", "split",
    "scoring", "measure", "value",
)  # fmt: skip
RESULT_KEY = RESULT_COLUMNS[:-1]  # a configuration and measure: one row, its latest value
SETTING_COLUMNS = ("bitext", "teacher", "student")  # the data and models a study ran under, as its run specs name them
NO_SCORING = "-"  # the scoring of rows that rank nothing (word-link agreement of transport plans)
NONE = "-"  # the bitext of rows that read none, the models of rows that encode nothing (the random ranking)
# read_csv options that read every float back as written, so a rewrite keeps every other row digit for digit: pandas
# 3 does so by default (and deprecates the option), pandas 2 only with float_precision="round_trip"
EXACT_FLOATS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def setting(bitext: str, teacher: str, student: str) -> dict[str, str]:
    """The SETTING_COLUMNS of a study's rows: its bitext (``bible`` or ``<file>@<sha256[:16]>``, as
    :attr:`optical.task.Task.bitext` names it) and its models as given (a packaged name or a local folder)."""
    return {"bitext": bitext, "teacher": teacher, "student": student}


def result_rows(**columns) -> pd.DataFrame:
    """Rows of ``results.csv``, every one of RESULT_COLUMNS given once: a value shared by every row, or a sequence (a
    list, a Series) with one value per row; a missing or unknown column is refused."""
    missing, extra = set(RESULT_COLUMNS) - set(columns), set(columns) - set(RESULT_COLUMNS)
    if missing or extra:
        raise ValueError(f"result rows need exactly the columns {RESULT_COLUMNS}; missing {missing}, extra {extra}")
    return pd.DataFrame({name: columns[name] for name in RESULT_COLUMNS})


def record_results(rows: pd.DataFrame, path: str | os.PathLike, *, supersedes: tuple[str, ...] = ()) -> Path:
    """Write ``rows`` (the RESULT_COLUMNS, extra columns refused) into the CSV at ``path``.

    A row replaces the value of the table's row of the same configuration and measure (RESULT_KEY),
    in its place: a rerun's numbers win and regenerating a study neither grows nor reorders the
    table; other rows are kept and new ones added at the end. The table is rewritten into a temporary
    file renamed over it, under an exclusive lock on a file beside it, so concurrent runs lose no row
    and a run killed mid-write leaves the old table whole.

    supersedes: columns that name one whole table of a notebook, e.g. ``("study", "language", "split")``:
    the old rows of each such table the new rows belong to are dropped unless a new row replaces
    them, so a system a rerun no longer produces leaves the file.
    """
    extra = set(rows.columns) - set(RESULT_COLUMNS)
    missing = set(RESULT_COLUMNS) - set(rows.columns)
    if extra or missing:
        raise ValueError(f"results need exactly the columns {RESULT_COLUMNS}; extra {extra}, missing {missing}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = rows.loc[:, list(RESULT_COLUMNS)].drop_duplicates(subset=list(RESULT_KEY), keep="last")
    with open(path.parent / f".{path.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old, new_keys = read_results(path), _keys(new)
        if supersedes and len(old):
            columns = list(supersedes)
            tables = pd.MultiIndex.from_frame(new[columns].astype(str))
            stale = pd.MultiIndex.from_frame(old[columns].astype(str)).isin(tables) & ~_keys(old).isin(new_keys)
            old = old[~stale].reset_index(drop=True)
        old_keys = _keys(old)
        replaced = old_keys.isin(new_keys)
        new_values = pd.Series(new["value"].to_numpy(), index=new_keys)
        old.loc[replaced, "value"] = new_values.reindex(old_keys[replaced]).to_numpy()  # in place: no reordering
        added = new[~new_keys.isin(old_keys)]
        table = pd.concat([old, added]) if len(old) else added
        write_atomically(path, lambda file: table.to_csv(file, index=False, lineterminator="\n"))
    return path


def _keys(table: pd.DataFrame) -> pd.MultiIndex:
    """RESULT_KEY of every row, as text, so keys read back from the CSV compare equal to fresh ones."""
    return pd.MultiIndex.from_frame(table.loc[:, list(RESULT_KEY)].astype(str))


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """The results table as a DataFrame (empty, with the columns, when the file does not exist).

    A table written before its rows named their setting (bitext and models, 2026-12-07) is refused: which models
    made its rows the file does not say, and ``scripts/add_setting_columns.py`` adds them.
    """
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    table = pd.read_csv(path, **EXACT_FLOATS)
    if missing := [column for column in RESULT_COLUMNS if column not in table.columns]:
        raise ValueError(
            f"{path} lacks the columns {missing}: it was written before results named their setting; add them "
            "with scripts/add_setting_columns.py"
        )
    return table


def one_setting(rows: pd.DataFrame, **chosen: str) -> pd.DataFrame:
    """The rows of one setting (SETTING_COLUMNS): those ``chosen`` (e.g. ``student="multilingual-e5-small"``),
    which must leave exactly one; a table is never averaged over two models or two bitexts."""
    if unknown := set(chosen) - set(SETTING_COLUMNS):
        raise ValueError(f"a setting is chosen by {SETTING_COLUMNS}, not {sorted(unknown)}")
    for column, value in chosen.items():
        rows = rows[rows[column] == value]
    settings = rows.loc[:, list(SETTING_COLUMNS)].drop_duplicates()
    if len(settings) > 1:
        raise ValueError(
            "rows of several settings; choose one by "
            + ", ".join(f"{column}=" for column in SETTING_COLUMNS)
            + ":\n"
            + settings.to_string(index=False)
        )
    return rows


def per_language_table(
    results: pd.DataFrame,
    *,
    study: str = "main",
    split: str = "test",
    scorings: tuple[str, ...] = ("dense",),
    measures: tuple[str, ...] = (),
    **chosen: str,
) -> pd.DataFrame:
    """Language x objective rows, one column per measure, from the long-form results of ``scorings``
    (e.g. the students' ``dense`` with the bitext-only systems' ``bm25`` and ``fused-score``) of one setting
    (:func:`one_setting`: ``chosen`` picks it where the rows hold several, e.g. two students of one language).

    ``scorings`` is an order of preference: an objective of a language with rows under several of them
    is shown under the first (its scorings are never averaged together). Where a configuration was run
    more than once with the same seed, its latest row counts; over seeds, the mean is shown.
    measures: the columns to keep, in order (all when empty).
    """
    rows = results[(results.study == study) & (results.split == split) & results.scoring.isin(scorings)]
    rows = one_setting(rows, **chosen)
    preference = rows.scoring.map({scoring: rank for rank, scoring in enumerate(scorings)})
    rows = rows[preference == preference.groupby([rows.language, rows.objective]).transform("min")]
    keys = ["language", "objective", "train_pairs", "epochs", "seed", "measure"]
    latest = rows.drop_duplicates(subset=keys, keep="last")
    table = latest.pivot_table(index=["language", "objective"], columns="measure", values="value", aggfunc="mean")
    return table.loc[:, list(measures)] if measures else table
