"""Give committed records (and kept checkpoints) a run-specification field they lack, at the value that keeps what
each run computed, each renamed by its new run key.

A record's run key hashes its whole run specification (:mod:`optical.run_spec`), so a specification that gains a
field would find none of its records under their old names and train them again. Each command adds what a record
lacks and renames it ``<new run key>-<evaluation key>.json.gz``; nothing else in the record changes. The renames are
logged (``--log``); a study run afterwards finds every record (``git status figures/`` stays clean). With
``--checkpoints`` the kept checkpoints (``<name>-<run key>/``: ``spec.json`` and ``last.pt``, which holds the spec
too) are changed and renamed as well, so the main job and the studies resume their finished students rather than
training them again.

- ``objective-setting OBJECTIVE SETTING DEFAULT``: an objective gained a setting (e.g. contrastive's ``negatives``, 0:
  the in-batch candidates every record trained with);
- ``pretraining``: ``pretrain_steps`` became the masked-LM recipe ``pretraining`` (:class:`optical.pretrain.
  PretrainConfig`; ``{}``: none). The records that pre-trained ran a constant learning rate equal to their
  training's, 32 sentences a step, 15% masked.

    python scripts/migrate_run_specs.py objective-setting contrastive negatives 0 \
        --log figures/runs/migration-contrastive-negatives.json
    python scripts/migrate_run_specs.py pretraining --log figures/runs/migration-pretraining.json \
        --checkpoints .cache/optical/checkpoints
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from optical.files import canonical_key, write_atomically
from optical.losses import OBJECTIVES
from optical.pretrain import PretrainConfig
from optical.run_spec import RunSpec

ROOT = Path(__file__).resolve().parent.parent

Change = Callable[[dict], bool]  # edits a run specification in place; True when it changed it


def objective_setting(objective: str, setting: str, default: object) -> Change:
    """The change that gives ``objective``'s specs ``setting`` = ``default``, refused unless it is the default."""
    if OBJECTIVES[objective].defaults().get(setting, object()) != default:
        raise ValueError(f"{objective}'s {setting} does not default to {default!r}: the records would change meaning")

    def change(spec: dict) -> bool:
        if spec["objective"] != objective or setting in spec["objective_settings"]:
            return False
        spec["objective_settings"][setting] = default
        return True

    return change


def pretraining(spec: dict) -> bool:
    """``pretrain_steps`` (an int) replaced by ``pretraining``, the recipe those steps ran."""
    if "pretrain_steps" not in spec:
        return False
    steps = spec.pop("pretrain_steps")
    recipe = PretrainConfig(steps, lr=spec["training"]["lr"], schedule="constant", warmup_ratio=0.0) if steps else None
    spec["pretraining"] = asdict(recipe) if recipe else {}
    return True


def migrate(runs_dir: Path, change: Change) -> dict[str, str]:
    """Apply ``change`` to the spec of every record under ``runs_dir``, each it changed written in RunSpec's field
    order (as a study writes it) and renamed by its new run key; returns {old name: new name}."""
    renamed = {}
    for path in sorted(runs_dir.glob("*.json.gz")):
        record = json.loads(gzip.decompress(path.read_bytes()))
        if not change(record["spec"]):
            continue
        record["spec"] = RunSpec(**record["spec"]).to_dict()
        name = f"{canonical_key(record['spec'])}-{canonical_key(record['evaluation'])}.json.gz"
        data = gzip.compress(json.dumps(record).encode(), mtime=0)
        write_atomically(runs_dir / name, lambda file, data=data: file.write_bytes(data))
        path.unlink()
        renamed[path.name] = name
    return renamed


def migrate_checkpoints(checkpoints_dir: Path, change: Change) -> dict[str, str]:
    """Apply ``change`` to the spec of every checkpoint folder under ``checkpoints_dir`` (``spec.json`` and the spec
    inside ``last.pt``), each it changed renamed by its new run key; returns {old name: new name}."""
    import torch

    from optical.train import CHECKPOINT_NAME, SPEC_NAME

    renamed = {}
    for spec_file in sorted(checkpoints_dir.glob(f"*/{SPEC_NAME}")):
        folder, spec = spec_file.parent, json.loads(spec_file.read_text())
        old_key = canonical_key(spec)
        if not change(spec):
            continue
        if not folder.name.endswith(f"-{old_key}"):
            raise ValueError(f"{folder} is not named by the key of its {SPEC_NAME}: move it away first")
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
    parser.add_argument("--runs", type=Path, default=ROOT / "figures" / "runs")
    parser.add_argument("--log", type=Path, required=True, help="a JSON file of the renames")
    parser.add_argument("--checkpoints", type=Path, help="a folder of kept checkpoints to migrate too")
    commands = parser.add_subparsers(dest="command", required=True)
    setting = commands.add_parser("objective-setting", help="an objective gained a setting")
    setting.add_argument("objective")
    setting.add_argument("setting")
    setting.add_argument("default", type=json.loads, help="the setting's default, as JSON (0, 0.1, false, ...)")
    commands.add_parser("pretraining", help="pretrain_steps became the masked-LM recipe")
    args = parser.parse_args()
    change = (
        pretraining if args.command == "pretraining" else objective_setting(args.objective, args.setting, args.default)
    )
    renamed = migrate(args.runs, change)
    args.log.write_text(json.dumps(renamed, indent=1, sort_keys=True) + "\n")
    print(f"{len(renamed)} records migrated ({args.command}); log: {args.log}")
    if args.checkpoints:
        moved = migrate_checkpoints(args.checkpoints, change)
        print(f"{len(moved)} checkpoints renamed: " + ", ".join(f"{old} -> {new}" for old, new in moved.items()))


if __name__ == "__main__":
    main()
