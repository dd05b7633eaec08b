"""A student exported as a folder that sentence-transformers loads, giving the project's own vectors."""

import copy

import pytest
import torch

from optical.encoders import TokenEncoder
from optical.export import export_student

pytestmark = pytest.mark.slow

SentenceTransformer = pytest.importorskip("sentence_transformers").SentenceTransformer

TEXTS = ["Pachiyambi Mulungu adalenga zakumwamba ndi dziko lapansi.", "Yesu analira.", "Ἐν ἀρχῇ ἦν ὁ λόγος."]


def _loaded(folder):
    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def test_an_exported_minilm_student_gives_the_same_vectors(teacher, bitext, tmp_path):
    from optical.train import TrainConfig, train

    student = copy.deepcopy(teacher).requires_grad_(True)
    train(student, teacher, bitext.pairs[:16], TrainConfig(epochs=1, batch_size=8, device="cpu"), progress=False)
    student.eval()
    loaded = _loaded(export_student(student, tmp_path / "student"))
    ours = student.embed(TEXTS)
    theirs = torch.from_numpy(loaded.encode(TEXTS))
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=0)
    assert not torch.allclose(ours, teacher.embed(TEXTS), atol=1e-3)  # it is the trained student, not the teacher


def test_an_exported_student_with_a_projection_and_prompts(tmp_path):
    student = TokenEncoder("multilingual-e5-small", output_dim=128).eval()  # 384 -> 128, e5's prefixes
    loaded = _loaded(export_student(student, tmp_path / "projected"))
    for role in ("query", "passage"):
        ours = student.embed(TEXTS, role=role)  # (3, 128)
        theirs = torch.from_numpy(loaded.encode(TEXTS, prompt_name=role))
        assert theirs.shape == (3, 128)
        torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=0)
