"""Give the records of one objective a setting it gained, at the default that keeps what they computed.

A record's run key hashes every setting of its objective (:mod:`optical.run_spec`), so an objective that gains a
setting (e.g. contrastive's ``negatives``, 0: the in-batch candidates every record trained with) would find none of
its records under their old names and train them again. This script adds the setting to each record's run
specification and renames the record ``<new run key>-<evaluation key>.json.gz``; nothing else in the record changes.
The renames are logged (``--log``); a study run afterwards finds every record (``git status figures/`` stays clean).
With ``--checkpoints`` the kept checkpoints of that objective (``<name>-<run key>/``: ``spec.json`` and ``last.pt``,
which holds the spec too) get the setting and their new key as well, so the main job resumes its finished students
rather than training them again.

    python scripts/add_objective_setting.py contrastive negatives 0 \
        --log figures/runs/migration-contrastive-negatives.json
    python scripts/add_objective_setting.py ot negatives 0 --log figures/runs/migration-ot-negatives.json \
        --checkpoints .cache/optical/checkpoints
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


def _check_default(objective: str, setting: str, default: object) -> None:
    if OBJECTIVES[objective].defaults().get(setting, object()) != default:
        raise ValueError(f"{objective}'s {setting} does not default to {default!r}: the records would change meaning")


def migrate(runs_dir: Path, objective: str, setting: str, default: object) -> dict[str, str]:
    """Add ``setting`` = ``default`` to every record of ``objective`` under ``runs_dir`` that lacks it, renamed by
    the new run key; returns {old name: new name}."""
    _check_default(objective, setting, default)
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


def migrate_checkpoints(checkpoints_dir: Path, objective: str, setting: str, default: object) -> dict[str, str]:
    """Add ``setting`` = ``default`` to the spec of every checkpoint folder of ``objective`` under
    ``checkpoints_dir`` that lacks it (``spec.json`` and the spec inside ``last.pt``), the folder renamed by the new
    run key; returns {old name: new name}."""
    import torch

    from optical.train import CHECKPOINT_NAME, SPEC_NAME

    _check_default(objective, setting, default)
    renamed = {}
    for spec_file in sorted(checkpoints_dir.glob(f"*/{SPEC_NAME}")):
        folder, spec = spec_file.parent, json.loads(spec_file.read_text())
        if spec["objective"] != objective or setting in spec["objective_settings"]:
            continue
        old_key = canonical_key(spec)
        if not folder.name.endswith(f"-{old_key}"):
            raise ValueError(f"{folder} is not named by the key of its {SPEC_NAME}: move it away first")
        spec["objective_settings"][setting] = default
        checkpoint = folder / CHECKPOINT_NAME
        if checkpoint.exists():
            state = torch.load(checkpoint, map_location="cpu", weights_only=False)
            if state.get("spec") is not None:  # checkpoints before 2026-12-06 hold none
                state["spec"] = spec
                write_atomically(checkpoint, lambda file, state=state: torch.save(state, file))
        write_atomically(spec_file, lambda file, spec=spec: file.write_text(json.dumps(spec)))
        target = folder.with_name(folder.name.removesuffix(old_key) + canonical_key(spec))
        folder.rename(target)
        renamed[folder.name] = target.name
    return renamed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("objective")
    parser.add_argument("setting")
    parser.add_argument("default", type=json.loads, help="the setting's default, as JSON (0, 0.1, false, ...)")
    parser.add_argument("--runs", type=Path, default=ROOT / "figures" / "runs")
    parser.add_argument("--log", type=Path, required=True, help="a JSON file of the renames")
    parser.add_argument("--checkpoints", type=Path, help="a folder of kept checkpoints to migrate too")
    args = parser.parse_args()
    renamed = migrate(args.runs, args.objective, args.setting, args.default)
    args.log.write_text(json.dumps(renamed, indent=1, sort_keys=True) + "\n")
    print(f"{len(renamed)} records of {args.objective} given {args.setting}={args.default!r}; log: {args.log}")
    if args.checkpoints:
        moved = migrate_checkpoints(args.checkpoints, args.objective, args.setting, args.default)
        print(f"{len(moved)} checkpoints renamed: " + ", ".join(f"{old} -> {new}" for old, new in moved.items()))


if __name__ == "__main__":
    main()
