"""Figures: transport plans as labelled heatmaps, training curves."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from optical.alignment import SoftAlignment
from optical.fonts import use_script_fonts

use_script_fonts()  # token labels in any script draw as glyphs, not boxes


def plot_transport_plan(
    alignment: SoftAlignment,
    *,
    title: str = "",
    ax: plt.Axes | None = None,
    reference: set[tuple[int, int]] | None = None,
) -> Figure:
    """Heatmap of a soft token alignment: English tokens as rows, foreign tokens as columns.

    Each cell is the plan's mass times n (so 1.0 means a row sends all its mass to that token).
    reference: word links (English word, foreign word), e.g. from eflomal, outlined in red on
    every token cell of the linked words.
    """
    plan = alignment.plan.numpy() * alignment.plan.shape[0]  # rows sum to 1
    n, m = plan.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.28 * m + 2.0), max(3.0, 0.28 * n + 1.5)))
    image = ax.imshow(plan, cmap="viridis", vmin=0.0, vmax=max(float(plan.max()), 1e-9), aspect="auto")
    ax.set_xticks(range(m), alignment.foreign_tokens, rotation=90, fontsize=7)
    ax.set_yticks(range(n), alignment.english_tokens, fontsize=7)
    ax.set_xlabel("student tokens (foreign)")
    ax.set_ylabel("teacher tokens (English)")
    if reference:
        for row, english_word in enumerate(alignment.english_word_ids):
            for col, foreign_word in enumerate(alignment.foreign_word_ids):
                if (english_word, foreign_word) in reference:
                    ax.add_patch(plt.Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, ec="red", lw=1.0))
    ax.set_title(title or f"transport plan, <T, C> = {alignment.cost:.3f}", fontsize=9)
    ax.figure.colorbar(image, ax=ax, label="mass × n (row share)")
    ax.figure.tight_layout()
    return ax.figure


def plot_training_loss(losses: Sequence[float], *, title: str = "", window: int = 20) -> Figure:
    """Per-step loss (faint) with a moving average over ``window`` steps."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, alpha=0.3, lw=0.8, label="per step")
    if len(losses) >= window:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, lw=1.8, label=f"mean of {window}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_per_language(table: pd.DataFrame) -> Figure:
    """Grouped bars: one panel per measure, languages on the x axis, one bar per objective.

    table: the (language, objective) x measure frame of :func:`optical.results.per_language_table`.
    """
    measures = list(table.columns)
    fig, axes = plt.subplots(1, len(measures), figsize=(3.2 * len(measures), 3.8), squeeze=False)
    for ax, measure in zip(axes[0], measures, strict=True):
        table[measure].unstack("objective").plot.bar(ax=ax, rot=0, legend=False)
        ax.set_title(measure)
        ax.set_xlabel("")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)  # below: covers no bar
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def plot_seed_bars(
    summary: pd.DataFrame,
    measures: Sequence[str],
    *,
    query_set: str = "clean",
    scoring: str = "dense",
    title: str = "",
) -> Figure:
    """One panel per measure, one bar per label: mean over seeds with a standard-deviation whisker.

    summary: rows of :func:`optical.study.seed_summary` (label, query_set, scoring, measure, mean, std).
    """
    rows = summary[(summary.query_set == query_set) & (summary.scoring == scoring)]
    fig, axes = plt.subplots(1, len(measures), figsize=(3.4 * len(measures), 3.6), squeeze=False)
    for ax, measure in zip(axes[0], measures, strict=True):
        part = rows[rows.measure == measure]
        ax.bar(part.label, part["mean"], yerr=part["std"].fillna(0), capsize=3, color="tab:blue", alpha=0.8)
        ax.set_title(measure)
        ax.tick_params(axis="x", rotation=90, labelsize=8)  # upright labels cannot run into their neighbours
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_seed_curves(
    summary: pd.DataFrame,
    x: str,
    measures: Sequence[str],
    *,
    query_set: str = "clean",
    scoring: str = "dense",
    title: str = "",
    log_x: bool = True,
) -> Figure:
    """One panel per measure: mean over seeds against ``x`` (a summary column), one line per label, ±1 std band."""
    rows = summary[(summary.query_set == query_set) & (summary.scoring == scoring)]
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 3.6), squeeze=False)
    for ax, measure in zip(axes[0], measures, strict=True):
        for label, part in rows[rows.measure == measure].groupby("label", sort=False):
            part = part.sort_values(x)
            ax.plot(part[x], part["mean"], "o-", label=label)
            ax.fill_between(
                part[x], part["mean"] - part["std"].fillna(0), part["mean"] + part["std"].fillna(0), alpha=0.15
            )
        if log_x:
            ax.set_xscale("log", base=2)
        ax.set_xlabel(x.replace("_", " "))
        ax.set_title(measure)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def label_colors(labels: Sequence[str]) -> dict[str, tuple]:
    """A distinct colour per label, in order: tab10 for up to ten labels, tab20 for up to twenty."""
    labels = list(dict.fromkeys(labels))
    cmap = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    return {label: cmap(i % cmap.N) for i, label in enumerate(labels)}


