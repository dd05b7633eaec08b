"""Your own CLIR collection from the usual on-disk layout, or from a local ir_datasets cache.

Documents: JSONL (``{"id"|"docid"|"doc_id"|"_id", "text"|"contents"|"body", optional "title"}`` per
line), TSV (``docid<TAB>text``, or ``docid<TAB>title<TAB>text``) or TREC SGML (``<DOC><DOCNO>..</DOCNO>
... <TEXT>..</TEXT></DOC>``, one file or a folder of them, ``.gz`` allowed). Topics: TREC topic
files (``<top><num> .. <title> .. <desc> .. <narr> .. </top>``), or TSV (``qid<TAB>text``). Qrels: TREC.
Every problem names the file and, where it has one, the line.
"""

from __future__ import annotations

import gzip
import html
import json
import os
import re
from pathlib import Path

from optical.data.collection import CLIRCollection
from optical.metrics import read_qrels

QUERY_FIELDS = ("title", "description", "title+description")
_ID_KEYS = ("id", "docid", "doc_id", "_id")
_TEXT_KEYS = ("text", "contents", "body")


class CollectionError(ValueError):
    """A collection file that cannot be read as it is; the message names the file (and line)."""


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _require(path: Path) -> Path:
    if not path.exists():
        raise CollectionError(f"{path}: no such file or folder")
    return path


def read_documents(path: str | os.PathLike) -> dict[str, str]:
    """{docid: text} from a JSONL, TSV or TREC SGML file (``.gz`` too), or a folder of SGML files.

    The format is told by the name: ``.jsonl``, ``.tsv``, anything else is SGML. A title, where
    there is one, is put before the text.
    """
    path = _require(Path(path))
    if path.is_dir():
        documents: dict[str, str] = {}
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            documents.update(_read_sgml(file))
        if not documents:
            raise CollectionError(f"{path}: no <DOC> found in any file of the folder")
        return documents
    name = path.name.removesuffix(".gz")
    if name.endswith(".jsonl"):
        return _read_jsonl(path)
    if name.endswith(".tsv"):
        return _read_tsv(path, "document")
    return _read_sgml(path)


def _read_jsonl(path: Path) -> dict[str, str]:
    documents = {}
    with _open_text(path) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise CollectionError(f"{path}:{number}: not JSON ({error.msg})") from None
            docid = next((str(row[key]) for key in _ID_KEYS if key in row), None)
            text = next((row[key] for key in _TEXT_KEYS if key in row), None)
            if docid is None or text is None:
                raise CollectionError(
                    f"{path}:{number}: a document needs an id ({'/'.join(_ID_KEYS)}) "
                    f"and a text ({'/'.join(_TEXT_KEYS)}) field"
                )
            documents[docid] = f"{row['title']} {text}".strip() if row.get("title") else text
    return documents


def _read_tsv(path: Path, kind: str) -> dict[str, str]:
    rows = {}
    with _open_text(path) as lines:
        for number, line in enumerate(lines, start=1):
            fields = line.rstrip("\n").split("\t")
            if not line.strip():
                continue
            if len(fields) not in (2, 3) or not fields[0].strip():
                raise CollectionError(
                    f"{path}:{number}: a {kind} line is 'id<TAB>text' (or 'id<TAB>title<TAB>text'), "
                    f"found {len(fields)} columns"
                )
            rows[fields[0].strip()] = " ".join(field.strip() for field in fields[1:] if field.strip())
    return rows


