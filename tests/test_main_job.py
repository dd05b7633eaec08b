"""The main job end to end on a small setting: the README's first command, shrunk."""

import hashlib
import re

import pandas as pd
import pytest
from conftest import check_expected_scores

from optical.__main__ import main
from optical.data import BitextError
from optical.encoders import DEFAULT_MODEL
from optical.results import RESULT_COLUMNS

pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_every_flag_has_help(capsys):
    """A field's help is the comment on its line; one the formatter wraps onto other lines is lost."""
    with pytest.raises(SystemExit):
        main(["--help"])
    helps = re.findall(r"^  (--[\w-]+)(?: [A-Z_]+)?\n?\s+(.*)$", capsys.readouterr().out, flags=re.M)
    assert len(helps) > 30 and not [flag for flag, text in helps if text.startswith("(default")]


def test_main_job_trains_evaluates_and_writes_results_and_figures(tmp_path, work_dir):
    out = tmp_path / "figures"
    args = [
        "--train-pairs",
        "48",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--num-queries",
        "30",
        "--split",
        "dev",
        "--out-dir",
        str(out),
        "--work-dir",
        str(work_dir),
        "--device",
        "cpu",
    ]
    main(args)
    results = pd.read_csv(out / "results.csv")
    verse = results[results.split == "dev"]
    scores = verse.pivot(index="objective", columns="measure", values="value").to_dict(orient="index")
    check_expected_scores("main-en-ny-dev-48pairs", scores)  # any change of a figure of merit is caught
    assert tuple(results.columns) == RESULT_COLUMNS
    assert {tuple(row) for row in results[["bitext", "teacher", "student"]].to_numpy()} == {
        ("bible", DEFAULT_MODEL, DEFAULT_MODEL)
    }
    student = "ot[batch_size=16]"  # labelled by the settings that change it: a batch of 16, not the default 32
    assert set(results.objective) == {"zero-shot", student} and set(results.study) == {"main"}
    assert set(verse.measure) == {"MAP", "nDCG@10", "P@5", "R@10", "MRR"} and len(verse) == 10
    kinds = {f"topical-dev/{kind}" for kind in ("name", "subject", "mixed")}
    assert set(results.split) == {"dev", "paraphrase-dev", "topical-dev", *kinds}
    assert set(results[results.split == "topical-dev"].measure) == {"MAP", "nDCG@10", "P@5", "R@10", "R@100", "MRR"}
    assert results.value.between(0, 1).all() and len(results) == 10 + 2 * 6 + 4 * 2 * 6
    assert results.loc[results.objective == student, "train_pairs"].unique().tolist() == [48]
    stem = "en-ny_ot-batch_size=16"  # the reports are named after the student's label, as its rows are
    summary = (out / f"main_{stem}.md").read_text()
    counts = {kind: int(n) for kind, n in re.findall(r"(name|subject|mixed) \((\d+)\)", summary)}
    assert sum(counts.values()) == 30  # the kinds part the topical queries
    maps = results[results.measure == "MAP"].set_index(["split", "objective"]).value
    for system in ("zero-shot", student):  # the whole is the queries' mean: the kinds' means weighted by their sizes
        by_kind = sum(maps[f"topical-dev/{kind}", system] * n for kind, n in counts.items()) / 30
        assert by_kind == pytest.approx(maps["topical-dev", system], abs=1e-12)
    for name in (f"transport_plan_{stem}.png", f"transport_plan_{stem}_before.png", f"training_loss_{stem}.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    assert "| zero-shot" in summary and re.search(r"foreign: [23]\.\d\d pieces per word, 0\.00% \[UNK\]", summary)
    runs = {p.name for p in (work_dir / "runs").iterdir()}
    for collection in ("bible-en-ny-dev", "paraphrase-en-ny-dev", "topical-en-ny-dev"):
        assert {f"{collection}.{student}.trec", f"{collection}.zero-shot.trec"} <= runs
        assert (work_dir / "collections" / collection / "qrels.txt").is_file()

    assert "Training resumed" not in summary
    main(args)  # a second run resumes its finished checkpoint, reuses the document cache, replaces its rows
    rerun = pd.read_csv(out / "results.csv")
    pd.testing.assert_frame_equal(rerun, results)
    steps = re.search(r"= (\d+) steps of", summary)[1]
    resumed = f"Training resumed from the kept checkpoint at step {steps} of {steps}"
    assert resumed in (out / f"main_{stem}.md").read_text()


def test_main_job_trains_on_a_user_tsv(tmp_path, work_dir):
    bitext = tmp_path / "extra.tsv"
    bitext.write_text("In the beginning.\tPachiyambi.\nbroken line\n", encoding="utf-8")
    args = [
        "--train-bitext",
        str(bitext),
        "--train-pairs",
        "8",
        "--epochs",
        "1",
        "--num-queries",
        "10",
        "--split",
        "dev",
        "--out-dir",
        str(tmp_path),
        "--work-dir",
        str(work_dir),
        "--device",
        "cpu",
    ]
    with pytest.raises(BitextError, match="extra.tsv:2: expected 2 tab-separated columns"):
        main(args)
    bitext.write_text("In the beginning.\tPachiyambi.\nAnd God said.\tNdipo anati Mulungu.\n", encoding="utf-8")
    main(args)
    results = pd.read_csv(tmp_path / "results.csv")
    assert results.loc[results.objective == "ot", "train_pairs"].unique().tolist() == [2]
    digest = hashlib.sha256(bitext.read_bytes()).hexdigest()[:16]
    assert set(results.bitext) == {f"extra.tsv@{digest}"}  # never the Bible's rows of the same language
    assert "training TSV: 2 pairs aligned" in (tmp_path / "main_en-ny_extra.md").read_text()


def test_zero_shot_scores_of_the_embedded_test_collection(work_dir):
    """The README's zero-shot row: the packaged teacher on the 500 Chichewa test queries."""
    from optical.data import bible_clir_collection, bible_splits, load_bible_bitext
    from optical.encoders import TokenEncoder
    from optical.experiment import evaluate_encoder
    from optical.search import DocumentSearch, SearchSettings

    held_out = load_bible_bitext("ny").select(bible_splits()["test"])
    collection = bible_clir_collection(held_out, name="bible-en-ny-test", num_queries=500)
    teacher = TokenEncoder()  # the default max_length, as the main job uses
    search = DocumentSearch(teacher, collection.documents, SearchSettings(), cache_dir=work_dir / "embeddings")
    means, _, _ = evaluate_encoder(teacher, collection, search)
    check_expected_scores("zero-shot-en-ny-test", {"zero-shot": means}, tolerance=1e-4)


def write_user_collection(folder, bitext, documents_count: int = 60):
    """A small CLEF-like collection on disk (TREC SGML documents, TREC topics, qrels) from Bible verses."""
    from optical.data import bible_clir_collection, bible_splits

    collection = bible_clir_collection(bitext.select(bible_splits()["dev"])[:180], name="x", num_queries=10)
    folder.mkdir()
    documents = dict(list(collection.documents.items())[:documents_count])
    (folder / "documents.sgml").write_text(
        "".join(f"<DOC>\n<DOCNO>{d}</DOCNO>\n<TEXT>{t}</TEXT>\n</DOC>\n" for d, t in documents.items())
    )
    queries = {q: text for q, text in collection.queries.items() if next(iter(collection.qrels[q])) in documents}
    (folder / "topics.txt").write_text(
        "".join(f"<top>\n<num> Number: {q}\n<title> {t}\n<desc> Description: {t}\n</top>\n" for q, t in queries.items())
    )
    (folder / "qrels.txt").write_text("".join(f"{q} 0 {d} 1\n" for q in queries for d in collection.qrels[q]))
    return queries


@pytest.mark.parametrize("search", [["--passage-window", "12"], ["--scoring", "maxsim"], ["--index", "flat"]])
def test_main_job_on_a_user_collection(tmp_path, work_dir, bitext, search):
    queries = write_user_collection(tmp_path / "clef-like", bitext)
    args = ["--collection", str(tmp_path / "clef-like"), "--query-field", "title", *search]
    args += ["--train-pairs", "8", "--epochs", "1", "--out-dir", str(tmp_path / "out"), "--work-dir", str(work_dir)]
    main([*args, "--device", "cpu"])
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(results.split) == {"clef-like"} and set(results.objective) == {"zero-shot", "ot"}
    assert results.value.between(0, 1).all()
    run = (work_dir / "runs" / "clef-like.zero-shot.trec").read_text().splitlines()
    assert {line.split()[0] for line in run} == set(queries)
    assert all("#" not in line.split()[2] for line in run)  # passages were scored back to their documents
    assert "Search: `{" in (tmp_path / "out" / "main_en-ny_clef-like.md").read_text()
    if search == ["--index", "flat"]:  # once: a run with another recipe gets rows of its own
        main([*args, "--device", "cpu", "--epsilon", "0.05"])
        both = pd.read_csv(tmp_path / "out" / "results.csv")
        assert set(both.objective) == {"zero-shot", "ot", "ot[epsilon=0.05]"}
        assert "| ot[epsilon=0.05]" in (tmp_path / "out" / "main_en-ny_clef-like_ot-epsilon=0.05.md").read_text()
        assert "| ot " in (tmp_path / "out" / "main_en-ny_clef-like.md").read_text()  # the first job's, kept beside
        pd.testing.assert_frame_equal(both[both.objective != "ot[epsilon=0.05]"].reset_index(drop=True), results)


def test_main_job_adds_the_fused_bitext_only_system(tmp_path, work_dir, bitext):
    write_user_collection(tmp_path / "clef-like", bitext)
    args = ["--collection", str(tmp_path / "clef-like"), "--train-pairs", "400", "--epochs", "1", "--device", "cpu"]
    args += ["--out-dir", str(tmp_path / "out"), "--work-dir", str(work_dir)]
    with pytest.raises(ValueError, match="system must be one of"):
        main([*args, "--system", "bm25"])
    main([*args, "--system", "fused"])
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    scoring = results.drop_duplicates("objective").set_index("objective").scoring.to_dict()
    assert scoring == {
        "zero-shot": "dense",
        "ot": "dense",
        "bm25": "bm25",
        "translate-encode": "maxsim",
        "fused": "fused-score",
    }
    assert set(results[results.objective.isin(["bm25", "fused"])].train_pairs) == {400}  # the lexicon's bitext
    mean_ap = results[results.measure == "MAP"].set_index("objective").value
    assert mean_ap["bm25"] > mean_ap["zero-shot"]  # 400 pairs already translate some query words
    assert "| fused" in (tmp_path / "out" / "main_en-ny_clef-like.md").read_text()

    with pytest.raises(ValueError, match="fused_student_weight"):
        main([*args, "--system", "fused", "--fused-student-weight", "1"])
    main([*args, "--system", "fused", "--fused-student-weight", "0.5"])  # the trained student joins the fusion
    with_student = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(with_student.objective) == set(results.objective)  # the student's rows are its own, once
    fused_map = with_student[with_student.measure == "MAP"].set_index("objective").value
    assert fused_map["fused"] != mean_ap["fused"] and fused_map["bm25"] == mean_ap["bm25"]

    (kept,) = (tmp_path / "out" / "lexicons").glob("pairs-*.counts.json")  # eflomal's lexicon, beside the results
    kept.write_text('{"moni": {"hello": 1}}')  # a rerun reads it and induces nothing
    main([*args, "--system", "fused"])
    rerun = pd.read_csv(tmp_path / "out" / "results.csv").query("measure == 'MAP'").set_index("objective").value
    assert rerun["bm25"] < mean_ap["bm25"] and rerun["ot"] == mean_ap["ot"]


def make_tiny_student(folder, bitext):
    """A 2-layer, 64-wide BERT with its own WordPiece vocabulary learned from Chichewa: a stand-in for a
    local AfriBERTa or XLM-R folder (other width, other tokenizer)."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator([pair.foreign for pair in bitext.pairs[:3000]], vocab_size=2000)
    folder.mkdir()
    wordpiece.save_model(str(folder))
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
    )
    BertModel(config).save_pretrained(folder)
    return tokenizer


def test_any_local_hugging_face_folders_as_student_and_teacher(tmp_path, work_dir, bitext):
    from optical.encoders import TokenEncoder, resolve_model_dir

    tokenizer = make_tiny_student(tmp_path / "tiny-bert", bitext)
    student = TokenEncoder(tmp_path / "tiny-bert", output_dim=384)
    assert student.dim == 384 and student.projection is not None  # 64 -> 384, the teacher's width
    assert student.tokenizer.vocab_size == tokenizer.vocab_size <= 2000  # its own vocabulary, not the teacher's 30,522
    teacher_folder = str(resolve_model_dir("all-MiniLM-L6-v2"))  # the teacher given as a folder, not a name
    args = [
        "--student",
        str(tmp_path / "tiny-bert"),
        "--teacher",
        teacher_folder,
        "--train-pairs",
        "16",
        "--epochs",
        "1",
    ]
    args += ["--split", "dev", "--num-queries", "10", "--out-dir", str(tmp_path / "out"), "--work-dir", str(work_dir)]
    main([*args, "--device", "cpu"])
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(results.objective) == {"zero-shot", "ot"} and results.value.between(0, 1).all()


def test_main_job_on_greek_with_an_extended_vocabulary(tmp_path, work_dir):
    out = tmp_path / "figures"
    args = ["--language", "grc", "--train-pairs", "32", "--epochs", "1", "--batch-size", "16", "--num-queries", "20"]
    args += ["--split", "dev", "--extend-vocabulary", "2000", "--device", "cpu", "--bible-collections", "verse"]
    main([*args, "--out-dir", str(out), "--work-dir", str(work_dir)])
    results = pd.read_csv(out / "results.csv")
    assert set(results.language) == {"en-grc"} and len(results) == 10
    summary = (out / "main_en-grc_ot-batch_size=16-extend_vocabulary=2000.md").read_text()
    before, after = summary.split("pieces added to the student's vocabulary: ")
    assert re.search(r"foreign: [45]\.\d\d pieces per word", before)  # Greek spelled out letter by letter
    assert re.match(r"foreign: 1\.\d\d pieces per word", after)  # whole words and stems after the extension


def test_main_job_with_multilingual_e5_as_teacher_and_student(tmp_path, bitext):
    """OPTICAL's setting from the packaged name alone: the 4-bit multilingual-e5-small, its prefixes, and the
    student's word embeddings trimmed to the pairs' pieces; on a 60-document collection to stay small."""
    write_user_collection(tmp_path / "collection", bitext)
    args = ["--teacher", "multilingual-e5-small", "--student", "multilingual-e5-small", "--word-embeddings", "trim"]
    args += ["--train-pairs", "16", "--epochs", "1", "--batch-size", "8", "--collection", str(tmp_path / "collection")]
    args += ["--export-dir", str(tmp_path / "student")]
    main([*args, "--out-dir", str(tmp_path / "out"), "--work-dir", str(tmp_path / "work"), "--device", "cpu"])
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    maps = results[results.measure == "MAP"].set_index("objective").value
    assert set(maps.index) == {"zero-shot", "ot[batch_size=8,word_embeddings=trim]"}
    assert maps["zero-shot"] > 0.5  # the English-only teacher: ~0.1
    report = "main_en-ny_multilingual-e5-small_collection_ot-batch_size=8-word_embeddings=trim.md"
    assert "multilingual-e5-small" in (tmp_path / "out" / report).read_text()
    from sentence_transformers import SentenceTransformer

    exported = SentenceTransformer(str(tmp_path / "student"), device="cpu", local_files_only=True)
    assert exported.prompts["query"] == "query: " and exported.prompts["passage"] == "passage: "
    vector = exported.encode("Yesu analira.", prompt_name="query")
    assert vector.shape == (384,) and abs(float((vector**2).sum()) - 1) < 1e-5
