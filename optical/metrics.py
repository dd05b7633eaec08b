"""Retrieval figures of merit with trec_eval conventions, and TREC qrels/run files.

Conventions (those of trec_eval as ir_measures runs it, checked against it in the tests):
a ranking sorts by score, ties broken by docid in *descending* order, cut at ``depth``; a document
is relevant when its judgement is >= 1; nDCG uses the judgement as a linear gain and log2(rank+1)
discounts; the mean runs over every query of the qrels: a query the run lacks, or one without any
relevant document, scores 0; queries only in the run are ignored.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["DEFAULT_MEASURES", "TrecWarning", "evaluate", "rank", "read_qrels", "read_run", "write_qrels", "write_run"]

DEFAULT_MEASURES = ("MAP", "nDCG@10", "P@5", "R@10", "MRR")
_MEASURE = re.compile(r"^(MAP|MRR|nDCG@(\d+)|P@(\d+)|R@(\d+))$")


class TrecWarning(UserWarning):
    """Something in qrels or a run that evaluation tolerates but a user should know about."""


Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]


def rank(scores: Mapping[str, float], depth: int = 1000) -> list[str]:
    """Docids by descending score, ties by descending docid (trec_eval), at most ``depth``."""
    return [docid for docid, _ in sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)[:depth]]


def _query_measure(name: str, ranking: list[str], judged: Mapping[str, int]) -> float:
    relevant = {docid for docid, rel in judged.items() if rel >= 1}
    if not relevant:
        return 0.0
    hits = [docid in relevant for docid in ranking]
    if name == "MAP":
        found, precision_sum = 0, 0.0
        for position, hit in enumerate(hits, start=1):
            if hit:
                found += 1
                precision_sum += found / position
        return precision_sum / len(relevant)
    if name == "MRR":
        return next((1.0 / position for position, hit in enumerate(hits, start=1) if hit), 0.0)
    kind, cutoff = name.split("@")
    cutoff = int(cutoff)
    if kind == "P":
        return sum(hits[:cutoff]) / cutoff
    if kind == "R":
        return sum(hits[:cutoff]) / len(relevant)
    gains = [max(judged.get(docid, 0), 0) for docid in ranking[:cutoff]]
    dcg = sum(gain / math.log2(position + 1) for position, gain in enumerate(gains, start=1))
    ideal = sorted((rel for rel in judged.values() if rel > 0), reverse=True)[:cutoff]
    idcg = sum(gain / math.log2(position + 1) for position, gain in enumerate(ideal, start=1))
    return dcg / idcg


def evaluate(
    qrels: Qrels,
    run: Run,
    measures: Iterable[str] = DEFAULT_MEASURES,
    *,
    depth: int = 1000,
    per_query: bool = False,
) -> dict[str, float] | tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean of each measure over the queries of ``qrels``.

    qrels {qid: {docid: rel}}, run {qid: {docid: score}} (the pytrec_eval shapes); measures from
    ``MAP``, ``MRR``, ``nDCG@k``, ``P@k``, ``R@k``. Returns {measure: mean}, and with
    ``per_query`` also {measure: {qid: value}}.
    """
    measures = list(measures)
    unknown = [name for name in measures if not _MEASURE.match(name)]
    if unknown:
        raise ValueError(f"unknown measures {unknown}; use MAP, MRR, nDCG@k, P@k, R@k")
    if not qrels:
        raise ValueError("qrels are empty: nothing to evaluate")
    _report_query_mismatch(qrels, run)
    values: dict[str, dict[str, float]] = {name: {} for name in measures}
    for qid, judged in qrels.items():
        ranking = rank(run.get(qid, {}), depth)
        for name in measures:
            values[name][qid] = _query_measure(name, ranking, judged)
    means = {name: sum(by_query.values()) / len(by_query) for name, by_query in values.items()}
    return (means, values) if per_query else means


def _examples(ids: list[str], shown: int = 5) -> str:
    return ", ".join(ids[:shown]) + (", ..." if len(ids) > shown else "")


def _report_query_mismatch(qrels: Qrels, run: Run) -> None:
    """Warn about run queries without judgements (ignored) and judged queries without a ranking (scored 0)."""
    unknown = [qid for qid in run if qid not in qrels]
    unranked = [qid for qid in qrels if not run.get(qid)]
    if unknown:
        message = f"{len(unknown)} run queries are not in the qrels and are ignored: {_examples(unknown)}"
        warnings.warn(message, TrecWarning, stacklevel=3)
    if unranked:
        message = f"{len(unranked)} judged queries have no ranking and score 0: {_examples(unranked)}"
        warnings.warn(message, TrecWarning, stacklevel=3)


def _trec_rows(path: str | os.PathLike, columns: int, kind: str) -> Iterable[tuple[int, list[str]]]:
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != columns:
                raise ValueError(f"{path}:{number}: a {kind} line has {columns} fields, found {len(fields)}: {line!r}")
            yield number, fields


def _read_trec(path: str | os.PathLike, kind: str, columns: int, value: tuple[int, str, type, str]) -> dict[str, dict]:
    """{qid: {docid: value}}; ``value`` = (column, name, type, "a ..."). A repeated (qid, docid)
    keeps its last value and is reported with a :class:`TrecWarning`."""
    value_column, value_name, parse, described = value
    table: dict[str, dict] = {}
    repeated: list[str] = []
    for number, fields in _trec_rows(path, columns, kind):
        qid, docid, text = fields[0], fields[2], fields[value_column]
        try:
            parsed = parse(text)
        except ValueError:
            raise ValueError(f"{path}:{number}: {value_name} {text!r} is not {described}") from None
        if docid in table.setdefault(qid, {}):
            repeated.append(f"line {number} ({qid} {docid})")
        table[qid][docid] = parsed
    if repeated:
        message = f"{path}: {len(repeated)} repeated {kind} entries, the last one kept: {_examples(repeated)}"
        warnings.warn(message, TrecWarning, stacklevel=3)
    return table


def read_qrels(path: str | os.PathLike) -> dict[str, dict[str, int]]:
    """TREC qrels (``qid iter docid rel``) -> {qid: {docid: rel}}; repeated entries are reported."""
    return _read_trec(path, "qrels", 4, (3, "relevance", int, "an integer"))


def read_run(path: str | os.PathLike) -> dict[str, dict[str, float]]:
    """TREC run (``qid Q0 docid rank score tag``) -> {qid: {docid: score}}; repeated entries are reported."""
    return _read_trec(path, "run", 6, (4, "score", float, "a number"))


def write_run(run: Run, path: str | os.PathLike, *, tag: str = "optical", depth: int = 1000) -> Path:
    """Write a TREC run file, each query's documents in rank order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for qid, scores in run.items():
            for position, docid in enumerate(rank(scores, depth), start=1):
                out.write(f"{qid} Q0 {docid} {position} {float(scores[docid])!r} {tag}\n")
    return path


def write_qrels(qrels: Qrels, path: str | os.PathLike) -> Path:
    """Write TREC qrels (``qid 0 docid rel``)."""
    path = Path(path)
    with open(path, "w", encoding="utf-8") as out:
        for qid, judged in qrels.items():
            out.writelines(f"{qid} 0 {docid} {rel}\n" for docid, rel in judged.items())
    return path
