"""Studies, one function each: build data -> train -> evaluate -> write results and figures."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch

from optical.alignment import soft_alignment
from optical.benchmark import BIBLE_COLLECTIONS, Benchmark
from optical.data import CLIRCollection
from optical.data.topical import collection_statistics
from optical.distributed import is_main_process
from optical.encoders import DEFAULT_MAX_LENGTH, DEFAULT_MODEL, TokenEncoder
from optical.export import export_student
from optical.losses import OTSettings
from optical.metrics import DEFAULT_MEASURES, evaluate, write_run
from optical.plots import plot_training_loss, plot_transport_plan
from optical.results import RESULT_COLUMNS, record_results, result_rows, setting
from optical.run_spec import RunSpec
from optical.search import DocumentSearch, SearchSettings
from optical.systems import BitextSystems, FusedSystem
from optical.task import Task
from optical.train import TrainConfig, device_name, pick_device, train, training_precision
from optical.vocabulary import TokenizationReport, tokenization_report, warn_about

SYSTEMS = ("student", "fused")  # what the main job evaluates besides the zero-shot teacher


@dataclass
class MainConfig:
    """The main job: distil an English teacher into a query encoder for one language, evaluate CLIR."""

    language: str = "ny"  # packaged: ny (Chichewa), es (Spanish), grc (Greek NT); any code with your own bitext
    train_pairs: int = 6000  # training-book verse pairs drawn (seeded; Greek has 4,168)
    train_bitext: str = ""  # a two-column TSV (English, foreign) to train on instead; "" for the Bible
    collection: str = ""  # "" for the Bible; a folder with documents*, topics*|queries*, qrels*; or irds:<id>
    bible_collections: str = ",".join(BIBLE_COLLECTIONS)  # searched in the Bible's held-out books (docs/guide.md)
    query_field: str = "title"  # of TREC topics: title | description | title+description
    split: str = "test"  # books: dev (Gospels; grc: John) to choose settings, test (Acts-Revelation; grc: Matthew-Luke)
    num_queries: int = 500  # foreign verses used as queries (a fixed draw, independent of the seed)
    verses_per_passage: int = 3  # consecutive English verses per document
    teacher: str = DEFAULT_MODEL  # all-MiniLM-L6-v2 | multilingual-e5-small (packaged) | a local Hugging Face folder
    student: str = DEFAULT_MODEL  # where the student starts from (same choices)
    max_length: int = DEFAULT_MAX_LENGTH  # tokens per sentence and query (at most 1% of verses cut; grc needs 192)
    out_dir: str = "figures"  # results.csv, figures and the summary table go here
    work_dir: str = ".cache/optical"  # collections, runs, document embeddings, checkpoints
    export_dir: str = ""  # a folder: the trained student saved there for transformers and SentenceTransformer
    train: TrainConfig = field(default_factory=TrainConfig)
    search: SearchSettings = field(default_factory=SearchSettings)
    system: str = "student"  # student | fused: also BM25 and translate-encode on the training bitext's lexicon, fused
    fused_student_weight: float = 0.0  # with --system fused: the student's MaxSim run's weight (0: left out)

    def report_name(self) -> str:
        """The stem of this job's report files: ``en-<lang>`` for the packaged models' OT student on the Bible, else
        followed by what sets the job apart, as its result rows' columns do: the models (student, then a teacher
        that differs), the user's bitext and collection, the objective's label; e.g. ``en-ny_kl``,
        ``en-grc_multilingual-e5-small_ot-word_embeddings=trim``. So jobs of other settings write beside each
        other into one ``out_dir`` rather than over each other's reports."""
        models = [Path(name).name for name in dict.fromkeys((self.student, self.teacher)) if name != DEFAULT_MODEL]
        data = [Path(self.train_bitext).stem] if self.train_bitext else []
        if self.collection.startswith("irds:"):
            data.append(self.collection.removeprefix("irds:"))  # e.g. clirmatrix/ny/en
        elif self.collection:
            data.append(Path(self.collection).name)
        objective = [self.train.label] if self.train.label != TrainConfig().label else []
        parts = [f"en-{self.language}", *models, *data, *objective]
        return "_".join(re.sub(r"[^\w.=+-]+", "-", part).strip("-") for part in parts)

    def task(self) -> Task:
        """The data this job reads: its language's bitext (or ``train_bitext``) and collections (or ``collection``)."""
        names = tuple(name.strip() for name in self.bible_collections.split(",") if name.strip())
        return Task(
            self.language,
            split=self.split,
            train_bitext=self.train_bitext,
            collection=self.collection,
            query_field=self.query_field,
            bible_collections=names,
            num_queries=self.num_queries,
            verses_per_passage=self.verses_per_passage,
        )


