"""English documents encoded once by the teacher; foreign queries searched with any encoder.

One object for every way the project scores: pooled dense vectors (exact, or a FAISS index) or
late interaction (MaxSim over token vectors), on whole documents or on passages scored back to
documents by MaxP. Document representations and indexes are cached under ``cache_dir``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from optical.encoders import EncodedTexts, TokenEncoder
from optical.index import KINDS, cached_index
from optical.late_interaction import encode_tokens, maxsim_search
from optical.passages import document_of, max_passage, split_passages
from optical.retrieval import cached_encoding, dense_search, encode_documents

SCORINGS = ("dense", "maxsim")
INDEXES = ("exact", *KINDS)


@dataclass
class SearchSettings:
    """How documents are represented and searched."""

    scoring: str = "dense"  # dense (pooled vectors) | maxsim (late interaction over token vectors)
    index: str = "exact"  # dense scoring: exact | flat | hnsw | ivf (FAISS)
    passage_window: int = 0  # words per passage, MaxP back to documents (0: whole documents)
    passage_stride: int = 0  # words between passage starts (0: half the window)
    document_max_length: int = 256  # tokens per document or passage
    depth: int = 1000  # documents per query in the run

    def __post_init__(self) -> None:
        if self.scoring not in SCORINGS:
            raise ValueError(f"scoring must be one of {SCORINGS}, got {self.scoring!r}")
        if self.index not in INDEXES:
            raise ValueError(f"index must be one of {INDEXES}, got {self.index!r}")
        if self.scoring == "maxsim" and self.index != "exact":
            raise ValueError("maxsim scoring is exact; use index='exact' (FAISS indexes hold pooled vectors)")


class DocumentSearch:
    """The documents of a collection, encoded by ``teacher`` under ``settings``; :meth:`search` returns a run."""

    def __init__(
        self,
        teacher: TokenEncoder,
        documents: dict[str, str],
        settings: SearchSettings,
        *,
        cache_dir: str | os.PathLike,
    ) -> None:
        self.settings, cache_dir = settings, Path(cache_dir)
        if settings.passage_window:
            stride = settings.passage_stride or max(1, settings.passage_window // 2)
            documents = split_passages(documents, window=settings.passage_window, stride=stride)
        self.ids, texts = list(documents), list(documents.values())
        documents_count = len({document_of(i) for i in self.ids}) if settings.passage_window else len(self.ids)
        self.passages_per_document = len(self.ids) / max(1, documents_count)
        max_length = settings.document_max_length
        if settings.scoring == "maxsim":
            self.tokens = cached_encoding(
                "tokens",
                teacher,
                texts,
                max_length,
                cache_dir,
                lambda: encode_tokens(
                    teacher, texts, max_length=max_length, progress="encode document tokens", role="passage"
                ),
                role="passage",
            )
        else:
            self.vectors = encode_documents(teacher, documents, cache_dir=cache_dir, max_length=max_length)
            if settings.index != "exact":
                self.index = cached_index(self.vectors, self.ids, kind=settings.index, cache_dir=cache_dir / "indexes")

    def search(self, encoder: TokenEncoder, queries: dict[str, str]) -> dict[str, dict[str, float]]:
        """Run {qid: {docid: score}} of ``encoder`` on ``queries``, ``depth`` documents each."""
        return search_each({"": self}, encoder, queries)[""]

    def search_encoded(
        self, queries: EncodedTexts, query_ids: list[str], device: torch.device | str = "cpu"
    ) -> dict[str, dict[str, float]]:
        """Run of queries already encoded (their pooled vectors for dense scoring, their token vectors for
        MaxSim, which is computed on ``device``), ``depth`` documents each."""
        settings = self.settings
        k = min(len(self.ids), math.ceil(settings.depth * self.passages_per_document))  # enough for depth documents
        if settings.scoring == "maxsim":
            run = maxsim_search(queries.tokens, queries.mask, *self.tokens, query_ids, self.ids, k=k, device=device)
        elif settings.index == "exact":
            run = dense_search(queries.pooled, self.vectors, query_ids, self.ids, k=k)
        else:
            run = self.index.search(queries.pooled, query_ids, k=k)
        return max_passage(run, depth=settings.depth) if settings.passage_window else run


def search_each(
    searches: Mapping[str, DocumentSearch], encoder: TokenEncoder, queries: dict[str, str]
) -> dict[str, dict[str, dict[str, float]]]:
    """{name: run} of every search on ``queries``, encoded by ``encoder`` once: one forward pass gives both
    the pooled vectors of dense scoring and the token vectors of MaxSim."""
    scorings = {search.settings.scoring for search in searches.values()}
    encoded = encoder.encode_texts(list(queries.values()), pooled="dense" in scorings, tokens="maxsim" in scorings)
    return {name: search.search_encoded(encoded, list(queries), encoder.device) for name, search in searches.items()}
