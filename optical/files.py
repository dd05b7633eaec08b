"""Files written whole or not at all: a kill during a write leaves the previous file (or none), never half of one."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path


def canonical_key(value: dict | list) -> str:
    """16 hex digits of the SHA-256 of ``value`` as canonical JSON (sorted keys, no spaces, tuples as lists): the
    name of what was computed from ``value`` (a run's record, a kept file)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_atomically(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary)`` on ``<path>.<pid>.partial`` beside ``path``, then rename it to ``path``.

    The rename is atomic on one file system, so readers see the old file or the new one; the process id
    in the temporary name keeps two processes writing the same file (study workers sharing a cache) apart.
    If ``write`` raises, the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def kept_file(name: str, *, work_dir: str | os.PathLike, records_dir: str | os.PathLike = "") -> Path:
    """Where a file that cannot be computed again bit for bit (eflomal takes no seed) is read and written.

    ``records_dir/name`` (committed, so another machine reuses it) when ``records_dir`` is set, else the
    cache ``work_dir/name``; a file found only in the cache is copied beside the records first.
    """
    cached = Path(work_dir) / name
    if not records_dir:
        return cached
    kept = Path(records_dir) / name
    if not kept.exists() and cached.exists():
        write_atomically(kept, lambda file: file.write_bytes(cached.read_bytes()))
    return kept
