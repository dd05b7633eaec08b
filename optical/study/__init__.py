"""The research-question harness: one trained student per run, scored every way the questions need.

A :class:`StudyRun` names what is trained (language, objective, bitext size, epochs, seed,
code-switched augmentation, masked-LM pre-training); :func:`score_run` trains it under
:class:`StudySettings` (same data, splits and budget for every objective) and scores it on

- CLIR: the embedded collection's foreign queries against English passages, per query, with every
  scoring of ``settings.scorings`` (pooled vectors and MaxSim over token vectors);
- code-switched queries: the same queries with a share of their words switched to English (dense);
- bitext retrieval: each held-out foreign sentence must find its English translation among all.

Scores are kept by the run and the settings, as a gzipped JSON record under ``records_dir`` (the
notebooks keep them in ``figures/runs/``, committed, so another machine continues a study where the
last one stopped) or else cached under ``work_dir/studies``, so a notebook that is rerun or
interrupted only trains what is missing.

Modules: ``settings`` (runs, settings, recipes, grids), ``presets`` (named budgets: the fair trial's, the dev
search's), ``data`` (what a language's runs share), ``records`` (kept scores), ``training`` (a study's student, its
learning curve), ``runner`` (scoring runs, their long tables, significance: the paired bootstrap over queries and
seeds), ``tables`` (summaries, Holm-corrected families, verdicts, results rows).
"""

from optical.study.data import StudyData, run_lexicon, study_data
from optical.study.presets import PRESETS, Budget
from optical.study.runner import (
    fill_cache,
    group_scores,
    kl_targets,
    learning_curves,
    run_overview,
    run_study,
    score_run,
    significance,
    switching_changes,
    tests_against_references,
    training_logs,
)
from optical.study.settings import (
    CLEAN_QUERIES_ONLY,
    DEV_CHOSEN_RECIPES,
    FINAL_RECIPES,
    NO_BITEXT,
    RECIPE_GRIDS,
    UNTRAINED,
    StudyRun,
    StudySettings,
    grid,
    recipe_labels,
)
from optical.study.tables import (
    by_switch_rate,
    curve_summary,
    dev_chosen,
    difference_cell,
    drift_summary,
    listed,
    mean_std_table,
    seed_summary,
    seen_from_baseline,
    to_results_rows,
    verdict,
    with_holm,
)
from optical.study.training import LearningCurve, trained_student

__all__ = [
    "PRESETS",
    "Budget",
    "CLEAN_QUERIES_ONLY",
    "DEV_CHOSEN_RECIPES",
    "FINAL_RECIPES",
    "NO_BITEXT",
    "RECIPE_GRIDS",
    "UNTRAINED",
    "LearningCurve",
    "StudyData",
    "StudyRun",
    "StudySettings",
    "by_switch_rate",
    "curve_summary",
    "dev_chosen",
    "difference_cell",
    "drift_summary",
    "fill_cache",
    "grid",
    "group_scores",
    "kl_targets",
    "learning_curves",
    "listed",
    "mean_std_table",
    "recipe_labels",
    "run_lexicon",
    "run_overview",
    "run_study",
    "score_run",
    "seed_summary",
    "seen_from_baseline",
    "significance",
    "study_data",
    "switching_changes",
    "tests_against_references",
    "to_results_rows",
    "verdict",
    "with_holm",
    "trained_student",
    "training_logs",
]
