"""Tables of scored runs: per-seed summaries, Holm-corrected families of tests, results rows, mean ± std tables."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from optical.results import result_rows
from optical.stats import holm
from optical.study.settings import NO_BITEXT, UNTRAINED


def mean_of(values: dict[str, float]) -> float:
    """The mean of per-query values."""
    return float(np.mean(list(values.values())))


def curve_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per label and scoring: the step where mean dev MAP peaks, MAP and R@10 there, and MAP at the last point.

    curves: rows of :func:`learning_curves` (reference lines left out); MAP and R@10 are means over seeds
    at each step.
    """
    curves = curves[~curves.reference] if "reference" in curves else curves
    means = curves.pivot_table(index=["label", "scoring", "step"], columns="measure", values="value", sort=False)
    rows = []
    for (label, scoring), part in means.groupby(level=["label", "scoring"], sort=False):
        part = part.droplevel(["label", "scoring"]).sort_index()
        peak = part["MAP"].idxmax()
        rows.append(
            {
                "label": label,
                "scoring": scoring,
                "peak step": peak,
                "MAP at peak": part.loc[peak, "MAP"],
                "R@10 at peak": part.loc[peak, "R@10"],
                "last step": part.index[-1],
                "MAP at last": part["MAP"].iloc[-1],
            }
        )
    return pd.DataFrame(rows)


def dev_chosen(peaks: pd.DataFrame, objectives: Iterable[str]) -> dict[str, str]:
    """Per objective, the label of its recipe whose mean dense dev curve peaks highest.

    peaks: rows of :func:`curve_summary` (every recipe's curve over the same seeds, or the choice favours the
    recipes with more of them); a label's objective is its name before ``[``."""
    dense = peaks[peaks.scoring == "dense"]
    objective_of = dense.label.str.split("[").str[0]
    return {
        objective: dense[objective_of == objective].sort_values("MAP at peak").label.iloc[-1]
        for objective in objectives
    }


def drift_summary(logs: pd.DataFrame, window: int = 20) -> pd.DataFrame:
    """Per label, the drift diagnostics of :func:`training_logs`, each a mean over ``window`` steps and then over
    seeds: ``pooled cosine, end`` (the last steps; near 1, the student no longer tells a batch's sentences apart),
    ``pooled cosine, peak`` (the highest of any ``window`` steps), ``plan entropy, end`` and ``plan entropy, peak``
    (normalised, 1: uniform; NaN for an objective without a plan). Labels in order of first appearance."""
    rows = {}
    for (label, _), part in logs.sort_values("step", kind="stable").groupby(["label", "seed"], sort=False):
        smoothed = part[["pooled_cosine", "plan_entropy"]].rolling(window, min_periods=1).mean()
        rows.setdefault(label, []).append(
            {
                "pooled cosine, end": part.pooled_cosine.tail(window).mean(),
                "pooled cosine, peak": smoothed.pooled_cosine.max(),
                "plan entropy, end": part.plan_entropy.tail(window).mean(),
                "plan entropy, peak": smoothed.plan_entropy.max(),
            }
        )
    return pd.DataFrame({label: pd.DataFrame(seeds).mean() for label, seeds in rows.items()}).T.rename_axis("label")


def seed_summary(scores: pd.DataFrame, by: tuple[str, ...] = ("language", "label", "train_pairs")) -> pd.DataFrame:
    """Mean, standard deviation (ddof 1) and number of seeds of every measure and query set."""
    keys = [*by, "query_set", "scoring", "measure"]
    return scores.groupby(keys, sort=False)["value"].agg(mean="mean", std="std", seeds="count").reset_index()