def evaluate_encoder(
    encoder: TokenEncoder, collection: CLIRCollection, search: DocumentSearch, measures=DEFAULT_MEASURES
) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Search the collection's queries encoded by ``encoder``, evaluate at depth 1000.

    Returns (means, per-query values, run)."""
    run = search.search(encoder, collection.queries)
    means, per_query = evaluate(collection.qrels, run, measures, per_query=True)
    return means, per_query, run


def evaluate_on(
    encoder: TokenEncoder, name: str, benchmarks: list[Benchmark], searches: dict[str, DocumentSearch], runs_dir: Path
) -> dict[str, dict[str, float]]:
    """Each benchmark's queries encoded by ``encoder`` against its documents; the runs written as
    ``<collection>.<name>.trec`` under ``runs_dir``. Returns {label: {measure: mean}} (:meth:`Benchmark.scores`)."""
    scores = {}
    for benchmark in benchmarks:
        run = searches[benchmark.label].search(encoder, benchmark.collection.queries)
        write_run(run, runs_dir / f"{benchmark.collection.name}.{name}.trec", tag=name)
        scores |= benchmark.scores(run)
    return scores


def _rows(
    config: MainConfig,
    objective: str,
    train_pairs: int,
    epochs: int,
    scores: dict[str, dict[str, float]],
    scoring: str = "",
) -> pd.DataFrame:
    """Result rows of one system, ``scores`` {label (the split column): {measure: value}}; ``scoring`` defaults
    to the search setting's."""
    long = [(label, measure, value) for label, means in scores.items() for measure, value in means.items()]
    return result_rows(
        study="main",
        language=f"en-{config.language}",
        **setting(config.task().bitext, config.teacher, config.student),
        objective=objective,
        train_pairs=train_pairs,
        epochs=epochs,
        seed=config.train.seed,
        split=[label for label, _, _ in long],
        scoring=scoring or config.search.scoring,
        measure=[measure for _, measure, _ in long],
        value=[value for _, _, value in long],
    )


def _readable_pair(pairs, min_words: int = 6, max_words: int = 12):
    """The first pair of a short, plottable length (falls back to the first pair)."""
    return next((pair for pair in pairs if min_words <= len(pair.english.split()) <= max_words), pairs[0])


def run_spec(config: MainConfig) -> RunSpec:
    """The identity of the main job's student: the settings that decide its weights, not its evaluation; a user's
    bitext by its file name and content."""
    data = {
        "language": config.language,
        "bitext": config.task().bitext,
        "train_pairs": config.train_pairs,
        "augment_rate": 0.0,
    }
    models = {"teacher": config.teacher, "student": config.student, "max_length": config.max_length}
    return RunSpec.trained(config.train, pretraining={}, **data, **models)


