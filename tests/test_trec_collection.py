"""Loading a user's collection: every supported layout gives the same collection; bad files name themselves."""

import gzip
import json

import pytest

from optical.data.trec_collection import (
    CollectionError,
    load_collection,
    load_collection_dir,
    read_documents,
    read_topics,
)

DOCS = {
    "LAT-001": ("Floods in Malawi", "Heavy rain & floods displaced thousands near the lake."),
    "LAT-002": ("", "The maize harvest fell for a second year."),
    "LAT-003": ("Cholera", "Health workers report cholera cases after the floods."),
}
TOPICS = {
    "301": ("floods Malawi", "Find reports of floods in Malawi and their effects."),
    "302": ("cholera outbreak", "Documents about cholera outbreaks."),
}
QRELS = "301 0 LAT-001 1\n301 0 LAT-003 1\n302 0 LAT-003 2\n302 0 LAT-002 0\n"
EXPECTED_DOCS = {docid: f"{title} {text}".strip() for docid, (title, text) in DOCS.items()}


def write_jsonl(path):
    path.write_text("\n".join(json.dumps({"id": d, "title": t, "text": x}) for d, (t, x) in DOCS.items()) + "\n")


def write_tsv(path):
    path.write_text("".join(f"{d}\t{t}\t{x}\n" if t else f"{d}\t{x}\n" for d, (t, x) in DOCS.items()))


def sgml(docs) -> str:
    """TREC SGML as the LA Times of CLEF writes it: headline, text in paragraphs, '&' escaped."""
    return "".join(
        f"<DOC>\n<DOCNO> {d} </DOCNO>\n<HEADLINE><P>{t}</P></HEADLINE>\n"
        f"<TEXT>\n<P>{x.replace('&', '&amp;')}</P>\n</TEXT>\n</DOC>\n"
        for d, (t, x) in docs.items()
    )


def trec_topics() -> str:
    return "".join(
        f"<top>\n<num> Number: {q}\n<title> {t}\n\n<desc> Description:\n{d}\n\n<narr> Narrative:\nAnything.\n</top>\n\n"
        for q, (t, d) in TOPICS.items()
    )


@pytest.mark.parametrize("layout", ["jsonl", "jsonl.gz", "tsv", "sgml", "sgml.gz", "sgml-folder"])
def test_every_document_layout_reads_the_same(tmp_path, layout):
    if layout.startswith("jsonl"):
        write_jsonl(tmp_path / "documents.jsonl")
        path = tmp_path / "documents.jsonl"
    elif layout == "tsv":
        path = tmp_path / "documents.tsv"
        write_tsv(path)
    elif layout.startswith("sgml") and layout != "sgml-folder":
        path = tmp_path / "documents.sgml"
        path.write_text(sgml(DOCS))
    else:
        path = tmp_path / "documents"
        path.mkdir()
        items = list(DOCS.items())
        (path / "la010189").write_text(sgml(dict(items[:2])))
        (path / "la010289").write_text(sgml(dict(items[2:])))
    if layout.endswith(".gz"):
        gz = path.with_name(path.name + ".gz")
        gz.write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
        path = gz
    assert read_documents(path) == EXPECTED_DOCS


@pytest.mark.parametrize(
    "field, expected",
    [
        ("title", {q: t for q, (t, _) in TOPICS.items()}),
        ("description", {q: d for q, (_, d) in TOPICS.items()}),
        ("title+description", {q: f"{t} {d}" for q, (t, d) in TOPICS.items()}),
    ],
)
def test_trec_topics_by_query_field(tmp_path, field, expected):
    (tmp_path / "topics.txt").write_text(trec_topics())
    assert read_topics(tmp_path / "topics.txt", field) == expected


