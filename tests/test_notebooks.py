"""Every notebook runs under papermill with small parameters, and writes what it promises."""

import hashlib
import importlib.util
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def execute(name: str, tmp_path: Path, **parameters) -> None:
    papermill.execute_notebook(
        NOTEBOOKS / name, tmp_path / f"executed-{name}", parameters=parameters, cwd=NOTEBOOKS, kernel_name="python3"
    )


def displayed_markdown(executed_notebook) -> str:
    """Every Markdown output of an executed notebook, joined: its answers generated from the records."""
    return "".join(
        "".join(output["data"]["text/markdown"])
        for cell in nbformat.read(executed_notebook, as_version=4).cells
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    )


def test_notebooks_have_a_parameters_cell_first():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        code = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), path.name
        assert not any(cell.outputs for cell in code), f"{path.name} is committed with outputs"


def test_papermill_reads_every_parameter_of_every_notebook():
    """papermill skips a parameter line it cannot parse (e.g. an '=' inside its comment) and then ignores any
    value passed for it, in silence but for a log line."""
    import ast

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cell = next(cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
        assigned = [node.targets[0].id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)]
        assert list(papermill.inspect_notebook(path)) == assigned, path.name


def test_train_then_per_language_results(tmp_path, work_dir):
    figures = tmp_path / "figures"
    small = {
        "TRAIN_PAIRS": 32,
        "EPOCHS": 1,
        "NUM_QUERIES": 20,
        "SPLIT": "dev",
        "DEVICE": "cpu",
        "BIBLE_COLLECTIONS": "verse",
    }
    execute("train_and_evaluate.ipynb", tmp_path, **small, OUT_DIR=str(figures), WORK_DIR=str(work_dir))
    results = pd.read_csv(figures / "results.csv")
    assert len(results) == 25 and set(results.objective) == {"zero-shot", "ot", "bm25", "translate-encode", "fused"}
    for name in ("transport_plan_en-ny.png", "training_loss_en-ny.png"):
        assert (figures / name).read_bytes()[:8] == PNG_MAGIC

    execute(
        "per_language_results.ipynb", tmp_path, RESULTS=str(figures / "results.csv"), SPLIT="dev", OUT_DIR=str(figures)
    )
    assert (figures / "per_language_main_dev.png").read_bytes()[:8] == PNG_MAGIC
    table = (figures / "per_language_main_dev.md").read_text()
    assert "zero-shot" in table and "en-ny" in table and "nDCG@10" in table
    assert "| fused" in table and "| bm25" in table and "| translate-encode" in table  # its MaxSim rows

    # another student's rows in the same file: never averaged in, shown when chosen
    other = results.assign(teacher="my-model", student="my-model", value=results.value / 2)
    pd.concat([results, other]).to_csv(figures / "results.csv", index=False)
    shown = {"RESULTS": str(figures / "results.csv"), "SPLIT": "dev", "OUT_DIR": str(figures)}
    with pytest.raises(papermill.PapermillExecutionError, match="several settings"):
        execute("per_language_results.ipynb", tmp_path, **shown)
    execute("per_language_results.ipynb", tmp_path, **shown, SETTING={"student": "my-model"})
    mine = (figures / "per_language_main_dev_my-model.md").read_text()
    zero_shot = results.query("objective == 'zero-shot' and split == 'dev' and measure == 'MAP'").value.item()
    assert f"| {zero_shot / 2:.4f} |" in mine and f"| {zero_shot:.4f} |" in table  # its own rows alone
    assert (figures / "per_language_main_dev.md").read_text() == table  # the packaged model's table untouched


def test_a_failing_notebook_names_the_cell(tmp_path, work_dir):
    with pytest.raises(papermill.PapermillExecutionError, match="unknown objective"):
        execute(
            "train_and_evaluate.ipynb",
            tmp_path,
            OBJECTIVE="nonsense",
            TRAIN_PAIRS=8,
            SPLIT="dev",
            NUM_QUERIES=5,
            OUT_DIR=str(tmp_path / "figures"),
            WORK_DIR=str(work_dir),
        )
    assert not (tmp_path / "figures" / "results.csv").exists()  # nothing half-written


