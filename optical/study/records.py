"""Where a run's scores are kept: its record (``records_dir``, committed) or the cache (``work_dir/studies``),
named ``<run key>-<evaluation key>``, written atomically and without a timestamp.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from optical.files import write_atomically
from optical.study.settings import StudyRun, StudySettings


def record_files(run: StudyRun, settings: StudySettings) -> list[Path]:
    """Where ``run``'s scores may be kept under ``settings``, first where they are written:
    ``records_dir/<run key>-<evaluation key>.json.gz`` when set, then the cache ``work_dir/studies/`` (``.json``)."""
    key = settings.key(run)
    cache = Path(settings.work_dir) / "studies" / f"{key}.json"
    return [Path(settings.records_dir) / f"{key}.json.gz", cache] if settings.records_dir else [cache]


def stored_scores(run: StudyRun, settings: StudySettings) -> dict | None:
    """``run``'s kept scores, or None; a run found only in the cache is given its record."""
    files = record_files(run, settings)
    for path in files:
        if path.exists():
            try:
                scores = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_text())
            except (OSError, EOFError, ValueError) as error:  # a truncated file, a merge conflict's markers
                raise ValueError(f"{path} is unreadable ({error}); delete it to score the run again") from None
            if path != files[0]:
                store_scores(scores, files[0])
            return scores
    return None


def store_scores(scores: dict, path: Path) -> None:
    """Write ``scores`` to ``path`` (gzipped for ``.gz``, with no timestamp: the same scores, the same bytes),
    renamed into place so that a killed write leaves no half file."""
    data = json.dumps(scores).encode()
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    write_atomically(path, lambda file: file.write_bytes(data))
