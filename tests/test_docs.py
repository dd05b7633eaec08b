"""The generated documents: current with figures/ and benchmarks/results/, complete, and the README short."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "write_docs.py"
spec = importlib.util.spec_from_file_location("write_docs", SCRIPT)
write_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(write_docs)


def check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--check", "--root", str(root)], capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """What the documents are made from, copied (figures/ without its records and images)."""
    shutil.copytree(ROOT / "figures", tmp_path / "figures", ignore=shutil.ignore_patterns("runs", "*.png", "lexicons"))
    shutil.copytree(ROOT / "benchmarks" / "results", tmp_path / "benchmarks" / "results")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    return tmp_path


def test_the_committed_documents_are_current():
    result = check(ROOT)
    assert result.returncode == 0, result.stderr


def test_a_changed_table_makes_the_documents_stale_until_written_again(project: Path):
    table = project / "figures" / "rq3-alignment-recall_en-ny.md"
    table.write_text(table.read_text().replace("0.", "9.", 1))
    result = check(project)
    assert result.returncode != 0 and "docs/results.md" in result.stderr
    write_docs.main(["--root", str(project)])
    assert check(project).returncode == 0
    assert table.read_text().strip().splitlines()[-1] in (project / "docs" / "results.md").read_text()


def test_a_changed_result_row_changes_the_readme_summary(project: Path):
    results = project / "figures" / "results.csv"
    rows = results.read_text().splitlines()
    main_ot = next(
        i
        for i, row in enumerate(rows)
        if row.startswith("main,en-ny,bible,all-MiniLM-L6-v2,all-MiniLM-L6-v2,ot,") and ",test,dense,MAP," in row
    )
    rows[main_ot] = rows[main_ot].rsplit(",", 1)[0] + ",0.123456"
    results.write_text("\n".join(rows) + "\n")
    assert "README.md" in check(project).stderr
    write_docs.main(["--root", str(project)])
    assert "| en-ny | verse | 0.0052 | 0.0069 | 0.1235 |" in (project / "README.md").read_text()


def test_the_readme_lists_each_pairs_test_collections_from_their_statistics(project: Path):
    statistics = project / "figures" / "collections.csv"
    table = pd.read_csv(statistics)
    topical = (table.pair == "en-ny") & (table.collection == "topical-test")
    table.loc[topical, "queries"] = 123
    table.to_csv(statistics, index=False)
    assert "README.md" in check(project).stderr
    write_docs.main(["--root", str(project)])
    readme = (project / "README.md").read_text()
    assert "| en-ny | topical | 123 |" in readme
    rows = [line for line in readme.splitlines() if line.startswith("| en-") and line.count("|") == 7]
    assert len(rows) == len(write_docs.PAIRS) * len(write_docs.SUMMARY_COLLECTIONS)  # the collections table


def test_a_table_no_section_shows_is_an_error(project: Path):
    (project / "figures" / "new-study_en-ny.md").write_text("# a new study\n")
    with pytest.raises(ValueError, match="new-study_en-ny.md"):
        write_docs.documents(project)


def test_each_question_is_answered_once_from_its_notebook():
    research = (ROOT / "docs" / "research.md").read_text()
    for question, notebook, headings in write_docs.RESEARCH_ANSWERS:
        assert research.count(f"## {question}\n") == 1
        for cell in write_docs.answer_cells(ROOT / "figures" / "executed" / notebook, headings):
            assert research.count(write_docs.demoted(cell, 1)) == 1


def test_a_notebook_without_its_answer_cell_is_an_error(tmp_path: Path):
    notebook = tmp_path / "empty.ipynb"
    notebook.write_text('{"cells": [{"cell_type": "markdown", "source": ["# Title"]}]}')
    with pytest.raises(ValueError, match="no answer cell"):
        write_docs.answer_cells(notebook, ("## Answer",))


def test_the_readme_is_short_and_keeps_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "make main " in readme and "make test " in readme
    for document in ("results", "research", "performance", "guide", "lab-notes"):
        assert f"docs/{document}.md" in readme and (ROOT / "docs" / f"{document}.md").exists()
