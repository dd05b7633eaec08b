"""Retrieval cost on the embedded collection: documents encoded once and cached, then a query set.

Cold: the teacher encodes every English passage (and writes the cache). Warm: the cache is read
back. Query set: encode the queries, exact top-1000 search, evaluate with the project's metrics,
once the documents are cached. ``python -m benchmarks.retrieval [--device cuda]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.machine import RESULTS, write_results
from optical.data import bible_clir_collection, bible_splits, load_bible_bitext
from optical.encoders import TokenEncoder
from optical.experiment import evaluate_encoder
from optical.search import DocumentSearch, SearchSettings
from optical.train import pick_device


def seconds(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--num-queries", type=int, default=500)
    parser.add_argument("--out-dir", default=str(RESULTS))
    args = parser.parse_args()
    device = pick_device(args.device)
    held_out = load_bible_bitext("ny").select(bible_splits()["test"])
    collection = bible_clir_collection(held_out, name="bench", num_queries=args.num_queries, verses_per_passage=3)
    teacher = TokenEncoder().to(device).eval()
    with tempfile.TemporaryDirectory() as cache:
        settings = SearchSettings()
        search, cold = seconds(lambda: DocumentSearch(teacher, collection.documents, settings, cache_dir=cache))
        _, warm = seconds(lambda: DocumentSearch(teacher, collection.documents, settings, cache_dir=cache))
    (means, _, _), query_set = seconds(lambda: evaluate_encoder(teacher, collection, search))
    rows = [
        {"what": f"encode {len(collection.documents):,} passages (cold, writes the cache)", "seconds": cold},
        {"what": "read the cached document embeddings", "seconds": warm},
        {"what": f"{len(collection.queries)} queries: encode + exact top-1000 + evaluate", "seconds": query_set},
    ]
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    title = (
        f"# Retrieval on the embedded en-ny test collection ({device.type})\n\n"
        f"all-MiniLM-L6-v2, passages truncated at 256 tokens; cold/warm ratio {cold / warm:,.0f}x; "
        f"zero-shot MAP {means['MAP']:.4f} (a check that the run is the real one).\n\n"
    )
    results = {"rows": rows, "documents": len(collection.documents), "queries": len(collection.queries)}
    write_results(
        f"retrieval_{device.type}",
        results,
        title + table.to_markdown(index=False, floatfmt=".4g"),
        out_dir=Path(args.out_dir),
    )


if __name__ == "__main__":
    main()
