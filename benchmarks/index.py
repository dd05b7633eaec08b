"""Exact search vs FAISS indexes on a synthesised collection of 100,000 passages.

Passage vectors: 384-d unit vectors around 1,000 topics (the width of all-MiniLM-L6-v2; encoding
100,000 real passages would take this CPU about 40 minutes, and index costs depend on the vectors'
count and width, not their text). Queries: 500 noisy copies of random passages. For each method:
build time, index size, time to search all queries for the top 1,000, and the share of the exact
top-10 and top-1,000 each approximate index finds. ``python -m benchmarks.index [--passages N]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from benchmarks.machine import RESULTS, write_results
from optical.index import VectorIndex
from optical.retrieval import dense_search


def synthesise(passages: int, queries: int, dim: int = 384, topics: int = 1000, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(topics, dim, generator=generator)
    vectors = F.normalize(
        centres[torch.randint(0, topics, (passages,), generator=generator)]
        + 0.8 * torch.randn(passages, dim, generator=generator),
        dim=-1,
    )
    picked = torch.randint(0, passages, (queries,), generator=generator)
    query_vectors = F.normalize(vectors[picked] + 0.05 * torch.randn(queries, dim, generator=generator), dim=-1)
    return vectors, query_vectors


def overlap(run, exact, k: int) -> float:
    """Mean share of the exact top-k that the run's top-k holds."""
    return sum(len(set(list(run[q])[:k]) & set(list(exact[q])[:k])) for q in exact) / (k * len(exact))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--out-dir", default=str(RESULTS))
    args = parser.parse_args()
    vectors, queries = synthesise(args.passages, args.queries)
    ids, qids = [f"p{j}" for j in range(args.passages)], [f"q{i}" for i in range(args.queries)]

    start = time.perf_counter()
    exact = dense_search(queries, vectors, qids, ids, k=1000)
    exact_seconds = time.perf_counter() - start
    rows = [
        {
            "method": "exact (torch matmul + top-k)",
            "build s": 0.0,
            "index MiB": vectors.numel() * 4 / 2**20,
            "search s": exact_seconds,
            "recall of exact top-10": 1.0,
            "recall of exact top-1000": 1.0,
        }
    ]
    for kind, knobs in (("flat", {}), ("hnsw", {"ef_search": 1000}), ("ivf", {"nprobe": 16}), ("ivf", {"nprobe": 64})):
        start = time.perf_counter()
        index = VectorIndex.build(vectors, ids, kind=kind)
        build = time.perf_counter() - start
        folder = Path(args.out_dir) / ".index-size"
        size = sum(p.stat().st_size for p in index.save(folder).iterdir()) / 2**20
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
        start = time.perf_counter()
        run = index.search(queries, qids, k=1000, **knobs)
        search = time.perf_counter() - start
        label = f"FAISS {kind}" + "".join(f", {name} {value}" for name, value in knobs.items())
        rows.append(
            {
                "method": label,
                "build s": build,
                "index MiB": size,
                "search s": search,
                "recall of exact top-10": overlap(run, exact, 10),
                "recall of exact top-1000": overlap(run, exact, 1000),
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table["speed-up vs exact"] = exact_seconds / table["search s"]
    print(table.round(4).to_string(index=False))
    title = (
        f"# Exact vs FAISS: {args.passages:,} synthesised passages (384-d), {args.queries} queries, top 1,000\n\n"
        "Vectors around 1,000 topics; queries are noisy copies of random passages. Index MiB: the saved index and ids. "
        "Recall: the share of the exact top-k that the index returns in its top-k.\n\n"
    )
    results = {"passages": args.passages, "queries": args.queries, "rows": rows}
    write_results(
        "index_cpu", results, title + table.to_markdown(index=False, floatfmt=".4g"), out_dir=Path(args.out_dir)
    )


if __name__ == "__main__":
    main()