@pytest.mark.parametrize(
    "language, trained_by, study, objectives",
    [
        ("ny", "ot", "alignment", {"zero-shot", "zero-shot greedy", "ot[batch_size=16]", "ot[batch_size=16] greedy"}),
        (
            "grc",
            "ot",
            "alignment-human",
            {"zero-shot", "zero-shot greedy", "ot[batch_size=16]", "ot[batch_size=16] greedy", "eflomal"}
            | {"eflomal, transductive"},
        ),
        # labelled by what its checkpoint says trained it: the objective and its settings off their defaults
        ("ny", "kl", "alignment", {"zero-shot", "zero-shot greedy", "kl[batch_size=16]", "kl[batch_size=16] greedy"}),
    ],
)
def test_transport_plans_against_reference_links(tmp_path, teacher, language, trained_by, study, objectives):
    import copy

    from optical.data import load_bible_bitext
    from optical.train import TrainConfig, train

    student = copy.deepcopy(teacher).requires_grad_(True)
    train(
        student,
        teacher,
        load_bible_bitext(language).pairs[:32],
        TrainConfig(objective=trained_by, epochs=1, batch_size=16, device="cpu"),
        checkpoint_dir=tmp_path / "ckpt",
        progress=False,
    )
    figures = tmp_path / "figures"
    execute(
        "transport_plans.ipynb",
        tmp_path,
        LANGUAGE=language,
        CHECKPOINT=str(tmp_path / "ckpt" / "last.pt"),
        SPLIT="dev",
        NUM_SHOWN=1,
        NUM_SCORED=4,
        REFERENCE_PAIRS=300,
        OUT_DIR=str(figures),
    )
    assert (figures / f"transport_plans_en-{language}.png").read_bytes()[:8] == PNG_MAGIC
    results = pd.read_csv(figures / "results.csv")
    assert set(results.study) == {study} and set(results.objective) == objectives
    assert set(results.bitext) == {"bible"} and set(results.student) == {"all-MiniLM-L6-v2"}
    assert set(results.measure) == {"link_precision", "link_recall", "link_f1", "link_aer"}
    assert len(results) == 4 * len(objectives) and results.value.between(0, 1).all()
    table = (figures / f"alignment_agreement_en-{language}.md").read_text()
    assert f"`{trained_by}[batch_size=16]`: the student of checkpoint `ckpt`" in table
    assert len(list((figures / "alignments").glob("eflomal-*.json"))) == (2 if language == "grc" else 1)  # kept
    assert ("human word alignments" in table) == (language == "grc")


def test_transport_plans_of_a_users_bitext(tmp_path, teacher, bitext):
    """A language without a packaged Bible: eflomal learns from the user's training TSV, pairs come from theirs."""
    import copy

    from test_task import write_tsv

    from optical.data import read_bitext
    from optical.train import TrainConfig, train

    training = write_tsv(tmp_path / "train.tsv", bitext.pairs[:300])
    held_out = write_tsv(tmp_path / "held.tsv", bitext.pairs[300:360])
    student = copy.deepcopy(teacher).requires_grad_(True)
    config = TrainConfig(epochs=1, batch_size=16, device="cpu")
    pairs = read_bitext(training, language="xx").pairs[:32]
    train(student, teacher, pairs, config, checkpoint_dir=tmp_path / "ckpt", progress=False)
    figures = tmp_path / "figures"
    execute(
        "transport_plans.ipynb",
        tmp_path,
        LANGUAGE="xx",
        CHECKPOINT=str(tmp_path / "ckpt" / "last.pt"),
        TRAIN_BITEXT=training,
        HELD_OUT_BITEXT=held_out,
        NUM_SHOWN=1,
        NUM_SCORED=4,
        REFERENCE_PAIRS=300,
        OUT_DIR=str(figures),
    )
    results = pd.read_csv(figures / "results.csv")
    assert set(results.language) == {"en-xx"} and set(results.study) == {"alignment"}
    assert set(results.bitext) == {f"train.tsv@{hashlib.sha256(Path(training).read_bytes()).hexdigest()[:16]}"}
    assert (
        "4 held-out test pairs; eflomal learned from them and 300 training pairs"
        in (figures / "alignment_agreement_en-xx.md").read_text()
    )


def load_batch_runner():
    spec = importlib.util.spec_from_file_location(
        "regenerate_figures", NOTEBOOKS.parent / "scripts/regenerate_figures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_notebook(path: Path, cells: list) -> Path:
    """A Python 3 notebook of ``cells`` written to ``path``, for the batch runner."""
    notebook = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    )
    notebook.cells = cells
    nbformat.write(notebook, path)
    return path


