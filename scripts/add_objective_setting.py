"""Give the records of one objective a setting it gained, at the default that keeps what they computed.

A record's run key hashes every setting of its objective (:mod:`optical.run_spec`), so an objective that gains a
setting (e.g. contrastive's ``negatives``, 0: the in-batch candidates every record trained with) would find none of
its records under their old names and train them again. This script adds the setting to each record's run
specification and renames the record ``<new run key>-<evaluation key>.json.gz``; nothing else in the record changes.
The renames are logged (``--log``); a study run afterwards finds every record (``git status figures/`` stays clean).

    python scripts/add_objective_setting.py contrastive negatives 0 --log figures/runs/migration-negatives.json
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

from optical.files import write_atomically
from optical.losses import OBJECTIVES
from optical.run_spec import canonical_key

ROOT = Path(__file__).resolve().parent.parent


def migrate(runs_dir: Path, objective: str, setting: str, default: object) -> dict[str, str]:
    """Add ``setting`` = ``default`` to every record of ``objective`` under ``runs_dir`` that lacks it, renamed by
    the new run key; returns {old name: new name}."""
    if OBJECTIVES[objective].defaults().get(setting, object()) != default:
        raise ValueError(f"{objective}'s {setting} does not default to {default!r}: the records would change meaning")
    renamed = {}
    for path in sorted(runs_dir.glob("*.json.gz")):
        record = json.loads(gzip.decompress(path.read_bytes()))
        spec = record["spec"]
        if spec["objective"] != objective or setting in spec["objective_settings"]:
            continue
        spec["objective_settings"][setting] = default
        name = f"{canonical_key(spec)}-{canonical_key(record['evaluation'])}.json.gz"
        data = gzip.compress(json.dumps(record).encode(), mtime=0)
        write_atomically(runs_dir / name, lambda file, data=data: file.write_bytes(data))
        path.unlink()
        renamed[path.name] = name
    return renamed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("objective")
    parser.add_argument("setting")
    parser.add_argument("default", type=json.loads, help="the setting's default, as JSON (0, 0.1, false, ...)")
    parser.add_argument("--runs", type=Path, default=ROOT / "figures" / "runs")
    parser.add_argument("--log", type=Path, required=True, help="a JSON file of the renames")
    args = parser.parse_args()
    renamed = migrate(args.runs, args.objective, args.setting, args.default)
    args.log.write_text(json.dumps(renamed, indent=1, sort_keys=True) + "\n")
    print(f"{len(renamed)} records of {args.objective} given {args.setting}={args.default!r}; log: {args.log}")


if __name__ == "__main__":
    main()
