"""Scoring a query set both ways, as the studies do: query encoding and MaxSim, each before and after its fix.

The en-ny test collection's queries (Chichewa verses, as the studies score them) and passages are
encoded by the teacher. First the queries' encoding for dense and MaxSim scoring: two forward passes
(``embed``, then ``encode_tokens``) against one (``encode_texts`` giving both), checked equal. Then
``maxsim_scores`` scores all queries against all passages with the queries in one group (padded to
the longest query, as before grouping) and in groups of 64 of similar length, side by side in one
run, and checks that both give the same scores.
``python -m benchmarks.maxsim [--device cuda]``.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import pandas as pd
import torch

from benchmarks.machine import RESULTS, median_seconds, write_results
from optical.data import bible_clir_collection, bible_splits, load_bible_bitext
from optical.encoders import TokenEncoder
from optical.late_interaction import encode_tokens, maxsim_scores, query_groups
from optical.search import SearchSettings
from optical.train import pick_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--num-queries", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out-dir", default=str(RESULTS))
    args = parser.parse_args()
    device = pick_device(args.device)
    held_out = load_bible_bitext("ny").select(bible_splits()["test"])
    collection = bible_clir_collection(held_out, name="bench", num_queries=args.num_queries)
    teacher = TokenEncoder().to(device).eval()
    texts = list(collection.queries.values())  # encoded at the studies' 128 tokens

    def one_pass() -> tuple[torch.Tensor, ...]:
        both = teacher.encode_texts(texts, tokens=True)
        return both.pooled, both.tokens, both.mask

    encodings = {
        "two passes: embed, then encode_tokens": lambda: (teacher.embed(texts), *encode_tokens(teacher, texts)),
        "one pass: encode_texts(pooled, tokens)": one_pass,
    }
    encoding_rows, encoded = [], {}
    for name, encode in encodings.items():
        encoded[name] = encode()
        encoding_rows.append(
            {"query encoding": name, "seconds": median_seconds(encode, args.repeats, sync=device.type == "cuda")}
        )
    if not all(torch.equal(a, b) for a, b in zip(*encoded.values(), strict=True)):
        raise AssertionError("one pass did not give the two passes' vectors")
    encoding_speed_up = encoding_rows[0]["seconds"] / encoding_rows[1]["seconds"]
    _, queries, query_mask = encoded["one pass: encode_texts(pooled, tokens)"]
    document_length = SearchSettings().document_max_length  # as DocumentSearch encodes them
    docs, doc_mask = encode_tokens(teacher, list(collection.documents.values()), max_length=document_length)
    rows, scores = [], {}
    for name, query_group in (("one group, padded to the longest query", len(queries)), ("groups of 64 by length", 64)):
        score = partial(maxsim_scores, queries, query_mask, docs, doc_mask, query_group=query_group, device=device)
        scores[name] = score()
        seconds = median_seconds(score, args.repeats, sync=device.type == "cuda")
        multiplied = sum(len(group) * width for group, width in query_groups(query_mask, query_group))
        rows.append({"queries": name, "query rows multiplied": multiplied, "seconds": seconds})
    table = pd.DataFrame(rows)
    speed_up = rows[0]["seconds"] / rows[1]["seconds"]
    difference = float((scores[rows[0]["queries"]] - scores[rows[1]["queries"]]).abs().max())
    encoding_table = pd.DataFrame(encoding_rows)
    print(encoding_table.to_string(index=False), f"\nspeed-up {encoding_speed_up:.2f}x, identical vectors")
    print(table.to_string(index=False), f"\nspeed-up {speed_up:.2f}x, largest score difference {difference:.2e}")
    title = (
        f"# Scoring {len(queries)} en-ny test queries both ways against {len(docs):,} passages ({device.type})\n\n"
        f"Median of {args.repeats} runs each.\n\n## Query encoding for dense and MaxSim scoring\n\n"
        f"Speed-up of one pass {encoding_speed_up:.2f}x; identical vectors.\n\n"
        + encoding_table.to_markdown(index=False, floatfmt=".4g")
        + f"\n\n## MaxSim\n\nQuery tokens: {int(query_mask.sum()):,} real, longest query {query_mask.shape[1]}. "
        f"Speed-up of grouping {speed_up:.2f}x; largest score difference {difference:.1e}.\n\n"
    )
    results = {
        "encoding_rows": encoding_rows,
        "encoding_speed_up": encoding_speed_up,
        "rows": rows,
        "speed_up": speed_up,
        "max_abs_difference": difference,
        "documents": len(docs),
    }
    markdown = title + table.to_markdown(index=False, floatfmt=".4g")
    write_results(f"maxsim_{device.type}", results, markdown, out_dir=Path(args.out_dir))


if __name__ == "__main__":
    main()