def test_a_failed_batch_run_exits_naming_notebook_and_cell_and_keeps_the_good_output(tmp_path):
    cells = [
        nbformat.v4.new_code_cell("FAIL = False", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("if FAIL:\n    raise RuntimeError('the study broke')"),
    ]
    source = write_notebook(tmp_path / "study.ipynb", cells)
    output = tmp_path / "executed" / "study.ipynb"
    runner = load_batch_runner()

    runner.run(source, output, {"FAIL": False})
    good = output.read_bytes()
    # Cell 3 of the executed notebook, which the message points to: papermill injects the parameters as cell 2.
    with pytest.raises(SystemExit, match=r"study.ipynb failed in cell 3: RuntimeError: the study broke") as exit_:
        runner.run(source, output, {"FAIL": True})
    assert exit_.value.code != 0  # sys.exit with a message exits 1
    assert output.read_bytes() == good  # the good executed notebook is untouched
    assert "the study broke" in (tmp_path / "executed" / "study.failed.ipynb").read_text()
    runner.run(source, output, {"FAIL": False})
    assert not (tmp_path / "executed" / "study.failed.ipynb").exists()


def test_a_batch_run_keeps_only_the_last_state_of_each_progress_bar(tmp_path):
    """Text progress bars (one stream output per update) fold to what JupyterLab shows: each bar's last line."""
    bars = "from tqdm.std import tqdm\nfor name in 'ab':\n    for _ in tqdm(range(50), desc=name, mininterval=0): pass"
    source = write_notebook(tmp_path / "bars.ipynb", [nbformat.v4.new_code_cell(bars + "\nprint('done')")])
    output = tmp_path / "executed" / "bars.ipynb"
    load_batch_runner().run(source, output, {})
    outputs = nbformat.read(output, as_version=4).cells[0].outputs
    assert len(outputs) <= 3  # stderr, stdout, and the bar's closing newline flushed after stdout
    streams = {name: "".join(o.text for o in outputs if o.name == name) for name in ("stdout", "stderr")}
    assert streams["stdout"] == "done\n"
    lines = streams["stderr"].strip().splitlines()
    assert [line.split("|")[0].strip() for line in lines] == ["a: 100%", "b: 100%"] and "\r" not in streams["stderr"]


def test_a_batch_run_keeps_no_widget_of_the_model_loading_bar(tmp_path):
    """transformers draws its "Loading weights" bar with tqdm.auto: in a batch run, a widget no one can see."""
    load = "from optical.encoders import DEFAULT_MODEL, TokenEncoder\nTokenEncoder(DEFAULT_MODEL)\nprint('loaded')"
    source = write_notebook(tmp_path / "load.ipynb", [nbformat.v4.new_code_cell(load)])
    output = tmp_path / "executed" / "load.ipynb"
    load_batch_runner().run(source, output, {})
    outputs = nbformat.read(output, as_version=4).cells[0].outputs
    assert [o.text for o in outputs if o.get("name") == "stdout"] == ["loaded\n"]
    assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]


