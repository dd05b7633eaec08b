"""Study figures stay readable: the tick labels of the bar charts do not run into each other."""

import itertools

import matplotlib.pyplot as plt
import pandas as pd

from optical.plots import plot_seed_bars

LABELS = ["ot", "ot[contrastive_weight=0.1]", "hard-align", "kl", "mse", "cls-mse", "contrastive", "zero-shot"]


def test_bar_chart_labels_of_a_study_do_not_overlap():
    summary = pd.DataFrame(
        [
            {"label": label, "query_set": "clean", "scoring": "dense", "measure": measure, "mean": 0.1, "std": 0.01}
            for label in LABELS
            for measure in ("MAP", "R@10")
        ]
    )
    figure = plot_seed_bars(summary, ("MAP", "R@10"), title="t")
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    for ax in figure.axes:
        labels = ax.get_xticklabels()
        assert [label.get_text() for label in labels] == LABELS
        boxes = {label.get_text(): label.get_window_extent(renderer) for label in labels}
        overlapping = [(a, b) for a, b in itertools.combinations(LABELS, 2) if boxes[a].overlaps(boxes[b])]
        assert not overlapping, overlapping
    plt.close(figure)
