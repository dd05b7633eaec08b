"""Build the paraphrase and topical collections of every installed pair (dev and test books), write them as TREC
files under ``.cache/optical/collections/`` and their statistics to ``figures/collections.md`` (``make collections``).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import pandas as pd

from optical.data import installed_languages
from optical.data.topical import bible_collections, collection_statistics

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "figures" / "collections.md")
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".cache" / "optical")
    args = parser.parse_args()
    rows = []
    for language in installed_languages():
        for split in ("dev", "test"):
            paraphrase, topical = bible_collections(language, split)
            kinds = Counter(topical.kind.values())
            for collection, about in (
                (paraphrase, ""),
                (topical.collection, ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))),
            ):
                collection.write(args.work_dir / "collections" / collection.name)
                rows.append({"collection": collection.name, **collection_statistics(collection), "query kinds": about})
    table = pd.DataFrame(rows).set_index("collection")
    text = (
        "# The paraphrase and topical collections\n\n"
        "WEB verses of the held-out books as documents; queries drawn with seed 0; `random MAP`: the mean over 5 "
        "uniformly random rankings (depth 1000). Paraphrase: the query's own verse graded 2, WEB verses sharing at "
        "least half their words graded 1. Topical: the other verses of the query's Nave units of 2 to 30 held-out "
        "verses, query verses left out of the documents; kinds: units whose topic name occurs in most of their verses "
        "(name), the others (subject), both (mixed).\n\n" + table.to_markdown(floatfmt=".4f") + "\n"
    )
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