def test_research_question_notebooks(tmp_path, work_dir):
    """All five, tiny: two seeds so spreads exist; they share the work folder, so RQ3 and RQ4 reuse RQ1's scores."""
    figures = tmp_path / "figures"
    tiny = {
        "SPLIT": "dev",
        "NUM_QUERIES": 10,
        "OUT_DIR": str(figures),
        "WORK_DIR": str(work_dir),
        "EXTRA_SETTINGS": {"bitext_pairs": 20, "lexicon_pairs": 400, "max_length": 32, "switch_rates": [0.5]},
    }
    # the fair trial's preset at 16 pairs, 2 epochs: 2 steps, scored at each; RQ1, RQ3 and RQ4 share its runs
    budget = {"BUDGET": {"train_pairs": 16, "seeds": [0, 1], "epochs": 2, "curve_every": 1, "curve_queries": 8}}
    budget["BUDGET"]["more_seeds"] = {"kl[kl_temperature=0.05]": [2]}  # one label with a further seed (RQ4: none)
    rq1_objectives = ["ot", "kl", "zero-shot", "dictionary-translate", "contrastive"]
    execute("rq1_ot_vs_baselines.ipynb", tmp_path, OBJECTIVES=rq1_objectives, **budget, **tiny)
    execute("rq3_alignment_recall.ipynb", tmp_path, OBJECTIVES=rq1_objectives, **budget, **tiny)
    same_students = {"BUDGET": {k: v for k, v in budget["BUDGET"].items() if k not in ("seeds", "more_seeds")}}
    execute("rq1_topical.ipynb", tmp_path, SEEDS=[0, 1], **same_students, **tiny)  # RQ1's students, judged by topic
    topical = (figures / "rq1-topical_en-ny.md").read_text()
    assert "## dense scoring, all queries" in topical and "## maxsim scoring, subject queries" in topical
    assert "| random ranking |" in topical and "| kl[kl_temperature=0.05] " in topical and "R@100" in topical
    assert "A random ranking scores MAP" in displayed_markdown(tmp_path / "executed-rq1_topical.ipynb")
    rq3 = (figures / "rq3-alignment-recall_en-ny.md").read_text()
    assert "| kl[kl_temperature=0.05]" in rq3 and "| dictionary-translate" in rq3  # every objective, KL too
    execute("rq4_code_switched_queries.ipynb", tmp_path, OBJECTIVES=["ot", "zero-shot"], **budget, **tiny)
    execute("rq2_data_size.ipynb", tmp_path, SIZES=[8, 16], OBJECTIVES=["ot", "contrastive"], SEEDS=[0, 1], **tiny)
    rq5 = {"LANGUAGES": ["ny"], "TRAIN_PAIRS": 16, "PRETRAINING": {"steps": 2}}
    rq5["MAX_CUT_SHARE"] = 0  # stay at 32 tokens
    rq5["SEEDS"] = [0, 1]
    execute("rq5_codeswitch_vs_pretraining.ipynb", tmp_path, **rq5, **tiny)
    for study in (
        "rq1-ot-vs-baselines",
        "rq2-data-size",
        "rq3-alignment-recall",
        "rq4-code-switched-queries",
        "rq5-codeswitch-vs-pretraining",
    ):
        assert (figures / f"{study}_en-ny.png").read_bytes()[:8] == PNG_MAGIC, study
        assert "en-ny" in (figures / f"{study}_en-ny.md").read_text(), study
    results = pd.read_csv(figures / "results.csv")
    assert set(results.study) >= {"rq1-ot-vs-baselines", "rq5-codeswitch-vs-pretraining"}
    assert set(results[results.study == "rq1-topical"].split) == {"topical-dev"}
    rq1 = results[(results.study == "rq1-ot-vs-baselines") & (results.measure == "MAP")]
    assert set(rq1.objective) == {
        "ot",
        "ot[contrastive_weight=0.1]",
        "ot[contrastive_weight=1.0]",
        "ot[contrastive_weight=1.0,negatives=8]",
        "kl",
        "kl[hard_negatives=16]",
        "kl[kl_temperature=0.05]",
        "zero-shot",
        "dictionary-translate",
        "contrastive",
        "contrastive[negatives=8]",
    }
    at_budget = results[(results.study == "rq1-ot-vs-baselines") & (results.measure == "clean@last:MAP")]
    assert set(at_budget.objective) == set(rq1.objective)  # every run also at the common budget
    rq2 = (figures / "rq2-data-size_en-ny.md").read_text()
    assert "## maxsim scoring" in rq2 and "| ot+cs0.3 " in rq2 and "pairs_switched" in rq2  # an equal-step test ran
    versus_rivals = rq2.split("Code-switched copies against the other objectives on the same pairs")[1:]
    assert len(versus_rivals) == 2 and all("| ot+cs0.3    | contrastive |" in table for table in versus_rivals)
    for study in ("rq2-data-size", "rq5-codeswitch-vs-pretraining"):  # both scorings, a figure each
        assert "## maxsim scoring" in (figures / f"{study}_en-ny.md").read_text(), study
        assert (figures / f"{study}_en-ny_maxsim.png").read_bytes()[:8] == PNG_MAGIC, study
    report = (figures / "rq1-ot-vs-baselines_en-ny.md").read_text()
    assert "at the common budget" in report and "best dev step" in report and "| device" in report
    references = "ot, ot[contrastive_weight=0.1], ot[contrastive_weight=1.0], ot[contrastive_weight=1.0,negatives=8]"
    assert f"Against each of {references}" in report  # every recipe of OT and of KL is a reference
    assert "p (Holm) |" in report and "CI low |" in report  # intervals and the family's adjusted p-values
    for notebook in ("rq1_ot_vs_baselines.ipynb", "rq2_data_size.ipynb", "rq5_codeswitch_vs_pretraining.ipynb"):
        answer = displayed_markdown(tmp_path / f"executed-{notebook}")
        assert "p " in answer and "[" in answer, notebook  # an answer generated from the records, with intervals
    dev_curves = report.split("## Dev curves")[1]  # each label's mean dev curve: where KL's recipe is chosen
    assert "kl[kl_temperature=0.05]" in dev_curves and "maxsim" in dev_curves
    assert (figures / "rq1-ot-vs-baselines_curves_en-ny.png").read_bytes()[:8] == PNG_MAGIC
    assert sorted(rq1[(rq1.objective == "ot") & (rq1.scoring == "dense")].seed) == [0, 1]
    assert sorted(rq1[(rq1.objective == "kl[kl_temperature=0.05]") & (rq1.scoring == "dense")].seed) == [0, 1, 2]
    assert "seeds [0, 1]; `kl[kl_temperature=0.05]` also 2" in report
    records = list((figures / "runs").glob("*.json.gz"))  # each run's scores, kept beside the figures
    assert len(records) >= len(rq1[["objective", "seed"]].drop_duplicates())
    assert set(rq1.scoring) == {"dense", "maxsim"}  # every objective scored both ways, neither row replaced
    assert (figures / "rq1-ot-vs-baselines_en-ny_maxsim.png").read_bytes()[:8] == PNG_MAGIC


