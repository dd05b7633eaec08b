import os

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
