"""Give every study record its run identity (run once on 2026-12-06; its log is committed beside the records).

Before, a record of ``figures/runs/`` was named by a hash of the run's and the study settings' fields that were off
their defaults, and held scores only. Now it is named ``<run key>-<evaluation key>.json.gz`` and holds the two
specifications whole (:mod:`optical.run_spec`). An old name cannot be turned back into its settings, so this
script executes the study notebooks of ``make studies`` in this process, from the records (nothing trains: a run
without a record stops the script), and renames each record, adding its specifications, when a study first looks
it up. The notebooks write their tables and figures as ``make studies`` does, so ``git status figures/`` shows
afterwards that every one of them came back byte for byte.

    python scripts/migrate_records.py            # figures/runs in place; log in figures/runs/migration.json
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from pathlib import Path

import nbformat
import papermill

import optical.studies as studies
from optical.files import write_atomically
from optical.train import RESUMABLE_ELSEWHERE, non_default

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from regenerate_figures import STUDIES  # noqa: E402  (beside this file)


def legacy_key(run: studies.StudyRun, settings: studies.StudySettings) -> str:
    """The name a record had before 2026-12-06: the hash of the run's and the settings' non-default fields."""
    where = ("work_dir", "records_dir", "keep_checkpoints", "cache_teacher_states", "max_cut_share")
    fields = non_default(settings, ignore=where)
    fields["train"] = settings.train.non_default(ignore=RESUMABLE_ELSEWHERE)
    if (length := settings.max_length_for(run.language)) != settings.max_length:
        fields["max_length"] = length
    text = json.dumps({"run": non_default(run), "settings": fields}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def renaming_lookups(log: dict[str, str]):
    """``optical.studies._score_files`` that first moves a run's record from its old name to its new one."""
    score_files = studies._score_files

    def migrating(run: studies.StudyRun, settings: studies.StudySettings) -> list[Path]:
        files = score_files(run, settings)
        old = Path(settings.records_dir) / f"{legacy_key(run, settings)}.json.gz"
        if settings.records_dir and old.exists() and not files[0].exists():
            record = json.loads(gzip.decompress(old.read_bytes()))
            identity = {"spec": settings.spec(run).to_dict(), "evaluation": settings.evaluation(run.language).to_dict()}
            data = gzip.compress(json.dumps({**identity, **record}).encode(), mtime=0)
            write_atomically(files[0], lambda file: file.write_bytes(data))
            old.unlink()
            log[old.name] = files[0].name
        return files

    return migrating


def execute_here(notebook: Path, parameters: dict) -> None:
    """Run ``notebook``'s code cells in this process with its parameters overridden (display prints nothing)."""
    cells = [cell.source for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"]
    namespace = {"display": lambda *objects: None, "__name__": "__main__"}
    exec(cells[0], namespace)  # the parameters cell
    namespace.update(parameters)
    for source in cells[1:]:
        exec(source, namespace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--figures", type=Path, default=ROOT / "figures", help="the folder whose runs/ to migrate")
    args = parser.parse_args()
    runs_dir, log = args.figures / "runs", {}
    studies._score_files = renaming_lookups(log)
    studies.score_run = _refusing_to_train(studies.score_run)
    common = {"OUT_DIR": str(args.figures), "WORK_DIR": str(ROOT / ".cache" / "optical"), "DEVICE": "cpu"}
    for notebook, _, own in STUDIES:
        declared = papermill.inspect_notebook(ROOT / "notebooks" / notebook)
        parameters = {name: value for name, value in {**common, "WORKERS": 1, **own}.items() if name in declared}
        print(f"== {notebook} {own}", flush=True)
        execute_here(ROOT / "notebooks" / notebook, parameters)
    left = sorted(path.name for path in runs_dir.glob("*.json.gz") if "-" not in path.name)
    (runs_dir / "migration.json").write_text(json.dumps({"renamed": log, "not_renamed": left}, indent=1) + "\n")
    print(f"{len(log)} records renamed, {len(left)} left with an old name: {left}")
    if left:
        sys.exit("records no study looked up keep their old names; see figures/runs/migration.json")


def _refusing_to_train(score_run):
    """``score_run`` that stops the migration instead of training a run whose record is missing."""

    def scored_only(run, settings, **options):
        if not any(path.exists() for path in studies._score_files(run, settings)):
            raise SystemExit(f"{run.label} (seed {run.seed}) has no record: the migration trains nothing")
        return score_run(run, settings, **options)

    return scored_only


if __name__ == "__main__":
    main()