def test_learning_curves_notebook(tmp_path, work_dir):
    figures = tmp_path / "figures"
    execute(
        "learning_curves.ipynb",
        tmp_path,
        OBJECTIVES=["ot", "kl"],
        BUDGET={"train_pairs": 24, "epochs": 1, "curve_every": 2, "curve_queries": 8, "patience": 0},
        NUM_QUERIES=10,
        DEVICE="cpu",
        OUT_DIR=str(figures),
        WORK_DIR=str(work_dir),
        EXTRA_SETTINGS={"bitext_pairs": 20, "lexicon_pairs": 400, "max_length": 32, "switch_rates": [0.5]},
    )
    for name in ("curves_en-ny.png", "drift_en-ny.png"):
        assert (figures / name).read_bytes()[:8] == PNG_MAGIC
    table = (figures / "curves_en-ny.md").read_text()
    assert "peak step" in table and "hard-align" not in table and "| kl" in table
    answer = displayed_markdown(tmp_path / "executed-learning_curves.ipynb")
    assert "**Against OT**" in answer and "`kl` " in answer and "pooled cosine, end" in answer  # from the records


def test_ot_recipe_notebook(tmp_path, work_dir):
    figures = tmp_path / "figures"
    budget = {"train_pairs": 24, "epochs": 1, "curve_queries": 8}
    tiny = {
        "NUM_QUERIES": 10,
        "DEVICE": "cpu",
        "OUT_DIR": str(figures),
        "WORK_DIR": str(work_dir),
        "EXTRA_SETTINGS": {"bitext_pairs": 20, "lexicon_pairs": 400, "max_length": 32, "switch_rates": [0.5]},
    }
    ot = {"RECIPES": [{}, {"marginal_penalty": 1.0}], "BUDGET": budget | {"curve_every": 2}}
    execute("ot_recipe.ipynb", tmp_path, **ot, **tiny)
    table = (figures / "ot-recipe_en-ny.md").read_text()
    assert "ot[marginal_penalty=1.0]" in table and "| ot " in table
    for name in ("ot-recipe_en-ny.png", "ot-recipe_drift_en-ny.png"):
        assert (figures / name).read_bytes()[:8] == PNG_MAGIC
    # the same notebook compares KL's variants, and reports how peaked the teacher's target is
    kl = {"OBJECTIVE": "kl", "RECIPES": [{}, {"kl_temperature": 0.05}], "BUDGET": budget | {"curve_every": 3}}
    execute("ot_recipe.ipynb", tmp_path, **kl, **tiny)
    table = (figures / "kl-recipe_en-ny.md").read_text()
    assert "kl[kl_temperature=0.05]" in table and "teacher's target distribution" in table and "diagonal_mass" in table
    # contrastive with KL's candidates, beside KL's own run on the same dev protocol (a rival, from the records)
    recipes = [{}, {"negatives": 4}]
    execute(
        "ot_recipe.ipynb",
        tmp_path,
        OBJECTIVE="contrastive",
        RECIPES=recipes,
        RIVALS={"kl": [{}]},
        BUDGET=budget | {"curve_every": 3},
        **tiny,
    )
    answer = displayed_markdown(tmp_path / "executed-ot_recipe.ipynb")
    assert "contrastive's dense dev curves, this one seed's choice: **contrastive" in answer and "| *kl* " in answer
    assert " against `kl`, peak" in answer and "pooled cosine, end" in answer  # rivals, and the drift diagnostics
    assert "contrastive[negatives=4]" in (figures / "contrastive-recipe_en-ny.md").read_text()


