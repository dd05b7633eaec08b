"""Build the collections of every installed pair (dev and test books: verse, paraphrase, topical), write them as TREC
files under ``.cache/optical/collections/`` and their statistics to ``figures/collections.md`` and ``figures/
collections.csv`` (the README's collections table) (``make collections``).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import pandas as pd

from optical.benchmark import bible_benchmarks
from optical.data import installed_languages
from optical.data.topical import collection_statistics

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "figures" / "collections.md")
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".cache" / "optical")
    args = parser.parse_args()
    rows = []
    for language in installed_languages():
        for split in ("dev", "test"):
            for benchmark in bible_benchmarks(language, split):
                collection = benchmark.collection
                collection.write(args.work_dir / "collections" / collection.name)
                kinds = Counter({group: len(qids) for group, qids in benchmark.groups.items()})
                about = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
                stats = collection_statistics(collection)
                rows.append({"pair": f"en-{language}", "collection": benchmark.label, **stats, "query kinds": about})
    table = pd.DataFrame(rows)
    table.to_csv(args.out.with_suffix(".csv"), index=False, lineterminator="\n", float_format="%.6g")
    text = (
        "# The collections\n\n"
        "Queries drawn with seed 0 from the held-out books; `random MAP`: the mean over 5 uniformly random rankings "
        "(depth 1000). Verse (`dev`, `test`): a foreign verse's one relevant document is the 3-verse KJV passage "
        "holding its translation (bitext mining). Paraphrase: WEB verses as documents, the query's own verse graded "
        "2, WEB verses sharing at least half their words graded 1. Topical: the other verses of the query's Nave units "
        "of 2 to 30 held-out verses, query verses (at most 15% of the books' verses) left out of the documents; kinds: "
        "units whose topic is a name, capitalised inside most of their verses (name: people, places), the others "
        "(subject), both (mixed).\n\n" + table.to_markdown(index=False, floatfmt=".4f") + "\n"
    )
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
