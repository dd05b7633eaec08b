"""Dense retrieval: documents encoded once by the teacher (cached), queries by the student."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from optical.encoders import TokenEncoder
from optical.files import write_atomically

__all__ = ["cached_encoding", "dense_search", "encode_documents", "top_k_run"]


def _cache_key(encoder: TokenEncoder, texts: list[str], max_length: int, role: str) -> str:
    prefix = encoder.prefixes.get(role, "")  # a model without prefixes keeps the keys it had before them
    digest = hashlib.sha256(f"{encoder.model_dir}|{max_length}".encode() + (f"|{prefix}".encode() if prefix else b""))
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


def encode_documents(
    encoder: TokenEncoder,
    documents: dict[str, str],
    *,
    cache_dir: str | os.PathLike | None = None,
    batch_size: int = 64,
    max_length: int = 256,
) -> torch.Tensor:
    """Embeddings (N, d) of ``documents`` (in the ``passage`` role) in their order; reused from ``cache_dir``.

    Documents are longer than queries: they are truncated at ``max_length`` tokens (256, the input
    limit of all-MiniLM-L6-v2's sentence-transformers configuration). The cache file is named by a
    hash of the encoder's model directory, max_length and every text, so a changed collection or
    encoder never reads a stale cache.
    """
    texts = list(documents.values())

    def encode() -> torch.Tensor:
        return encoder.embed(
            texts, batch_size=batch_size, max_length=max_length, progress="encode documents", role="passage"
        )

    if cache_dir is None:
        return encode()
    return cached_encoding("docs", encoder, texts, max_length, cache_dir, encode, role="passage")


def cached_encoding(
    kind: str,
    encoder: TokenEncoder,
    texts: list[str],
    max_length: int,
    cache_dir: str | os.PathLike,
    compute,
    *,
    role: str = "query",
):
    """``compute()`` of these texts, kept as ``<kind>-<hash>.pt`` under ``cache_dir`` and read back later.

    The hash covers the encoder's model directory, max_length, every text and the model's prefix for
    ``role`` (the role ``compute`` encodes in); the file is written under a temporary name and renamed,
    so a killed run never leaves a half-written cache.
    """
    cache_file = Path(cache_dir) / f"{kind}-{_cache_key(encoder, texts, max_length, role)}.pt"
    if cache_file.exists():
        return torch.load(cache_file)
    value = compute()
    write_atomically(cache_file, lambda file: torch.save(value, file))
    return value


def dense_search(
    query_embeddings: torch.Tensor,
    document_embeddings: torch.Tensor,
    query_ids: list[str],
    document_ids: list[str],
    *,
    k: int = 1000,
) -> dict[str, dict[str, float]]:
    """Exact top-k by cosine (inner product of unit vectors) -> run {qid: {docid: score}}.

    query_embeddings (Q, d), document_embeddings (N, d).
    """
    return top_k_run(query_embeddings @ document_embeddings.T, query_ids, document_ids, k=k)  # (Q, N) scores


def top_k_run(
    scores: torch.Tensor, query_ids: list[str], document_ids: list[str], *, k: int
) -> dict[str, dict[str, float]]:
    """The ``k`` best documents of each query from a (Q, N) score matrix -> run {qid: {docid: score}}."""
    top_scores, top_index = scores.topk(min(k, scores.shape[1]), dim=1)  # (Q, k)
    return {
        qid: {document_ids[j]: float(s) for j, s in zip(row_index.tolist(), row_scores.tolist(), strict=True)}
        for qid, row_index, row_scores in zip(query_ids, top_index, top_scores, strict=True)
    }