def test_train_and_evaluate_switches_to_a_user_collection(tmp_path, work_dir, bitext):
    from test_main_job import write_user_collection

    write_user_collection(tmp_path / "clef-like", bitext)
    out = tmp_path / "figures"
    execute(
        "train_and_evaluate.ipynb",
        tmp_path,
        COLLECTION=str(tmp_path / "clef-like"),
        PASSAGE_WINDOW=12,
        TRAIN_PAIRS=8,
        EPOCHS=1,
        OUT_DIR=str(out),
        WORK_DIR=str(work_dir),
        DEVICE="cpu",
    )
    results = pd.read_csv(out / "results.csv")
    assert set(results.split) == {"clef-like"}


def recommendation_of(executed_notebook) -> str:
    """The generated recommendation: the last cell's Markdown output."""
    executed = nbformat.read(executed_notebook, as_version=4)
    return "".join(output.get("data", {}).get("text/markdown", "") for output in executed.cells[-1].outputs)


TINY_BEST_SYSTEM = {
    "BUDGET": {"train_pairs": 300, "epochs": 1, "curve_every": 5, "curve_queries": 10},  # 10 steps, a dev point each 5
    "NUM_QUERIES": 20,
    "MAX_LENGTH": 48,
    "K1": [1.2],
    "B": [0.5, 0.75],
    "TRANSLATIONS": [1, 2],
    "STEM": [True],
    "FUSION_WEIGHTS": [0.5],
    "ADDED_WEIGHTS": [0.0, 0.5],
    "DEVICE": "cpu",
    "SPLIT": "dev",
}


def test_best_system_notebook(tmp_path, work_dir):
    figures = tmp_path / "figures"
    students = {"STUDENT_RECIPES": {"ot": [{}]}, "STUDENT_SEEDS": [0, 1]}
    execute("best_system.ipynb", tmp_path, **TINY_BEST_SYSTEM, **students, OUT_DIR=str(figures), WORK_DIR=str(work_dir))
    table = (figures / "best_system_en-ny.md").read_text()
    assert "bm25, one-best" in table and "translate-encode" in table and "zero-shot" in table
    assert "ot seeds [0, 1] (300 pairs x 1 epochs, each at its best dev step)" in table and "p (Holm)" in table
    assert "bm25 + ot maxsim" in table or "bm25 + ot dense" in table  # every dense system's best fusion
    results = pd.read_csv(figures / "results.csv")
    assert set(results.study) == {"best_system"} and set(results.split) == {"dev"}
    assert {"bm25", "dense", "maxsim"} <= set(results.scoring) and results.scoring.str.startswith("fused-").any()
    assert set(results[results.objective == "zero-shot"].train_pairs) == {0}
    assert set(results[results.objective == "ot"].seed) == {0, 1}  # a row per student seed
    assert set(results[results.objective == "translate-encode"].seed) == {0}
    assert (figures / "runs/lexicons/en-ny-300-seed0.counts.json").stat().st_size > 0  # kept beside the records
    recommendation = recommendation_of(tmp_path / "executed-best_system.ipynb")
    assert recommendation.startswith("For en-ny on the verse collection, deploy bm25 + ")  # the dev's choice, in words


def test_best_system_notebook_on_the_topical_collection(tmp_path, work_dir):
    figures = tmp_path / "figures"
    topical = {"COLLECTION": "topical", "STUDENT_RECIPES": {}}
    execute("best_system.ipynb", tmp_path, **TINY_BEST_SYSTEM, **topical, OUT_DIR=str(figures), WORK_DIR=str(work_dir))
    table = (figures / "best_system_topical_en-ny.md").read_text()
    assert "topical collection `topical-en-ny-dev`" in table and "R@100" in table
    results = pd.read_csv(figures / "results.csv")
    assert set(results.split) == {"topical-dev"} and "R@100" in set(results.measure)
    recommendation = recommendation_of(tmp_path / "executed-best_system.ipynb")
    assert recommendation.startswith("For en-ny on the topical collection, deploy ")
    assert recommendation.endswith("No trained student was compared.")