_DOC = re.compile(r"<DOC>(.*?)</DOC>", re.S | re.I)
_DOCNO = re.compile(r"<DOCNO>\s*(.*?)\s*</DOCNO>", re.S | re.I)
_TEXT_TAGS = re.compile(r"<(HEADLINE|TITLE|HL|TEXT|LEADPARA|LD|TE)>(.*?)</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def _read_sgml(path: Path) -> dict[str, str]:
    with _open_text(path) as handle:
        content = handle.read()
    documents = {}
    for match in _DOC.finditer(content):
        body = match.group(1)
        docno = _DOCNO.search(body)
        if docno is None:
            line = content[: match.start()].count("\n") + 1
            raise CollectionError(f"{path}:{line}: a <DOC> without <DOCNO>")
        parts = [text for _, text in _TEXT_TAGS.findall(body)] or [_DOCNO.sub("", body)]
        documents[docno.group(1)] = " ".join(html.unescape(_TAG.sub(" ", " ".join(parts))).split())
    if not documents:
        raise CollectionError(f"{path}: no <DOC>...</DOC> found (documents must be .jsonl, .tsv or TREC SGML)")
    return documents


_TOP = re.compile(r"<top>(.*?)</top>", re.S | re.I)
_FIELD = re.compile(r"<(num|title|desc|narr)>(.*?)(?=<(?:num|title|desc|narr)>|$)", re.S | re.I)
_LABELS = re.compile(r"^\s*(Number:|Description:|Title:|Topic:)", re.I)


def read_topics(path: str | os.PathLike, query_field: str = "title") -> dict[str, str]:
    """{qid: query} from a TREC topic file (``<num>``, ``<title>``, ``<desc>``) or a TSV (``qid<TAB>text``).

    query_field: ``title``, ``description`` or ``title+description`` (TSV topics have one field).
    """
    if query_field not in QUERY_FIELDS:
        raise ValueError(f"query_field must be one of {QUERY_FIELDS}, got {query_field!r}")
    path = _require(Path(path))
    if path.name.removesuffix(".gz").endswith(".tsv"):
        return _read_tsv(path, "topic")
    with _open_text(path) as handle:
        content = handle.read()
    topics = {}
    for match in _TOP.finditer(content):
        fields = {
            name.lower(): " ".join(_LABELS.sub("", _TAG.sub(" ", text)).split())
            for name, text in _FIELD.findall(match.group(1))
        }
        line = content[: match.start()].count("\n") + 1
        if not fields.get("num"):
            raise CollectionError(f"{path}:{line}: a topic without <num>")
        wanted = {"title": ["title"], "description": ["desc"], "title+description": ["title", "desc"]}[query_field]
        missing = [name for name in wanted if not fields.get(name)]
        if missing:
            raise CollectionError(
                f"{path}:{line}: topic {fields['num']} has no <{missing[0]}> field (query_field={query_field!r})"
            )
        topics[fields["num"]] = " ".join(fields[name] for name in wanted)
    if not topics:
        raise CollectionError(f"{path}: no <top>...</top> found (topics must be TREC topic files or .tsv)")
    return topics


def load_collection(
    documents: str | os.PathLike,
    topics: str | os.PathLike,
    qrels: str | os.PathLike,
    *,
    query_field: str = "title",
    name: str = "",
) -> CLIRCollection:
    """A :class:`CLIRCollection` from document, topic and qrels files (see the module for formats).

    Judged queries without a topic are an error; topics without judgements are dropped (reported
    by :func:`optical.metrics.evaluate` if a run holds them).
    """
    docs = read_documents(documents)
    queries = read_topics(topics, query_field)
    judgements = read_qrels(_require(Path(qrels)))
    untopiced = sorted(set(judgements) - set(queries))
    if untopiced:
        raise CollectionError(f"{qrels}: {len(untopiced)} judged queries have no topic in {topics}: {untopiced[:5]}")
    queries = {qid: text for qid, text in queries.items() if qid in judgements}
    return CLIRCollection(name or Path(documents).stem, queries, docs, judgements)


def load_collection_dir(directory: str | os.PathLike, *, query_field: str = "title") -> CLIRCollection:
    """A collection folder: one ``documents*`` (file or folder), one ``topics*`` or ``queries*``, one ``qrels*``."""
    directory = _require(Path(directory))

    def one(*prefixes: str) -> Path:
        found = sorted(p for prefix in prefixes for p in directory.glob(f"{prefix}*"))
        if len(found) != 1:
            raise CollectionError(
                f"{directory}: expected one file or folder named {' or '.join(p + '*' for p in prefixes)}, "
                f"found {[p.name for p in found]}"
            )
        return found[0]

    return load_collection(
        one("documents", "docs"), one("topics", "queries"), one("qrels"), query_field=query_field, name=directory.name
    )


def load_ir_dataset(dataset_id: str, *, query_field: str = "title") -> CLIRCollection:
    """A collection from ``ir_datasets`` (``pip install ir-datasets``), only from files already on disk.

    Any download ir_datasets would start is stopped before it reaches the network and reported,
    with the URL it wanted: fetch the dataset on a machine with internet access and copy
    ``~/.ir_datasets`` (or ``$IR_DATASETS_HOME``) here.
    """
    if query_field not in QUERY_FIELDS:
        raise ValueError(f"query_field must be one of {QUERY_FIELDS}, got {query_field!r}")
    try:
        import ir_datasets
        from ir_datasets.util.download import RequestsDownload
    except ImportError:
        raise ImportError("collections from ir_datasets need it installed: pip install ir-datasets") from None

    refused: list[str] = []

    def refuse(download):
        refused.append(download.url)
        raise ConnectionRefusedError(f"optical never downloads: {download.url}")
        yield  # a generator, like the method it stands in for

    original = RequestsDownload.__iter__
    RequestsDownload.__iter__ = refuse
    try:
        dataset = ir_datasets.load(dataset_id)
        documents = {doc.doc_id: _ir_dataset_text(doc) for doc in dataset.docs_iter()}
        queries = {
            query.query_id: _ir_dataset_query(query, query_field, dataset_id) for query in dataset.queries_iter()
        }
        qrels: dict[str, dict[str, int]] = {}
        for qrel in dataset.qrels_iter():
            qrels.setdefault(qrel.query_id, {})[qrel.doc_id] = int(qrel.relevance)
    except Exception:
        if not refused:
            raise
        raise CollectionError(
            f"{dataset_id} is not in the local ir_datasets cache (it would download {refused[0]}); downloads are "
            "never attempted: fetch it on a machine with internet access and copy ~/.ir_datasets ($IR_DATASETS_HOME)"
        ) from None
    finally:
        RequestsDownload.__iter__ = original
    queries = {qid: text for qid, text in queries.items() if qid in qrels}
    return CLIRCollection(dataset_id.replace("/", "_"), queries, documents, qrels)


def _ir_dataset_text(doc) -> str:
    text = next((getattr(doc, key) for key in _TEXT_KEYS if getattr(doc, key, None)), "")
    title = getattr(doc, "title", "")
    return f"{title} {text}".strip() if title else text


def _ir_dataset_query(query, query_field: str, dataset_id: str) -> str:
    fields = {"title": ("title", "text"), "description": ("description",)}
    wanted = ["title", "description"] if query_field == "title+description" else [query_field]
    parts = []
    for name in wanted:
        value = next((getattr(query, key) for key in fields[name] if getattr(query, key, None)), None)
        if value is None:
            raise CollectionError(f"{dataset_id}: query {query.query_id} has no {name} (its fields: {query._fields})")
        parts.append(value)
    return " ".join(" ".join(parts).split())
