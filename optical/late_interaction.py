"""Late interaction: ColBERT's MaxSim over token vectors, with the same encoders as dense retrieval.

score(q, d) = sum over the query's tokens of the largest cosine with any of the document's tokens
(Khattab & Zaharia, SIGIR 2020). Token vectors are L2-normalised; padding never matches.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from optical.encoders import TokenEncoder
from optical.retrieval import top_k_run


@torch.no_grad()
def encode_tokens(
    encoder: TokenEncoder,
    texts: list[str],
    *,
    max_length: int | None = None,
    batch_size: int = 64,
    progress: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit token vectors (N, L, d) in float16 and their mask (N, L), padded to the longest text.

    Texts are encoded longest first (by token count), so that batches carry little padding, and
    returned in the given order. float16 halves the memory of a token index; scores are computed in
    float32.
    """
    was_training = encoder.training
    encoder.eval()
    order, lengths = encoder.longest_first(texts, max_length)
    vectors = torch.zeros(len(texts), max(lengths, default=0), encoder.dim, dtype=torch.float16)  # (N, L, d)
    mask = torch.zeros(len(texts), max(lengths, default=0), dtype=torch.bool)  # (N, L)
    for start in tqdm(range(0, len(texts), batch_size), desc=progress, disable=progress is None, unit="batch"):
        index = order[start : start + batch_size]
        batch = encoder.encode([texts[i] for i in index], max_length)
        width = batch.embeddings.shape[1]
        vectors[index, :width] = F.normalize(batch.embeddings.float(), dim=-1).half().cpu()
        mask[index, :width] = batch.attention_mask.bool().cpu()
    encoder.train(was_training)
    return vectors, mask


def maxsim_scores(
    query_vectors: torch.Tensor,
    query_mask: torch.Tensor,
    doc_vectors: torch.Tensor,
    doc_mask: torch.Tensor,
    *,
    budget: int = 2**26,
) -> torch.Tensor:
    r"""MaxSim of every query with every document: (Q, D).

    .. math:: s(q, d) = \sum_{i \in q} \max_{j \in d} \langle q_i, d_j \rangle

    query_vectors (Q, Lq, dim), query_mask (Q, Lq); doc_vectors (D, Ld, dim), doc_mask (D, Ld).
    Documents are scored in chunks of c with Q x c x Lq x Ld <= ``budget`` similarities (256 MB).
    """
    queries = query_vectors.float()
    query_weight = query_mask.float()  # (Q, Lq)
    out = torch.empty(len(queries), len(doc_vectors))
    doc_chunk = max(1, budget // max(1, queries.shape[0] * queries.shape[1] * doc_vectors.shape[1]))
    for start in range(0, len(doc_vectors), doc_chunk):
        docs = doc_vectors[start : start + doc_chunk].float()  # (c, Ld, dim)
        similarity = torch.einsum("qid,cjd->qcij", queries, docs)  # (Q, c, Lq, Ld)
        similarity = similarity.masked_fill(
            ~doc_mask[start : start + doc_chunk].bool()[None, :, None, :], float("-inf")
        )
        best = similarity.amax(-1).clamp_min(-1.0)  # (Q, c, Lq); an empty document scores -1 per token
        out[:, start : start + doc_chunk] = (best * query_weight[:, None, :]).sum(-1)
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
) -> dict[str, dict[str, float]]:
    """Exact top-k documents by MaxSim -> run {qid: {docid: score}}."""
    return top_k_run(maxsim_scores(query_vectors, query_mask, doc_vectors, doc_mask), query_ids, document_ids, k=k)
