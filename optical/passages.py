"""Long documents as overlapping passages, and passage scores back to documents by max-passage (MaxP)."""

from __future__ import annotations

from collections.abc import Mapping

PASSAGE_SEPARATOR = "#"  # passage ids are "<docid>#<k>"


def split_passages(documents: Mapping[str, str], *, window: int, stride: int) -> dict[str, str]:
    """Windows of ``window`` words every ``stride`` words: {"<docid>#<k>": text}, in document order.

    A document no longer than the window is one passage; the last window of a longer one ends at
    its last word, so no word is left out. Dai & Callan (SIGIR 2019) use 150 words every 75.
    """
    if window < 1 or not 1 <= stride <= window:
        raise ValueError(f"need window >= 1 and 1 <= stride <= window, got window={window}, stride={stride}")
    passages = {}
    for docid, text in documents.items():
        words = text.split()
        starts = list(range(0, max(len(words) - window, 0) + 1, stride))
        if starts[-1] + window < len(words):
            starts.append(len(words) - window)
        for k, start in enumerate(starts):
            passages[f"{docid}{PASSAGE_SEPARATOR}{k}"] = " ".join(words[start : start + window])
    return passages


def document_of(passage_id: str) -> str:
    return passage_id.rsplit(PASSAGE_SEPARATOR, 1)[0]


def max_passage(run: Mapping[str, Mapping[str, float]], *, depth: int = 1000) -> dict[str, dict[str, float]]:
    """MaxP: each document scores as its best passage; the top ``depth`` documents per query."""
    documents_run = {}
    for qid, scores in run.items():
        best: dict[str, float] = {}
        for passage_id, score in scores.items():
            docid = document_of(passage_id)
            if docid not in best or score > best[docid]:
                best[docid] = score
        documents_run[qid] = dict(sorted(best.items(), key=lambda item: item[1], reverse=True)[:depth])
    return documents_run