def test_a_collection_folder_in_either_layout_gives_the_same_collection(tmp_path):
    sgml_dir, tsv_dir = tmp_path / "clef-sgml", tmp_path / "clef-tsv"
    for folder in (sgml_dir, tsv_dir):
        folder.mkdir()
        (folder / "qrels.txt").write_text(QRELS)
    (sgml_dir / "documents.sgml").write_text(sgml(DOCS))
    (sgml_dir / "topics.txt").write_text(trec_topics())
    write_tsv(tsv_dir / "documents.tsv")
    (tsv_dir / "topics.tsv").write_text("".join(f"{q}\t{t}\n" for q, (t, _) in TOPICS.items()))
    one, other = load_collection_dir(sgml_dir), load_collection_dir(tsv_dir)
    assert (one.queries, one.documents, one.qrels) == (other.queries, other.documents, other.qrels)
    assert one.qrels["302"] == {"LAT-003": 2, "LAT-002": 0} and one.name == "clef-sgml"


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "documents.jsonl",
            '{"id": "a", "text": "x"}\n{"title": "no id"}\n',
            r"documents.jsonl:2: a document needs an id",
        ),
        ("documents.jsonl", '{"id": "a", "text": "x"}\nnot json\n', r"documents.jsonl:2: not JSON"),
        ("documents.tsv", "a\tfine\nb\n", r"documents.tsv:2: a document line is 'id<TAB>text'"),
        ("documents.sgml", "<DOC><TEXT>no number</TEXT></DOC>", r"documents.sgml:1: a <DOC> without <DOCNO>"),
        ("documents.sgml", "plain text", r"no <DOC>...</DOC> found"),
    ],
)
def test_bad_document_files_name_file_and_line(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(CollectionError, match=message):
        read_documents(tmp_path / name)


def test_missing_files_fields_and_topics_are_clear_errors(tmp_path):
    with pytest.raises(CollectionError, match="no such file"):
        read_documents(tmp_path / "absent.jsonl")
    (tmp_path / "topics.txt").write_text("<top>\n<num> Number: 7\n<title> only a title\n</top>\n")
    with pytest.raises(CollectionError, match=r"topic 7 has no <desc> field"):
        read_topics(tmp_path / "topics.txt", "description")
    with pytest.raises(ValueError, match="query_field must be"):
        read_topics(tmp_path / "topics.txt", "narrative")
    write_jsonl(tmp_path / "documents.jsonl")
    (tmp_path / "qrels.txt").write_text("999 0 LAT-001 1\n")
    with pytest.raises(CollectionError, match=r"1 judged queries have no topic"):
        load_collection(tmp_path / "documents.jsonl", tmp_path / "topics.txt", tmp_path / "qrels.txt")
    with pytest.raises(CollectionError, match=r"expected one file or folder named documents\* or docs\*"):
        load_collection_dir(tmp_path / "..")


def test_an_ir_datasets_collection_reads_like_the_same_files(tmp_path, monkeypatch):
    """A dataset registered from local files (as a user's cache holds them) against the TSV loaders."""
    import ir_datasets
    from ir_datasets.datasets.base import Dataset
    from ir_datasets.formats import TrecQrels, TsvDocs, TsvQueries
    from ir_datasets.util.download import LocalDownload

    from optical.data.trec_collection import load_ir_dataset

    write_tsv(tmp_path / "documents.tsv")
    (tmp_path / "docs2.tsv").write_text("".join(f"{d}\t{EXPECTED_DOCS[d]}\n" for d in DOCS))  # one text column
    (tmp_path / "topics.tsv").write_text("".join(f"{q}\t{t}\n" for q, (t, _) in TOPICS.items()))
    (tmp_path / "qrels.txt").write_text(QRELS)
    dataset = Dataset(
        TsvDocs(LocalDownload(tmp_path / "docs2.tsv")),
        TsvQueries(LocalDownload(tmp_path / "topics.tsv")),
        TrecQrels(LocalDownload(tmp_path / "qrels.txt"), {0: "not", 1: "relevant", 2: "highly"}),
    )
    monkeypatch.setitem(ir_datasets.registry._registered, "optical-test/local", dataset)
    from_ir_datasets = load_ir_dataset("optical-test/local")
    from_files = load_collection(tmp_path / "documents.tsv", tmp_path / "topics.tsv", tmp_path / "qrels.txt")
    assert from_ir_datasets.documents == from_files.documents == EXPECTED_DOCS
    assert (from_ir_datasets.queries, from_ir_datasets.qrels) == (from_files.queries, from_files.qrels)
    with pytest.raises(CollectionError, match=r"query 301 has no description"):
        load_ir_dataset("optical-test/local", query_field="description")


def test_an_uncached_ir_datasets_collection_is_never_downloaded(tmp_path, monkeypatch):
    import requests

    from optical.data.trec_collection import load_ir_dataset

    monkeypatch.setenv("IR_DATASETS_HOME", str(tmp_path))
    monkeypatch.setattr(requests, "get", lambda *a, **k: pytest.fail("a download was attempted"))
    with pytest.raises(
        CollectionError, match=r"vaswani is not in the local ir_datasets cache \(it would download http"
    ):
        load_ir_dataset("vaswani")
