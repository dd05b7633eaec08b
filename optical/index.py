"""Dense search at scale: a FAISS index over document vectors, built once, saved and reused.

``flat`` is exact (inner product of unit vectors = cosine); ``hnsw`` and ``ivf`` are approximate
and trade recall for speed. On a machine with a FAISS GPU build and CUDA, ``flat`` and ``ivf``
indexes are searched on the GPU.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from optical.files import write_atomically

KINDS = ("flat", "hnsw", "ivf")


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("FAISS indexes need faiss-cpu (pip install faiss-cpu) or a faiss GPU build") from None
    return faiss


class VectorIndex:
    """Document vectors (N, d) and their ids behind a FAISS index; :meth:`search` returns a run."""

    def __init__(self, index, document_ids: list[str], kind: str) -> None:
        self.index, self.document_ids, self.kind = index, document_ids, kind
        self._gpu_index = None

    @classmethod
    def build(
        cls, vectors: torch.Tensor, document_ids: list[str], *, kind: str = "flat", hnsw_m: int = 32, ivf_lists: int = 0
    ) -> VectorIndex:
        """Index (N, d) unit vectors. hnsw_m: graph degree; ivf_lists: clusters (0: 4 sqrt(N), at most N/39
        so that k-means has the 39 points per cluster FAISS asks for)."""
        faiss = _faiss()
        if kind not in KINDS:
            raise ValueError(f"index kind must be one of {KINDS}, got {kind!r}")
        if len(vectors) != len(document_ids):
            raise ValueError(f"{len(vectors)} vectors but {len(document_ids)} document ids")
        data = np.ascontiguousarray(vectors.float().numpy())
        dim = data.shape[1]
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
        else:
            lists = ivf_lists or max(1, min(int(4 * np.sqrt(len(data))), len(data) // 39))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
            index.train(data)
        index.add(data)
        return cls(index, list(document_ids), kind)

    def search(
        self, queries: torch.Tensor, query_ids: list[str], *, k: int = 1000, nprobe: int = 16, ef_search: int = 128
    ) -> dict[str, dict[str, float]]:
        """Top-k documents per query -> run {qid: {docid: score}}. nprobe (ivf), ef_search (hnsw): recall knobs."""
        faiss = _faiss()
        index = self._searchable(faiss)
        if self.kind == "ivf":
            index.nprobe = nprobe
        if self.kind == "hnsw":
            index.hnsw.efSearch = max(ef_search, k)
        scores, positions = index.search(np.ascontiguousarray(queries.float().numpy()), min(k, len(self.document_ids)))
        return {
            qid: {self.document_ids[p]: float(s) for p, s in zip(row_positions, row_scores, strict=True) if p >= 0}
            for qid, row_positions, row_scores in zip(query_ids, positions.tolist(), scores.tolist(), strict=True)
        }

    def _searchable(self, faiss):
        """The index to search: a GPU copy, made once, where FAISS has GPU support and CUDA is present."""
        if self.kind != "hnsw" and torch.cuda.is_available() and hasattr(faiss, "StandardGpuResources"):
            if self._gpu_index is None:
                self._gpu_index = faiss.index_cpu_to_gpu(
                    faiss.StandardGpuResources(), torch.cuda.current_device(), self.index
                )
            return self._gpu_index
        return self.index

    def save(self, directory: str | os.PathLike) -> Path:
        """``index.faiss`` and ``ids.json`` under ``directory`` (written to temporary names, then renamed)."""
        faiss = _faiss()
        directory = Path(directory)
        write_atomically(directory / "index.faiss", lambda file: faiss.write_index(self.index, str(file)))
        ids = json.dumps({"kind": self.kind, "ids": self.document_ids})
        write_atomically(directory / "ids.json", lambda file: file.write_text(ids))
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> VectorIndex:
        faiss = _faiss()
        directory = Path(directory)
        if not (directory / "index.faiss").is_file() or not (directory / "ids.json").is_file():
            raise FileNotFoundError(f"no saved index under {directory} (index.faiss and ids.json)")
        meta = json.loads((directory / "ids.json").read_text())
        return cls(faiss.read_index(str(directory / "index.faiss")), meta["ids"], meta["kind"])


def cached_index(
    vectors: torch.Tensor, document_ids: list[str], *, kind: str, cache_dir: str | os.PathLike
) -> VectorIndex:
    """The index of these vectors and ids: loaded when it was built before, else built and saved.

    The folder is named by a hash of the kind, the ids and the vector bytes, so a changed collection
    or encoder never reads a stale index.
    """
    digest = hashlib.sha256(kind.encode() + "\0".join(document_ids).encode() + vectors.float().numpy().tobytes())
    directory = Path(cache_dir) / f"{kind}-{digest.hexdigest()[:16]}"
    if (directory / "index.faiss").is_file():
        return VectorIndex.load(directory)
    index = VectorIndex.build(vectors, document_ids, kind=kind)
    index.save(directory)
    return index
