"""Late interaction: ColBERT's MaxSim over token vectors, with the same encoders as dense retrieval.

score(q, d) = sum over the query's tokens of the largest cosine with any of the document's tokens
(Khattab & Zaharia, SIGIR 2020). Token vectors are L2-normalised; padding never matches.
"""

from __future__ import annotations

import torch

from optical.encoders import TokenEncoder
from optical.retrieval import top_k_run


def encode_tokens(
    encoder: TokenEncoder,
    texts: list[str],
    *,
    max_length: int | None = None,
    batch_size: int = 64,
    progress: str | None = None,
    role: str = "query",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit token vectors (N, L, d) in float16 and their mask (N, L) of ``texts`` in ``role``, padded to the
    longest text; the mask leaves the model's prefix out.

    float16 halves the memory of a token index; scores are computed in float32.
    """
    encoded = encoder.encode_texts(
        texts, pooled=False, tokens=True, max_length=max_length, batch_size=batch_size, progress=progress, role=role
    )
    return encoded.tokens, encoded.mask


def maxsim_scores(
    query_vectors: torch.Tensor,
    query_mask: torch.Tensor,
    doc_vectors: torch.Tensor,
    doc_mask: torch.Tensor,
    *,
    budget: int = 2**26,
    query_group: int = 64,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    r"""MaxSim of every query with every document: (Q, D), on the CPU.

    .. math:: s(q, d) = \sum_{i \in q} \max_{j \in d} \langle q_i, d_j \rangle

    query_vectors (Q, Lq, dim), query_mask (Q, Lq); doc_vectors (D, Ld, dim), doc_mask (D, Ld).
    Queries go shortest first in groups of ``query_group``, each cut after its longest member's last
    token (a batch padded to its longest query would multiply 2.4x as many query rows as it has tokens,
    on the Chichewa test queries); see :func:`_maxsim_of_group` for the documents.
    """
    out = torch.empty(len(query_vectors), len(doc_vectors))
    for group, width in query_groups(query_mask, query_group):
        out[group] = _maxsim_of_group(
            query_vectors[group, :width], query_mask[group, :width], doc_vectors, doc_mask, budget, device
        )
    return out


def query_groups(query_mask: torch.Tensor, size: int) -> list[tuple[torch.Tensor, int]]:
    """Queries shortest first in groups of ``size``: (their indices, the position after the last token any uses)."""
    groups = []
    for group in query_mask.sum(1).argsort().split(size):
        used = query_mask[group].any(0).nonzero()  # the token positions any query of the group uses
        groups.append((group, int(used.max()) + 1 if len(used) else 1))
    return groups


def _maxsim_of_group(
    query_vectors: torch.Tensor,
    query_mask: torch.Tensor,
    doc_vectors: torch.Tensor,
    doc_mask: torch.Tensor,
    budget: int,
    device: torch.device | str,
) -> torch.Tensor:
    """MaxSim of a few queries with every document: (Q, D).

    Documents go shortest first in chunks of c, each cut to its longest member's length L, with
    Q x Lq x c x L <= ``budget`` similarities (256 MB), as one matrix product per chunk. A padded
    document token is replaced by a copy of the document's first token, which cannot change a
    maximum, so no masking pass is needed; a document without tokens scores -1 per query token.
    The products run on ``device`` (chunks are moved there one by one); the scores come back to the CPU.
    """
    query_vectors, query_mask = query_vectors.to(device), query_mask.to(device)
    queries = (query_vectors.float() * query_mask[..., None]).flatten(0, 1)  # (Q * Lq, dim), padding zeroed
    num_queries, query_length = query_mask.shape
    query_weight = query_mask.float()  # (Q, Lq)
    doc_mask = doc_mask.bool()
    lengths = doc_mask.sum(1)  # (D,)
    out = torch.empty(num_queries, len(doc_vectors))
    order = lengths.argsort()
    start = 0
    while start < len(order):
        per_token = max(1, num_queries * query_length)
        chunk = max(1, budget // (per_token * max(1, int(lengths[order[start]]))))  # as if all were this short
        last = min(len(order), start + chunk) - 1
        chunk = max(1, budget // (per_token * max(1, int(lengths[order[last]]))))  # within budget at its widest
        index = order[start : start + chunk]
        width = max(1, int(lengths[index].max()))  # the longest of the chunk
        docs = doc_vectors[index, :width].to(device).float()  # (c, L, dim)
        first = docs[:, :1].expand_as(docs)
        docs = torch.where(doc_mask[index, :width, None].to(device), docs, first)  # padding -> the first token again
        similarity = queries @ docs.flatten(0, 1).T  # (Q * Lq, c * L)
        best = similarity.view(num_queries, query_length, len(index), width).amax(-1)  # (Q, Lq, c)
        out[:, index] = torch.einsum("qic,qi->qc", best, query_weight).cpu()
        start += len(index)
    empty = lengths == 0
    out[:, empty] = -query_weight.sum(1, keepdim=True).cpu()
    return out


def maxsim_search(
    query_vectors: torch.Tensor,
    query_mask: torch.Tensor,
    doc_vectors: torch.Tensor,
    doc_mask: torch.Tensor,
    query_ids: list[str],
    document_ids: list[str],
    *,
    k: int = 1000,
    device: torch.device | str = "cpu",
) -> dict[str, dict[str, float]]:
    """Exact top-k documents by MaxSim (computed on ``device``) -> run {qid: {docid: score}}."""
    scores = maxsim_scores(query_vectors, query_mask, doc_vectors, doc_mask, device=device)
    return top_k_run(scores, query_ids, document_ids, k=k)
