"""Run every notebook with papermill and regenerate figures/ (``make figures``; ``--quick`` for a check).

Full mode trains and evaluates every installed language at the notebooks' own parameters, draws
its transport plans beside reference word links, measures Greek with and without an extended student
vocabulary, tabulates all languages, scores the zero-shot models (multilingual-e5-small, MiniLM), then answers the five
research questions and compares the bitext-only systems per language (``best_system.ipynb``)
(``--only main`` or ``--only studies`` for one half); it writes into figures/
and keeps the executed notebooks in figures/executed/. Quick mode uses tiny
parameters and writes under .cache/optical/quick/ only, so figures/ is left alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
import papermill
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

from optical.benchmark import collection_label
from optical.data import installed_languages

sys.path.insert(0, str(Path(__file__).resolve().parent))
import write_docs  # noqa: E402  (scripts/write_docs.py, beside this file)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
os.environ["OPTICAL_TEXT_PROGRESS"] = "1"  # the kernels inherit it: text progress bars reach this console's log
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # and no "Loading weights" widget, which no batch run can show
QUICK = {"TRAIN_PAIRS": 48, "EPOCHS": 1, "NUM_QUERIES": 30, "SPLIT": "dev"}
QUICK_PLANS = {"NUM_SHOWN": 1, "NUM_SCORED": 5, "REFERENCE_PAIRS": 300, "SPLIT": "dev"}
# Greek is 4.8 WordPiece pieces a word: 9.5% of its verses would be cut at the default 128 tokens, 0.13% at 192.
LANGUAGE_PARAMETERS = {"grc": {"MAX_LENGTH": 192}}
# OPTICAL's own setting, multilingual-e5-small as teacher and student, at the main job's budget (its students' word
# embeddings trimmed to their pieces), on Greek, whose human word links score its transport plans.
MULTILINGUAL = {"TEACHER": "multilingual-e5-small", "STUDENT": "multilingual-e5-small"}
# best_system.ipynb: the fair trial's students exist for en-ny only; it fuses the three dev-chosen recipes' students of
# seed 5, trained again where their weights are missing (about 30 minutes each on 2 CPU cores; the default, the
# preset's 3 seeds, trains 9); Greek has 4,168 pairs in all.
BEST_SYSTEM_PARAMETERS = {
    "ny": {"STUDENT_SEEDS": [5]},
    "es": {"STUDENT_RECIPES": {}},
    "grc": {"STUDENT_RECIPES": {}, "BUDGET": {"train_pairs": 4168}, "MAX_LENGTH": 192},
}
# best_system.ipynb on the topical collection (#54): settings re-chosen on its dev books
BEST_SYSTEM_TOPICAL = {"COLLECTION": "topical"}
# RQ2 at RQ1's budget, 4 epochs, up to every Old-Testament pair: the setting that decides it (81 runs, 82,620 steps,
# 21 h of training on 2-core CPUs in float32; its records are committed, so a rerun reads them and trains nothing).
RQ2_DECIDING = {
    "SIZES": [125, 250, 500, 1000, 2000, 4000, 8000, 16000, 23145],
    "EPOCHS": 4,
    "STUDY": "rq2-data-size-4epochs",
}
# The dev curves of every objective and of OT's recipes, then the research questions, in the order that lets
# RQ1 on the topical collection, RQ3 and RQ4 reuse RQ1's trained students and RQ5 reuse RQ2's.
STUDIES = (  # (notebook, executed copy, parameters of its own)
    ("learning_curves.ipynb", "learning_curves.ipynb", {}),
    ("ot_recipe.ipynb", "ot_recipe.ipynb", {}),
    ("ot_recipe.ipynb", "kl_recipe.ipynb", {"OBJECTIVE": "kl"}),  # KL's temperature and hard negatives
    ("ot_recipe.ipynb", "contrastive_recipe.ipynb", {"OBJECTIVE": "contrastive"}),  # temperature, KL's candidates
    ("rq1_ot_vs_baselines.ipynb", "rq1_ot_vs_baselines.ipynb", {}),
    ("rq1_topical.ipynb", "rq1_topical.ipynb", {}),  # RQ1's students with kept weights, judged by topic
    ("rq3_alignment_recall.ipynb", "rq3_alignment_recall.ipynb", {}),
    ("rq4_code_switched_queries.ipynb", "rq4_code_switched_queries.ipynb", {}),
    ("rq2_data_size.ipynb", "rq2_data_size.ipynb", {}),
    ("rq2_data_size.ipynb", "rq2_data_size_4epochs.ipynb", RQ2_DECIDING),
    ("rq5_codeswitch_vs_pretraining.ipynb", "rq5_codeswitch_vs_pretraining.ipynb", {}),
)
QUICK_STUDIES = {
    "SEEDS": [0, 1],
    "SPLIT": "dev",
    "NUM_QUERIES": 30,
    "TRAIN_PAIRS": 48,
    "SIZES": [16, 48],
    "PRETRAINING": {"steps": 2},
    "EXTRA_SETTINGS": {"bitext_pairs": 100, "lexicon_pairs": 1000, "switch_rates": [0.5]},
    # every preset, smaller, and no label with further seeds
    "BUDGET": {"train_pairs": 48, "seeds": [0, 1], "curve_every": 2, "curve_queries": 10, "more_seeds": {}},
}


def run(notebook: str | Path, output: Path, parameters: dict) -> None:
    """Execute one notebook (a name in notebooks/ or a path) into ``output``.

    The notebook runs into ``<name>.running.ipynb`` and replaces ``output`` only when every cell
    succeeded, so a failed run never overwrites a good executed notebook; it is kept as
    ``<name>.failed.ipynb`` and the batch ends with the notebook's name, the cell and the error.
    """
    notebook = NOTEBOOKS / notebook if isinstance(notebook, str) else notebook
    output.parent.mkdir(parents=True, exist_ok=True)
    running, failed = output.with_suffix(".running.ipynb"), output.with_suffix(".failed.ipynb")
    print(f"== {notebook.name} -> {output} {parameters}", flush=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            notebook,
            running,
            parameters=parameters,
            cwd=notebook.parent,
            kernel_name="python3",
            progress_bar=False,
            log_output=True,  # the notebook's own progress bars (training steps) reach the console
        )
    except papermill.PapermillExecutionError as error:
        os.replace(running, failed)
        sys.exit(f"{notebook.name} failed in cell {error.exec_count}: {error.ename}: {error.evalue} (see {failed})")
    fold_progress_bars(running)
    os.replace(running, output)
    failed.unlink(missing_ok=True)
    print(f"   done in {time.perf_counter() - start:.0f} s", flush=True)


def fold_progress_bars(path: Path) -> None:
    """Merge each cell's consecutive stream outputs and keep the last state of every line redrawn with ``\\r``.

    A text progress bar writes a stream output per update; JupyterLab draws only each bar's last state,
    which is all the executed notebook keeps (RQ2's was 1 MB of bar updates before, 38,000 lines).
    """
    notebook = nbformat.read(path, as_version=4)
    CoalesceStreamsPreprocessor().preprocess(notebook, {})
    nbformat.write(notebook, path)


def quick_parameters(notebook: str, quick: bool) -> dict:
    """The QUICK_STUDIES values of the parameters ``notebook`` declares (none unless ``quick``)."""
    declared = papermill.inspect_notebook(NOTEBOOKS / notebook) if quick else {}
    return {name: value for name, value in QUICK_STUDIES.items() if name in declared}


def multilingual_setting(common: dict, figures: Path, executed: Path, device: str, quick: dict, plans: dict) -> None:
    """OPTICAL's setting on Greek into ``figures/multilingual-e5-small``: its main job, then its plans (from the
    newest main-job checkpoint: its own) against the human word links."""
    setting = {**common, **MULTILINGUAL, "LANGUAGE": "grc", "OUT_DIR": str(figures / "multilingual-e5-small")}
    main_job = {**setting, "WORD_EMBEDDINGS": "trim", "SYSTEM": "student", "DEVICE": device}
    suffix = "en-grc_multilingual-e5-small.ipynb"
    run("train_and_evaluate.ipynb", executed / f"train_and_evaluate_{suffix}", {**main_job, **quick})
    run("transport_plans.ipynb", executed / f"transport_plans_{suffix}", {**setting, **plans})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny parameters, outputs under .cache/optical/quick")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--workers", type=int, default=1, help="study runs trained at once (e.g. 8 share one GPU well; 1 on a CPU)"
    )
    parser.add_argument("--only", choices=["main", "studies"], help="the main-job notebooks or the research questions")
    args = parser.parse_args()
    base = ROOT / ".cache" / "optical" / "quick" if args.quick else ROOT
    figures, executed = base / "figures", base / "figures" / "executed"
    common = {"OUT_DIR": str(figures), "WORK_DIR": str(ROOT / ".cache" / "optical")}
    start = time.perf_counter()
    if args.only != "studies":
        quick, quick_plans = (QUICK, QUICK_PLANS) if args.quick else ({}, {})
        for language in installed_languages():
            own = {"LANGUAGE": language, **LANGUAGE_PARAMETERS.get(language, {})}
            parameters = {**common, **own, "DEVICE": args.device, **quick}
            run("train_and_evaluate.ipynb", executed / f"train_and_evaluate_en-{language}.ipynb", parameters)
            plans = {**common, **own, **quick_plans}
            run("transport_plans.ipynb", executed / f"transport_plans_en-{language}.ipynb", plans)
        if "grc" in installed_languages():
            multilingual_setting(common, figures, executed, args.device, quick, quick_plans)
            # Greek, spelled letter by letter, with and without an extended vocabulary
            vocabulary = {**common, "DEVICE": args.device}
            vocabulary |= {**QUICK, "SEEDS": [0], "VOCABULARY_SIZES": [0, 500]} if args.quick else {}
            run("vocabulary.ipynb", executed / "vocabulary_en-grc.ipynb", vocabulary)
        split = "dev" if args.quick else "test"
        for collection in ("verse", "topical"):  # the bitext-mining diagnostic, the main yardstick
            results = {"RESULTS": str(figures / "results.csv"), "OUT_DIR": str(figures)}
            results["SPLIT"] = collection_label(collection, split)
            suffix = "" if collection == "verse" else f"_{collection}"
            run("per_language_results.ipynb", executed / f"per_language_results{suffix}.ipynb", results)
        zero_shot = {**common, **({"SPLIT": "dev", "NUM_QUERIES": 30} if args.quick else {})}
        run("zero_shot_models.ipynb", executed / "zero_shot_models.ipynb", zero_shot)  # nothing trained
    if args.only != "main":
        for notebook, output, own in STUDIES:
            parameters = {**common, "DEVICE": args.device, "WORKERS": args.workers, **own}
            parameters |= quick_parameters(notebook, args.quick)
            run(notebook, executed / output, parameters)
        for language in installed_languages():  # the bitext-only systems, with the fair trial's students on en-ny
            own = {"LANGUAGE": language, "DEVICE": args.device, **BEST_SYSTEM_PARAMETERS.get(language, {})}
            parameters = {**common, **own, **quick_parameters("best_system.ipynb", args.quick)}
            run("best_system.ipynb", executed / f"best_system_en-{language}.ipynb", parameters)
            parameters |= BEST_SYSTEM_TOPICAL
            run("best_system.ipynb", executed / f"best_system_topical_en-{language}.ipynb", parameters)
    if not args.quick:
        write_docs.main([])  # docs/ and the README's results table from what the notebooks just wrote
    print(f"all notebooks done in {time.perf_counter() - start:.0f} s; figures in {figures}")


if __name__ == "__main__":
    main()