def run_main(config: MainConfig, *, progress: bool = True) -> pd.DataFrame:
    """Zero-shot teacher vs the distilled student (``config.train.objective``, OT by default), embedded collection.

    Records its rows in ``out_dir/results.csv`` and writes ``transport_plan_<name>.png`` (and ``_before``),
    ``training_loss_<name>.png`` and ``main_<name>.md`` (table, setting, timings), ``<name>`` its
    :meth:`MainConfig.report_name`. Returns the rows it recorded.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    out_dir, work_dir = Path(config.out_dir), Path(config.work_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pair_name, stem = f"en-{config.language}", config.report_name()
    device = pick_device(config.train.device)

    if config.system not in SYSTEMS:
        raise ValueError(f"system must be one of {SYSTEMS}, got {config.system!r}")
    if not 0 <= config.fused_student_weight < 1:
        raise ValueError(f"fused_student_weight must be in [0, 1), got {config.fused_student_weight}")
    task = config.task()
    train_pairs = task.training_pairs(config.train_pairs, config.train.seed)
    example_pool = task.training if config.collection else task.held_out
    benchmarks = task.benchmarks
    if not config.collection:  # the Bible's collections as TREC files, for other tools
        for benchmark in benchmarks:
            benchmark.collection.write(work_dir / "collections" / benchmark.collection.name)
    collection = benchmarks[0].collection  # the verse collection (or the user's): its queries' tokens reported
    timings["data"] = time.perf_counter() - clock

    clock = time.perf_counter()
    teacher = TokenEncoder(config.teacher, max_length=config.max_length).to(device)
    student = TokenEncoder(config.student, max_length=config.max_length, output_dim=teacher.dim).to(device)
    spec = run_spec(config)
    checkpoint_dir = work_dir / "checkpoints" / f"main-{pair_name}-{spec.key()}"
    run_training = partial(
        train, student, teacher, train_pairs, config.train, checkpoint_dir=checkpoint_dir,
        teacher_cache=work_dir / "teacher_states", spec=spec.to_dict(),
    )  # fmt: skip
    if not is_main_process():  # the other torchrun workers only train their share of each batch
        run_training(progress=False)
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    tokenization = [
        tokenization_report(teacher.tokenizer, [pair.english for pair in train_pairs], config.max_length, "English"),
        *_student_tokenization(student, train_pairs, collection, config.max_length),
    ]
    warn_about(tokenization)
    searches = {
        benchmark.label: DocumentSearch(
            teacher, benchmark.collection.documents, config.search, cache_dir=work_dir / "embeddings"
        )
        for benchmark in benchmarks
    }
    timings["encode documents"] = time.perf_counter() - clock

    clock = time.perf_counter()
    zero_shot = evaluate_on(teacher, "zero-shot", benchmarks, searches, work_dir / "runs")
    timings["evaluate zero-shot"] = time.perf_counter() - clock

    example = _readable_pair(example_pool)
    epsilon = config.train.flat().get("epsilon", OTSettings.epsilon)  # the plan drawn: OT's, at the run's epsilon
    before = soft_alignment(teacher, student, example.english, example.foreign, epsilon=epsilon)

    trained = run_training(progress=progress)
    timings["teacher states"] = trained.teacher_seconds
    timings["train"] = trained.seconds  # the training loop, over every process that trained this student

    clock = time.perf_counter()
    objective = config.train.label  # e.g. ot, or ot[epsilon=0.05]: a run with other settings gets rows of its own
    distilled = evaluate_on(student, objective, benchmarks, searches, work_dir / "runs")
    timings["evaluate student"] = time.perf_counter() - clock

    after = soft_alignment(teacher, student, example.english, example.foreign, epsilon=epsilon)
    figures = {
        f"transport_plan_{stem}_before.png": plot_transport_plan(
            before, title=f"{example.pair_id}: before training, <T,C> = {before.cost:.3f}"
        ),
        f"transport_plan_{stem}.png": plot_transport_plan(
            after, title=f"{example.pair_id}: {objective} student, <T,C> = {after.cost:.3f}"
        ),
        f"training_loss_{stem}.png": plot_training_loss(
            trained.losses, title=f"{objective} distillation, {pair_name}, {len(train_pairs):,} pairs"
        ),
    }
    for name, figure in figures.items():
        figure.savefig(out_dir / name, dpi=130)
        plt.close(figure)  # a notebook shows the files; open figures would pile up over repeated runs

    parts = [
        _rows(config, "zero-shot", 0, 0, zero_shot),
        _rows(config, objective, len(train_pairs), config.train.epochs, distilled),
    ]
    if config.system == "fused":
        clock = time.perf_counter()
        for benchmark in benchmarks:
            parts += _fused_rows(config, train_pairs, benchmark, teacher, student)
        timings["bitext-only systems"] = time.perf_counter() - clock
    rows = pd.concat(parts, ignore_index=True)
    record_results(rows, out_dir / "results.csv")
    summary = out_dir / f"main_{stem}.md"
    reports = []
    if not (config.train_bitext and config.collection):  # the Bible was read: for its training or held-out books
        reports.append(f"Bible: {task.bible.report.summary()}")
    if task.user_training is not None:
        reports.append(f"training TSV: {task.user_training.report.summary()}")
    reports = "; ".join(reports)
    reports += ". Tokens (training pairs, queries): " + "; ".join(report.summary() for report in tokenization)
    if student.added_pieces:  # the tokenizer the trained student reads queries with
        extended = _student_tokenization(student, train_pairs, collection, config.max_length)
        reports += f"; with the {len(student.added_pieces):,} pieces added to the student's vocabulary: "
        reports += "; ".join(report.summary() for report in extended)
    _write_summary(summary, config, reports, benchmarks, rows, trained, len(train_pairs), timings, device)
    if config.export_dir:
        export_student(student, config.export_dir)
    return rows


def _fused_rows(config: MainConfig, train_pairs, benchmark: Benchmark, teacher, student) -> list[pd.DataFrame]:
    """Rows of :class:`~optical.systems.FusedSystem`'s parts and fusion on one benchmark, its lexicon from
    ``train_pairs`` (the student's own run has its rows already), kept beside the results: eflomal takes no seed,
    so a lexicon induced again would move these rows."""
    systems = BitextSystems.for_pairs(
        train_pairs, benchmark.collection, work_dir=config.work_dir, teacher=teacher, records_dir=config.out_dir
    )
    runs = FusedSystem(student_weight=config.fused_student_weight).runs(systems, student)
    return [
        _rows(config, system, len(train_pairs), 0, benchmark.scores(run), scoring)
        for (system, scoring), run in runs.items()
        if system != "student"
    ]


def _student_tokenization(student, train_pairs, collection, max_length: int) -> list[TokenizationReport]:
    """The training pairs' foreign sides and the queries through the student's tokenizer."""
    return [
        tokenization_report(student.tokenizer, [pair.foreign for pair in train_pairs], max_length, "foreign"),
        tokenization_report(student.tokenizer, list(collection.queries.values()), max_length, "queries"),
    ]


def _benchmark_tables(benchmarks: list[Benchmark], rows: pd.DataFrame) -> list[str]:
    """A Markdown table of every system on each benchmark, and one of MAP by query group where it has groups."""
    lines = []
    for benchmark in benchmarks:
        collection, label = benchmark.collection, benchmark.label
        stats = collection_statistics(collection)
        part = rows[rows.split == label]
        systems = list(dict.fromkeys(part.objective))
        table = part.pivot(index="objective", columns="measure", values="value").loc[systems, list(benchmark.measures)]
        lines += [
            f"## `{label}`: {collection.name}, {stats['queries']} queries, {stats['documents']:,} documents, "
            f"{stats['relevant per query']:.2f} relevant a query, random-ranking MAP {stats['random MAP']:.4f}",
            "",
            table.to_markdown(floatfmt=".4f"),
            "",
        ]
        if benchmark.groups:
            columns = {label: f"all ({len(collection.queries)})"}
            columns |= {f"{label}/{group}": f"{group} ({len(qids)})" for group, qids in benchmark.groups.items()}
            chosen = rows[rows.split.isin(columns) & (rows.measure == "MAP")]
            maps = chosen.pivot(index="objective", columns="split", values="value").loc[systems, list(columns)]
            lines += [
                "MAP by the kind of the query's topics:",
                "",
                maps.rename(columns=columns).to_markdown(floatfmt=".4f"),
                "",
            ]
    return lines


def _write_summary(path, config, bitext_summary, benchmarks, rows, trained, num_pairs, timings, device) -> None:
    losses = trained.losses
    head, tail = sum(losses[:20]) / min(20, len(losses)), sum(losses[-20:]) / min(20, len(losses))
    lines = [
        f"# Main job: en-{config.language}, {config.task().evaluated_on}",
        "",
        *_benchmark_tables(benchmarks, rows),
        f"- Bitext: {bitext_summary}.",
        f"- Search: `{json.dumps(asdict(config.search))}`.",
        f"- Training on {config.train_bitext or 'training-book verses'}: {num_pairs:,} pairs x "
        f"{config.train.epochs} epochs = {trained.steps} steps of "
        f"{config.train.batch_size}; loss {head:.3f} (first 20 steps) -> {tail:.3f} (last 20).",
        f"- Teacher `{config.teacher}`, student from `{config.student}`; max_length {config.max_length}; "
        f"settings: `{json.dumps(config.train.flat())}`.",
        f"- Time on {device.type} ({device_name(device)}, {torch.get_num_threads()} threads, "
        f"{training_precision(config.train, device)}, torch "
        f"{torch.__version__}): " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items()) + ".",
        *(
            [
                f"- Training resumed from the kept checkpoint at step {trained.resumed_at:,} of {trained.steps:,}: "
                "its time is that of the processes that trained it, the other timings this run's."
            ]
            if trained.resumed_at
            else []
        ),
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