LEGEND_WIDTH = 2.4  # inches added to a figure for a legend beside its panels


def _legend_beside(ax: Axes) -> None:
    """The legend right of ``ax`` (the top-right panel), where it hides no curve however many labels there are."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


def plot_learning_curves(curves: pd.DataFrame, *, title: str = "") -> Figure:
    """Dev measure against training steps: a row per measure, a column per scoring, a line per label.

    curves: rows of :func:`optical.study.learning_curves` (label, seed, step, scoring, measure,
    value, reference); several seeds are drawn as their mean with a band of ±1 standard deviation, and
    reference lines (untrained systems) dashed.
    """
    dashed = set(curves.label[curves.reference]) if "reference" in curves else set()
    measures, scorings = list(dict.fromkeys(curves.measure)), list(dict.fromkeys(curves.scoring))
    fig, axes = plt.subplots(
        len(measures), len(scorings), figsize=(5.2 * len(scorings) + LEGEND_WIDTH, 3.4 * len(measures)), squeeze=False
    )
    stats = curves.groupby(["measure", "scoring", "label", "step"])["value"].agg(["mean", "std"]).sort_index()
    colors = label_colors(curves.label)
    for row, measure in enumerate(measures):
        for col, scoring in enumerate(scorings):
            ax = axes[row][col]
            for label in dict.fromkeys(curves.label):
                if (measure, scoring, label) not in stats.index.droplevel("step"):
                    continue
                part = stats.loc[(measure, scoring, label)].sort_index()
                style = {"color": colors[label], "linestyle": "--" if label in dashed else "-"}
                ax.plot(part.index, part["mean"], label=label, **style)
                spread = part["std"].fillna(0)
                ax.fill_between(
                    part.index, part["mean"] - spread, part["mean"] + spread, color=colors[label], alpha=0.15
                )
            ax.set_title(f"{measure}, {scoring} scoring", fontsize=9)
            ax.set_xlabel("training step")
    _legend_beside(axes[0][-1])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_drift(logs: pd.DataFrame, *, window: int = 20, title: str = "") -> Figure:
    """Per-step drift diagnostics, smoothed over ``window`` steps: pooled cosine and plan entropy, a line per label.

    logs: rows of :func:`optical.study.training_logs` (label, seed, step, loss, pooled_cosine, plan_entropy).
    """
    columns = ["loss", "pooled_cosine", "plan_entropy"]
    fig, axes = plt.subplots(1, len(columns), figsize=(4.6 * len(columns) + LEGEND_WIDTH, 3.4), squeeze=False)
    means = logs.groupby(["label", "step"], sort=False)[columns].mean()
    colors = label_colors(logs.label)
    for ax, column in zip(axes[0], columns, strict=True):
        for label in dict.fromkeys(logs.label):
            series = means.loc[label, column].sort_index()
            if series.notna().any():
                ax.plot(series.index, series.rolling(window, min_periods=1).mean(), label=label, color=colors[label])
        ax.set_title(column.replace("_", " "), fontsize=9)
        ax.set_xlabel("training step")
    _legend_beside(axes[0][-1])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