def to_results_rows(scores: pd.DataFrame, study: str, split: str) -> pd.DataFrame:
    """The study's rows in ``results.csv`` form: the label as objective, the query set in the measure name."""
    measure = scores.measure.where(scores.query_set == "clean", scores.query_set + ":" + scores.measure)
    return result_rows(
        study=study,
        language="en-" + scores.language,
        bitext=scores.bitext,
        teacher=scores.teacher,
        student=scores.student,
        objective=scores.label,
        train_pairs=scores.train_pairs.where(~scores.objective.isin(NO_BITEXT), 0),
        epochs=scores.epochs.where(~scores.objective.isin(UNTRAINED), 0),
        seed=scores.seed,
        split=split,
        scoring=scores.scoring,
        measure=measure,
        value=scores.value,
    )


def mean_std_table(
    summary: pd.DataFrame,
    measures: tuple[str, ...],
    *,
    query_set: str = "clean",
    scoring: str = "dense",
    index: str | list[str] = "label",
) -> pd.DataFrame:
    """``index`` x measure cells written ``mean ± std (n)`` for the notebooks' tables, under one scoring.

    index: one column or several (e.g. ``["label", "train_pairs"]``); rows keep the summary's order.
    """
    rows = summary[(summary.query_set == query_set) & (summary.scoring == scoring) & summary.measure.isin(measures)]
    cells = rows.assign(
        cell=[
            f"{m:.4f} ± {s:.4f} ({n})" if n > 1 else f"{m:.4f} (1)"
            for m, s, n in zip(rows["mean"], rows["std"], rows.seeds, strict=True)
        ]
    )
    order = rows[index].drop_duplicates()
    order = pd.MultiIndex.from_frame(order) if isinstance(index, list) else order
    return cells.pivot(index=index, columns="measure", values="cell").loc[order, list(measures)]


def by_switch_rate(summary: pd.DataFrame) -> pd.DataFrame:
    """The dense CLIR rows of a summary with a ``rate`` column: 0 for the clean queries, r for ``switch=r``."""
    rows = summary[(summary.query_set == "clean") | summary.query_set.str.startswith("switch=")]
    rows = rows[rows.scoring == "dense"]
    rate = rows.query_set.str.removeprefix("switch=").replace("clean", "0").astype(float)
    return rows.assign(rate=rate, query_set="clean")


def with_holm(tests: pd.DataFrame) -> pd.DataFrame:
    """A family of :func:`significance` rows (one table's comparisons) with ``p (Holm)``, Holm's adjustment of their
    ``p-value`` column, beside it."""
    return tests.assign(**{"p (Holm)": holm(tests["p-value"].to_numpy())})


def seen_from_baseline(tests: pd.DataFrame) -> pd.DataFrame:
    """:func:`significance` rows turned around: each baseline becomes the reference, the difference and its interval
    change sign (p-values unchanged)."""
    measure = next(column.removesuffix(" reference") for column in tests if column.endswith(" reference"))
    turned = tests.rename(
        columns={
            "reference": "baseline",
            "baseline": "reference",
            f"{measure} reference": f"{measure} baseline",
            f"{measure} baseline": f"{measure} reference",
        }
    )
    return turned.assign(difference=-tests.difference, **{"CI low": -tests["CI high"], "CI high": -tests["CI low"]})


def verdict(test: pd.Series, *, alpha: float = 0.05) -> str:
    """``above``, ``below`` or ``level``: a :func:`with_holm` row's reference against its baseline at family-wise
    error ``alpha``."""
    if test["p (Holm)"] >= alpha:
        return "level"
    return "above" if test["difference"] > 0 else "below"


def listed(labels) -> str:
    """Labels as inline Markdown code, comma-separated, for an answer's prose (``none`` for none)."""
    return ", ".join(f"`{label}`" for label in labels) or "none"


def difference_cell(test: pd.Series) -> str:
    """``+0.0214 [-0.0101, +0.0530], p 0.61``: a :func:`with_holm` row's difference, its 95% interval (not
    adjusted) and its Holm-adjusted p-value."""
    return f"{test['difference']:+.4f} [{test['CI low']:+.4f}, {test['CI high']:+.4f}], p {test['p (Holm)']:.2g}"
