"""Give a results table written before 2026-12-07 the columns of its setting: ``bitext``, ``teacher``, ``student``.

Until then a row named its study, language and objective but not the models or the bitext behind it, so a main job
run with another model (or on a user's bitext) into the same folder replaced the packaged model's rows. Every row a
table holds was made under one model pair and the Bible, given here; the zero-shot comparison's rows
(study ``zero-shot-models``) name their own model (the objective, without ``, English queries``) and no bitext, and
the random ranking neither. Values and row order do not change; a table that has the columns is left alone.

    python scripts/add_setting_columns.py figures/results.csv all-MiniLM-L6-v2
    python scripts/add_setting_columns.py figures/multilingual-e5-small/results.csv multilingual-e5-small
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from optical.files import write_atomically
from optical.results import EXACT_FLOATS, NONE, RESULT_COLUMNS, SETTING_COLUMNS
from optical.zero_shot import ENGLISH_QUERIES


def with_setting(table: pd.DataFrame, model: str) -> pd.DataFrame:
    """``table`` with SETTING_COLUMNS after ``language``: the Bible and ``model`` as teacher and student, except
    the zero-shot comparison's rows (their own model, no bitext)."""
    zero_shot = table.study == "zero-shot-models"
    own_model = table.objective.str.removesuffix(ENGLISH_QUERIES).where(table.objective != "random", NONE)
    models = own_model.where(zero_shot, model)
    added = table.assign(bitext=pd.Series("bible", index=table.index).where(~zero_shot, NONE), teacher=models)
    return added.assign(student=models).loc[:, list(RESULT_COLUMNS)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", type=Path, help="a results.csv")
    parser.add_argument("model", help="the teacher and student of its rows (the zero-shot comparison's excepted)")
    args = parser.parse_args()
    table = pd.read_csv(args.table, **EXACT_FLOATS)
    if set(SETTING_COLUMNS) <= set(table.columns):
        print(f"{args.table} names its setting already")
        return
    added = with_setting(table, args.model)
    write_atomically(args.table, lambda file: added.to_csv(file, index=False, lineterminator="\n"))
    print(f"{args.table}: {len(added):,} rows given {', '.join(SETTING_COLUMNS)}")


if __name__ == "__main__":
    main()
