"""Atomic writes: the whole new file or the old one, never half of one, and no temporary file left; kept files."""

from pathlib import Path

import pytest

from optical.files import kept_file, write_atomically


class Interrupted(Exception):
    """Stands for a kill in the middle of a write."""


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path):
    path = tmp_path / "new" / "table.csv"  # its folder does not exist yet
    assert write_atomically(path, lambda file: file.write_text("a,b\n1,2\n")) == path
    write_atomically(path, lambda file: file.write_text("a,b\n3,4\n"))
    assert path.read_text() == "a,b\n3,4\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["table.csv"]


def test_a_write_cut_short_keeps_the_old_file_and_removes_its_half(tmp_path: Path):
    path = tmp_path / "scores.json"
    path.write_text('{"old": 1}')

    def write_half_then_fail(file: Path) -> None:
        file.write_text('{"new": ')
        raise Interrupted

    with pytest.raises(Interrupted):
        write_atomically(path, write_half_then_fail)
    assert path.read_text() == '{"old": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.json"]


def test_a_kept_file_lives_beside_the_records_and_is_copied_there_from_the_cache(tmp_path: Path):
    cache, records = tmp_path / "cache", tmp_path / "runs"
    assert kept_file("lexicons/a.json", work_dir=cache) == cache / "lexicons/a.json"  # no records: the cache
    assert kept_file("lexicons/a.json", work_dir=cache, records_dir=records) == records / "lexicons/a.json"
    assert not (records / "lexicons").exists()  # nothing to copy yet

    (cache / "lexicons").mkdir(parents=True)
    (cache / "lexicons/a.json").write_text('{"moni": "hello"}')
    assert kept_file("lexicons/a.json", work_dir=cache, records_dir=records).read_text() == '{"moni": "hello"}'
    (cache / "lexicons/a.json").write_text('{"moni": "hi"}')  # induced again (eflomal takes no seed)
    assert kept_file("lexicons/a.json", work_dir=cache, records_dir=records).read_text() == '{"moni": "hello"}'