def test_vocabulary_notebook(tmp_path, work_dir):
    figures = tmp_path / "figures"
    tiny = {"TRAIN_PAIRS": 32, "EPOCHS": 1, "SEEDS": [0], "NUM_QUERIES": 10, "MAX_LENGTH": 64, "DEVICE": "cpu"}
    execute(
        "vocabulary.ipynb", tmp_path, VOCABULARY_SIZES=[0, 500], **tiny, OUT_DIR=str(figures), WORK_DIR=str(work_dir)
    )
    table = (figures / "vocabulary_en-grc.md").read_text()
    assert "teacher's" in table and "+500 pieces" in table and "query pieces per word" in table


def test_the_batch_runner_passes_only_parameters_the_notebooks_declare():
    """papermill warns, and runs on, when given a parameter the notebook lacks: the setting would be lost."""
    runner = load_batch_runner()
    declared = {path.name: set(papermill.inspect_notebook(path)) for path in NOTEBOOKS.glob("*.ipynb")}
    for own in [*runner.LANGUAGE_PARAMETERS.values(), runner.MULTILINGUAL]:
        assert set(own) <= declared["train_and_evaluate.ipynb"] & declared["transport_plans.ipynb"]
    assert "WORD_EMBEDDINGS" in declared["train_and_evaluate.ipynb"]  # OPTICAL's setting trims its students'
    for own in [*runner.BEST_SYSTEM_PARAMETERS.values(), runner.BEST_SYSTEM_TOPICAL]:
        assert set(own) <= declared["best_system.ipynb"]
    for notebook, _, own in runner.STUDIES:
        assert set(own) <= declared[notebook]


def test_zero_shot_models_notebook(tmp_path, work_dir):
    figures = tmp_path / "figures"
    figures.mkdir()
    tiny = {"MODELS": ["all-MiniLM-L6-v2"], "LANGUAGES": ["ny"], "SPLIT": "dev", "NUM_QUERIES": 20}
    execute("zero_shot_models.ipynb", tmp_path, **tiny, OUT_DIR=str(figures), WORK_DIR=str(work_dir))
    results = pd.read_csv(figures / "results.csv")
    assert set(results.study) == {"zero-shot-models"}
    assert set(results.objective) == {"all-MiniLM-L6-v2", "all-MiniLM-L6-v2, English queries", "random"}
    settings = results.drop_duplicates(["objective", "bitext", "teacher", "student"]).set_index("objective")
    assert settings.index.is_unique  # one setting each
    columns = ["bitext", "teacher", "student"]
    assert settings.loc["random", columns].tolist() == ["-", "-", "-"]  # it reads no bitext and encodes nothing
    english = settings.loc["all-MiniLM-L6-v2, English queries", columns].tolist()
    assert english == ["-", "all-MiniLM-L6-v2", "all-MiniLM-L6-v2"]
    kinds = {f"topical-dev/{kind}" for kind in ("name", "subject", "mixed")}
    assert set(results.split) == {"dev", "paraphrase-dev", "topical-dev", *kinds}
    dense = results[(results.measure == "MAP") & (results.scoring == "dense")]
    for collection in ("dev", "paraphrase-dev", "topical-dev"):
        maps = dense[dense.split == collection].set_index("objective").value
        assert maps["all-MiniLM-L6-v2, English queries"] > 0.05 > maps["all-MiniLM-L6-v2"]  # the language gap
        answer = nbformat.read(tmp_path / "executed-zero_shot_models.ipynb", as_version=4).cells[-1].outputs[0]
        assert f"`{collection}`, MAP dense (MaxSim); random ranking" in answer["data"]["text/markdown"]
        assert f"{maps['all-MiniLM-L6-v2']:.4f}" in answer["data"]["text/markdown"]  # prose read from the numbers
    table = (figures / "zero_shot_models.md").read_text()
    main_table, kinds = table.split("MAP (dense) by the kind")
    assert main_table.count("| en-ny  | topical-dev") == 3 and kinds.count("| en-ny  | topical-dev") == 2
