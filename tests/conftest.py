import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may reach a hub, in tests least of all
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def teacher():
    """The packaged all-MiniLM-L6-v2, loaded once; tests must not train it."""
    from optical.encoders import TokenEncoder

    return TokenEncoder(max_length=48).eval().requires_grad_(False)


@pytest.fixture(scope="session")
def bitext():
    from optical.data import load_bible_bitext

    return load_bible_bitext("ny")


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory):
    """One work folder for the session's end-to-end runs, so the document embeddings are encoded once."""
    return tmp_path_factory.mktemp("work")


EXPECTED = Path(__file__).resolve().parent / "expected_scores"


def check_expected_scores(name: str, scores: dict[str, dict[str, float]], *, tolerance: float = 5e-4) -> None:
    """Compare {method: {measure: value}} with ``tests/expected_scores/<name>.json`` (pyserini-style
    reproduction file). ``OPTICAL_WRITE_EXPECTED=1`` writes the measured scores there instead."""
    path = EXPECTED / f"{name}.json"
    if os.environ.get("OPTICAL_WRITE_EXPECTED") == "1":
        EXPECTED.mkdir(exist_ok=True)
        path.write_text(json.dumps({"tolerance": tolerance, "scores": scores}, indent=2, sort_keys=True) + "\n")
        return
    expected = json.loads(path.read_text())
    for method, measures in expected["scores"].items():
        for measure, value in measures.items():
            got = scores[method][measure]
            assert abs(got - value) <= expected["tolerance"], (
                f"{name}: {method} {measure} = {got:.4f}, expected {value:.4f}"
            )
